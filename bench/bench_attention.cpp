// Attention and layer_norm at the sizes of the course's character-level transformer.
//
//   cpu config:    batch 12, context 64,  4 heads, n_embd 128 (head size 32)
//   course config: batch 64, context 256, 3 heads, n_embd 192 (head size 64)
// Attention is causal with dropout 0.2 in training, as in the model. layer_norm runs on the
// [batch * context, n_embd] activations. "_fwd" is a training forward (inputs require grad, so the
// op keeps what backward needs); "_fwdbwd" adds the backward pass.
//
//   build/bin/bench_attention --benchmark_filter=attention
// The same shapes in PyTorch are compared by bench/compare_pytorch.py.
#include <benchmark/benchmark.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"

using namespace ember;

namespace {

void attention(benchmark::State& state, int64_t B, int64_t H, int64_t T, int64_t D, bool backward) {
  Generator gen(0);
  Tensor q = Tensor::randn({B, H, T, D}, &gen).requires_grad_();
  Tensor k = Tensor::randn({B, H, T, D}, &gen).requires_grad_();
  Tensor v = Tensor::randn({B, H, T, D}, &gen).requires_grad_();
  Tensor grad_out = Tensor::randn({B, H, T, D}, &gen);
  for (auto _ : state) {
    Tensor out = scaled_dot_product_attention(q, k, v, /*causal=*/true, /*dropout_p=*/0.2, /*training=*/true, &gen);
    if (backward) {
      out.backward(grad_out);
      q.zero_grad();
      k.zero_grad();
      v.zero_grad();
    }
    benchmark::DoNotOptimize(out.raw_data());
  }
}

void layer_norm_bench(benchmark::State& state, int64_t rows, int64_t D, bool backward) {
  Generator gen(0);
  Tensor x = Tensor::randn({rows, D}, &gen).requires_grad_();
  Tensor w = Tensor::ones({D}).requires_grad_();
  Tensor b = Tensor::zeros({D}).requires_grad_();
  Tensor grad_out = Tensor::randn({rows, D}, &gen);
  for (auto _ : state) {
    Tensor y = layer_norm(x, w, b);
    if (backward) {
      y.backward(grad_out);
      x.zero_grad();
      w.zero_grad();
      b.zero_grad();
    }
    benchmark::DoNotOptimize(y.raw_data());
  }
}

void attention_fwd_B12_H4_T64_D32(benchmark::State& s) { attention(s, 12, 4, 64, 32, false); }
void attention_fwdbwd_B12_H4_T64_D32(benchmark::State& s) { attention(s, 12, 4, 64, 32, true); }
void attention_fwd_B64_H3_T256_D64(benchmark::State& s) { attention(s, 64, 3, 256, 64, false); }
void attention_fwdbwd_B64_H3_T256_D64(benchmark::State& s) { attention(s, 64, 3, 256, 64, true); }
void layer_norm_fwd_768x128(benchmark::State& s) { layer_norm_bench(s, 12 * 64, 128, false); }
void layer_norm_fwdbwd_768x128(benchmark::State& s) { layer_norm_bench(s, 12 * 64, 128, true); }
void layer_norm_fwd_16384x192(benchmark::State& s) { layer_norm_bench(s, 64 * 256, 192, false); }
void layer_norm_fwdbwd_16384x192(benchmark::State& s) { layer_norm_bench(s, 64 * 256, 192, true); }

}  // namespace

BENCHMARK(attention_fwd_B12_H4_T64_D32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(attention_fwdbwd_B12_H4_T64_D32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(attention_fwd_B64_H3_T256_D64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(attention_fwdbwd_B64_H3_T256_D64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(layer_norm_fwd_768x128)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(layer_norm_fwdbwd_768x128)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(layer_norm_fwd_16384x192)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(layer_norm_fwdbwd_16384x192)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
