// ResNet-20 (He et al. 2016, CIFAR layout, option-A shortcuts; layers/resnet.h) training step and
// its convolutions, at batch 128 on 3x32x32 images.
//
//   build/bin/bench_resnet --benchmark_min_time=2
//   /usr/bin/python3 bench/torch_resnet.py          # the same step and shapes in PyTorch, same machine
//
// resnet20_train_step_b128: forward, cross-entropy, backward and an SGD step (lr 0.1, momentum 0.9,
// weight decay 1e-4, as in the paper) on a fixed batch of random images; "images/s" counts images
// per second of wall time. Two warm-up steps run before the timing (the first step's allocations
// and page faults are not what a training run sees), with the op trace switched off, so that
//   EMBER_TRACE=2 build/bin/bench_resnet --benchmark_filter='train_step_b128/threads:2'
//       --benchmark_min_time=0.01 2>trace.txt      (one command)
// traces exactly the timed steps: one line per op and per backward function, with its time.
//
// resnet_conv_fwdbwd_*: one conv2d of the network (no bias, 3x3, padding 1) forward and backward
// with a gradient prepared once; the input needs a gradient (as inside the network) except for the
// stem, whose input is the images:
//   N128_C3_32x32_K16_s1      conv1 (the stem)
//   N128_C16_32x32_K16_s1     layer1, 6 of them
//   N128_C16_32x32_K32_s2     layer2's first conv (32x32 -> 16x16)
//   N128_C32_16x16_K32_s1     layer2, 5 of them
//   N128_C32_16x16_K64_s2     layer3's first conv (16x16 -> 8x8)
//   N128_C64_8x8_K64_s1       layer3, 5 of them
// Every benchmark runs with 1 and 2 threads ("threads:N" in the name).
#include <benchmark/benchmark.h>

#include <memory>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/trace.h"
#include "layers/layers.h"
#include "optim/optim.h"

using namespace ember;

namespace {

constexpr int64_t kBatch = 128;

void resnet20_train_step_b128(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  std::shared_ptr<ResNet> model = make_model("resnet20", 10, 3, Shortcut::A, &gen);
  model->train();
  SGD optimizer(model->parameters(), {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
  // pixels normalised as the cifar lesson does: roughly mean 0, std 1 per channel
  Tensor images = Tensor::randn({kBatch, 3, 32, 32}, &gen);
  Tensor labels = Tensor::randint(0, 10, {kBatch}, &gen);
  auto step = [&] {
    optimizer.zero_grad();
    Tensor loss = cross_entropy((*model)(images), labels);
    loss.backward();
    optimizer.step();
    return loss;
  };
  {
    TraceGuard untraced(0);
    for (int i = 0; i < 2; ++i) step();
  }
  for (auto _ : state) {
    Tensor loss = step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
  set_num_threads(0);
}

void conv_fwdbwd(benchmark::State& state, int64_t C, int64_t size, int64_t K, int64_t stride) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  const bool input_needs_grad = C != 3;  // the stem's input is the images
  Tensor x = Tensor::randn({kBatch, C, size, size}, &gen).requires_grad_(input_needs_grad);
  Tensor w = (Tensor::randn({K, C, 3, 3}, &gen) * 0.1).detach().requires_grad_();
  const int64_t out = (size - 1) / stride + 1;
  Tensor grad_y = Tensor::randn({kBatch, K, out, out}, &gen);
  auto once = [&] {
    Tensor y = conv2d(x, w, Tensor(), {.stride = stride, .padding = 1});
    y.backward(grad_y);
    benchmark::DoNotOptimize(w.grad().raw_data());
    x.zero_grad();
    w.zero_grad();
  };
  once();  // warm-up: the per-thread workspaces
  for (auto _ : state) once();
  set_num_threads(0);
}

void resnet_conv_fwdbwd_N128_C3_32x32_K16_s1(benchmark::State& s) { conv_fwdbwd(s, 3, 32, 16, 1); }
void resnet_conv_fwdbwd_N128_C16_32x32_K16_s1(benchmark::State& s) { conv_fwdbwd(s, 16, 32, 16, 1); }
void resnet_conv_fwdbwd_N128_C16_32x32_K32_s2(benchmark::State& s) { conv_fwdbwd(s, 16, 32, 32, 2); }
void resnet_conv_fwdbwd_N128_C32_16x16_K32_s1(benchmark::State& s) { conv_fwdbwd(s, 32, 16, 32, 1); }
void resnet_conv_fwdbwd_N128_C32_16x16_K64_s2(benchmark::State& s) { conv_fwdbwd(s, 32, 16, 64, 2); }
void resnet_conv_fwdbwd_N128_C64_8x8_K64_s1(benchmark::State& s) { conv_fwdbwd(s, 64, 8, 64, 1); }

}  // namespace

#define EMBER_RESNET_BENCH(fn) \
  BENCHMARK(fn)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)

EMBER_RESNET_BENCH(resnet20_train_step_b128);
EMBER_RESNET_BENCH(resnet_conv_fwdbwd_N128_C3_32x32_K16_s1);
EMBER_RESNET_BENCH(resnet_conv_fwdbwd_N128_C16_32x32_K16_s1);
EMBER_RESNET_BENCH(resnet_conv_fwdbwd_N128_C16_32x32_K32_s2);
EMBER_RESNET_BENCH(resnet_conv_fwdbwd_N128_C32_16x16_K32_s1);
EMBER_RESNET_BENCH(resnet_conv_fwdbwd_N128_C32_16x16_K64_s2);
EMBER_RESNET_BENCH(resnet_conv_fwdbwd_N128_C64_8x8_K64_s1);

BENCHMARK_MAIN();
