// Softmax, cross-entropy and relu on the CPU: the element-wise hot loops of the training lessons.
//
//   softmax_fwd_4096x1000            y = softmax(x, -1), x [4096, 1000] float32
//   softmax_fwdbwd_4096x1000         the same, then its backward with a given gradient
//   cross_entropy_fwdbwd_4096x1000   mean loss of logits [4096, 1000] against 4096 labels, then dlogits
//   relu_fwd_16M                     y = relu(x), 16M float32 elements
//
// Bytes/s counts the tensors each op must read and write once (4 bytes per float32 element):
//   softmax forward: x in, y out                               2 x 16 MB
//   softmax backward: y and g in, dx out                       3 x 16 MB
//   cross_entropy: logits in (forward); logits in, dx out (backward)   3 x 16 MB
//   relu: x in, y out                                          2 x 64 MB
// Backward functions are called straight from the graph node (grad_fn()->backward), so the time
// is the op's own, without the gradient accumulation that Tensor::backward() adds on top.
//
// Each runs on 1 and on 2 threads (the argument "threads:N").
// Run: <build>/bin/bench_softmax
#include <benchmark/benchmark.h>

#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace {

constexpr int64_t rows = 4096, classes = 1000;

void softmax_fwd_4096x1000(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor x = Tensor::randn({rows, classes}, &gen);
  for (auto _ : state) {
    Tensor y = softmax(x, -1);
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * x.nbytes());
}

void softmax_fwdbwd_4096x1000(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor x = Tensor::randn({rows, classes}, &gen);
  x.requires_grad_();
  Tensor g = Tensor::randn({rows, classes}, &gen);
  for (auto _ : state) {
    Tensor y = softmax(x, -1);
    std::vector<Tensor> dx = y.grad_fn()->backward(g);
    benchmark::DoNotOptimize(dx[0].raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 5 * x.nbytes());
}

void cross_entropy_fwdbwd_4096x1000(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor logits = Tensor::randn({rows, classes}, &gen);
  logits.requires_grad_();
  Tensor target = Tensor::randint(0, classes, {rows}, &gen);
  Tensor one = Tensor::scalar(1.0);
  for (auto _ : state) {
    Tensor loss = cross_entropy(logits, target);
    std::vector<Tensor> dlogits = loss.grad_fn()->backward(one);
    benchmark::DoNotOptimize(dlogits[0].raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 3 * logits.nbytes());
}

void relu_fwd_16M(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor x = Tensor::randn({16 << 20}, &gen);
  for (auto _ : state) {
    Tensor y = relu(x);
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * x.nbytes());
}

}  // namespace

BENCHMARK(softmax_fwd_4096x1000)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(softmax_fwdbwd_4096x1000)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(cross_entropy_fwdbwd_4096x1000)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(relu_fwd_16M)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
