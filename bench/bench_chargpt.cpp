// One training step of the chargpt lesson's model: forward, loss, backward, gradient clipping,
// AdamW - exactly what lessons/chargpt/train.cpp (train_iteration) does per iteration (one micro-batch).
//
//   chargpt_train_step_cpu:     configs/cpu.conf       batch 12, context 64,  4 layers, 4 heads, n_embd 128
//   chargpt_train_step_course:  configs/train_hca.conf batch 64, context 256, 3 layers, 3 heads, n_embd 192,
//                               dropout 0.2
// The vocabulary has 113 characters (the fortunes corpus); the batches are random token ids, which
// cost the same as text. tokens/s = batch * context / time per step.
//
//   build/bin/bench_chargpt --benchmark_filter=cpu
// PyTorch's figure for the same step: bench/torch_chargpt.py (see lessons/chargpt/README.md).
#include <benchmark/benchmark.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/gpt.h"
#include "optim/adam.h"
#include "optim/clip_grad.h"

using namespace ember;

namespace {

void train_step(benchmark::State& state, GPTConfig cfg, int64_t batch_size) {
  cfg.vocab_size = 113;
  Generator gen(1337);
  GPT model(cfg, &gen);
  AdamW opt(param_groups_no_decay_for_1d(model.named_parameters(), 0.1),
            AdamWOptions{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.99, .weight_decay = 0.1});
  const std::vector<Tensor> params = model.parameters();
  const int64_t T = cfg.block_size;
  // a few batches, used in turn (drawing them is not what is measured)
  std::vector<Tensor> xs, ys;
  for (int i = 0; i < 4; ++i) {
    xs.push_back(Tensor::randint(0, cfg.vocab_size, {batch_size, T}, &gen));
    ys.push_back(Tensor::randint(0, cfg.vocab_size, {batch_size, T}, &gen));
  }
  model.train();
  size_t i = 0;
  for (auto _ : state) {
    Tensor loss = model.loss(xs[i % xs.size()], ys[i % ys.size()]);
    loss.backward();
    clip_grad_norm(params, 1.0);
    opt.step();
    opt.zero_grad();
    benchmark::DoNotOptimize(loss.item());
    ++i;
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch_size * T), benchmark::Counter::kIsRate);
}

void chargpt_train_step_cpu(benchmark::State& state) {
  GPTConfig cfg;
  cfg.block_size = 64;
  cfg.n_layer = 4;
  cfg.n_head = 4;
  cfg.n_embd = 128;
  cfg.dropout = 0.0;
  train_step(state, cfg, /*batch_size=*/12);
}

void chargpt_train_step_course(benchmark::State& state) {
  GPTConfig cfg;  // the defaults are the course's: block 256, 3 layers, 3 heads, 192, dropout 0.2
  train_step(state, cfg, /*batch_size=*/64);
}

}  // namespace

// Wall-clock time: the work runs on several threads, and the CPU time of the main thread alone
// would flatter it.
BENCHMARK(chargpt_train_step_cpu)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(chargpt_train_step_course)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

BENCHMARK_MAIN();
