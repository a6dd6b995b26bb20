// Convolution, max pooling and batch norm on CIFAR-sized batches.
//
//   build/bin/bench_conv --benchmark_min_time=1
//
// "fwd" runs the op alone without recording a graph; "fwdbwd" runs it with a graph and then
// backward() with a gradient of ones (prepared once, outside the timing). The second conv is a
// first layer: its input images need no gradient, so backward computes dW and db only.
#include <benchmark/benchmark.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"

using namespace ember;

namespace {

void conv_fwd(benchmark::State& state, int64_t C, int64_t K) {
  Generator gen(0);
  Tensor x = Tensor::randn({64, C, 32, 32}, &gen);
  Tensor w = Tensor::randn({K, C, 3, 3}, &gen) * 0.1;
  Tensor b = Tensor::randn({K}, &gen);
  NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor y = conv2d(x, w, b, {.stride = 1, .padding = 1});
    benchmark::DoNotOptimize(y.raw_data());
  }
}

void conv_fwdbwd(benchmark::State& state, int64_t C, int64_t K, bool input_needs_grad) {
  Generator gen(0);
  Tensor x = Tensor::randn({64, C, 32, 32}, &gen);
  Tensor w = (Tensor::randn({K, C, 3, 3}, &gen) * 0.1).detach();
  Tensor b = Tensor::randn({K}, &gen);
  x.requires_grad_(input_needs_grad);
  w.requires_grad_();
  b.requires_grad_();
  Tensor ones = Tensor::ones({64, K, 32, 32});
  for (auto _ : state) {
    Tensor y = conv2d(x, w, b, {.stride = 1, .padding = 1});
    y.backward(ones);
    benchmark::DoNotOptimize(w.grad().raw_data());
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
  }
}

void BM_conv2d_fwd_N64_C64_32x32_K64_3x3(benchmark::State& s) { conv_fwd(s, 64, 64); }
void BM_conv2d_fwdbwd_N64_C64_32x32_K64_3x3(benchmark::State& s) { conv_fwdbwd(s, 64, 64, true); }
void BM_conv2d_fwd_N64_C3_32x32_K16_3x3(benchmark::State& s) { conv_fwd(s, 3, 16); }
void BM_conv2d_fwdbwd_N64_C3_32x32_K16_3x3(benchmark::State& s) { conv_fwdbwd(s, 3, 16, false); }

void BM_maxpool2d_fwdbwd_N64_C32_28x28(benchmark::State& state) {
  Generator gen(0);
  Tensor x = Tensor::randn({64, 32, 28, 28}, &gen);
  x.requires_grad_();
  Tensor ones = Tensor::ones({64, 32, 14, 14});
  for (auto _ : state) {
    Tensor y = max_pool2d(x, 2);
    y.backward(ones);
    benchmark::DoNotOptimize(x.grad().raw_data());
    x.zero_grad();
  }
}

void BM_batchnorm2d_fwdbwd_N64_C64_32x32(benchmark::State& state) {
  Generator gen(0);
  Tensor x = Tensor::randn({64, 64, 32, 32}, &gen);
  Tensor weight = Tensor::ones({64}), bias = Tensor::zeros({64});
  Tensor running_mean = Tensor::zeros({64}), running_var = Tensor::ones({64});
  x.requires_grad_();
  weight.requires_grad_();
  bias.requires_grad_();
  Tensor ones = Tensor::ones({64, 64, 32, 32});
  for (auto _ : state) {
    Tensor y = batch_norm(x, running_mean, running_var, weight, bias, /*training=*/true);
    y.backward(ones);
    benchmark::DoNotOptimize(x.grad().raw_data());
    x.zero_grad();
    weight.zero_grad();
    bias.zero_grad();
  }
}

}  // namespace

BENCHMARK(BM_conv2d_fwd_N64_C64_32x32_K64_3x3)->Name("conv2d_fwd_N64_C64_32x32_K64_3x3")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv2d_fwdbwd_N64_C64_32x32_K64_3x3)->Name("conv2d_fwdbwd_N64_C64_32x32_K64_3x3")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv2d_fwd_N64_C3_32x32_K16_3x3)->Name("conv2d_fwd_N64_C3_32x32_K16_3x3")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv2d_fwdbwd_N64_C3_32x32_K16_3x3)->Name("conv2d_fwdbwd_N64_C3_32x32_K16_3x3")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_maxpool2d_fwdbwd_N64_C32_28x28)->Name("maxpool2d_fwdbwd_N64_C32_28x28")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_batchnorm2d_fwdbwd_N64_C64_32x32)->Name("batchnorm2d_fwdbwd_N64_C64_32x32")->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
