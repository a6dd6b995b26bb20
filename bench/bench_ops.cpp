// The core ops against the machine's limits: how close does the engine's matmul get to calling
// OpenBLAS directly, and how close do element-wise ops and sums get to memory bandwidth?
//
//   matmul_engine_<shape> / sgemm_raw_<shape>
//       the engine's matmul (or linear) against one cblas_sgemm call on the same buffers, into an
//       output allocated once. The difference is the engine's own cost: checks, allocating the
//       output, and for linear the bias. Shapes (M x K x N, float32):
//         1024          1024 x 1024 x 1024, the classic
//         768x128x384   a transformer's fused q,k,v projection, batch 12 x context 64, n_embd 128
//         16384x192x576 the same for the course's GPT: batch 64 x context 256, n_embd 192
//   linear_engine_{fwd,fwdbwd}_64x3136x128 / sgemm_raw_{fwd,fwdbwd}_64x3136x128
//       the MNIST CNN's first fully connected layer, x [64, 3136] -> [64, 128] with weight
//       [128, 3136] and bias. fwdbwd adds backward() with a gradient of ones; raw does the same
//       three GEMMs by hand (Y = X W^T, dX = G W, dW = G^T X) and the bias gradient (column sums of G).
//   add_16M, mul_16M   a + b and a * b on 16M float32 each: 3 x 64 MB moved (two read, one written)
//   sum_16M            sum of 16M float32 (64 MB read), deterministic block sums in double
//
// Each runs on 1 and on 2 threads (the argument "threads:N"); FLOPS and bytes_per_second are
// computed from wall-clock time.
//
//   build/bin/bench_ops                                  everything
//   build/bin/bench_ops --benchmark_filter=1024          the 1024^3 pair only
// bench/compare_pytorch.py runs these and the same computations in PyTorch.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace {

// 2 M N K floating-point operations per GEMM, reported as a rate ("FLOPS") per second of wall time.
void count_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOPS"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- matmul ------------------------------------------------------------------------------------

void matmul_engine(benchmark::State& state, int64_t M, int64_t K, int64_t N) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor a = Tensor::randn({M, K}, &gen), b = Tensor::randn({K, N}, &gen);
  for (auto _ : state) {
    Tensor c = matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  count_flops(state, 2.0 * M * N * K);
}

void sgemm_raw(benchmark::State& state, int64_t M, int64_t K, int64_t N) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor a = Tensor::randn({M, K}, &gen), b = Tensor::randn({K, N}, &gen);
  Tensor c = Tensor::empty({M, N});
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pc = c.data<float>();
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, pa, K, pb, N, 0.0f, pc, N);
    benchmark::DoNotOptimize(pc);
    benchmark::ClobberMemory();
  }
  count_flops(state, 2.0 * M * N * K);
}

void matmul_engine_1024(benchmark::State& s) { matmul_engine(s, 1024, 1024, 1024); }
void sgemm_raw_1024(benchmark::State& s) { sgemm_raw(s, 1024, 1024, 1024); }
void matmul_engine_768x128x384(benchmark::State& s) { matmul_engine(s, 768, 128, 384); }
void sgemm_raw_768x128x384(benchmark::State& s) { sgemm_raw(s, 768, 128, 384); }
void matmul_engine_16384x192x576(benchmark::State& s) { matmul_engine(s, 16384, 192, 576); }
void sgemm_raw_16384x192x576(benchmark::State& s) { sgemm_raw(s, 16384, 192, 576); }

// ---- linear: the MNIST CNN's fully connected layer -----------------------------------------------

constexpr int64_t kRows = 64, kIn = 3136, kOut = 128;

void linear_engine_fwd_64x3136x128(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor x = Tensor::randn({kRows, kIn}, &gen), w = Tensor::randn({kOut, kIn}, &gen), b = Tensor::randn({kOut}, &gen);
  for (auto _ : state) {
    Tensor y = linear(x, w, b);
    benchmark::DoNotOptimize(y.raw_data());
  }
  count_flops(state, 2.0 * kRows * kIn * kOut);
}

void sgemm_raw_fwd_64x3136x128(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor x = Tensor::randn({kRows, kIn}, &gen), w = Tensor::randn({kOut, kIn}, &gen);
  Tensor y = Tensor::empty({kRows, kOut});
  for (auto _ : state) {
    // Y [64, 128] = X [64, 3136] W^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kRows, kOut, kIn, 1.0f, x.data<float>(), kIn,
                w.data<float>(), kIn, 0.0f, y.data<float>(), kOut);
    benchmark::ClobberMemory();
  }
  count_flops(state, 2.0 * kRows * kIn * kOut);
}

void linear_engine_fwdbwd_64x3136x128(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor x = Tensor::randn({kRows, kIn}, &gen).requires_grad_();
  Tensor w = Tensor::randn({kOut, kIn}, &gen).requires_grad_();
  Tensor b = Tensor::randn({kOut}, &gen).requires_grad_();
  Tensor ones = Tensor::ones({kRows, kOut});
  for (auto _ : state) {
    Tensor y = linear(x, w, b);
    y.backward(ones);
    benchmark::DoNotOptimize(w.grad().raw_data());
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
  }
  count_flops(state, 3 * 2.0 * kRows * kIn * kOut);
}

void sgemm_raw_fwdbwd_64x3136x128(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor x = Tensor::randn({kRows, kIn}, &gen), w = Tensor::randn({kOut, kIn}, &gen);
  Tensor y = Tensor::empty({kRows, kOut}), g = Tensor::ones({kRows, kOut});
  Tensor dx = Tensor::empty({kRows, kIn}), dw = Tensor::empty({kOut, kIn}), db = Tensor::empty({kOut});
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  const float* pg = g.data<float>();
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kRows, kOut, kIn, 1.0f, px, kIn, pw, kIn, 0.0f,
                y.data<float>(), kOut);  // Y = X W^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kRows, kIn, kOut, 1.0f, pg, kOut, pw, kIn, 0.0f,
                dx.data<float>(), kIn);  // dX [64, 3136] = G W
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kOut, kIn, kRows, 1.0f, pg, kOut, px, kIn, 0.0f,
                dw.data<float>(), kIn);  // dW [128, 3136] = G^T X
    float* pdb = db.data<float>();
    for (int64_t j = 0; j < kOut; ++j) pdb[j] = 0;
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t j = 0; j < kOut; ++j) pdb[j] += pg[r * kOut + j];
    benchmark::ClobberMemory();
  }
  count_flops(state, 3 * 2.0 * kRows * kIn * kOut);
}

// ---- element-wise and sum ----------------------------------------------------------------------

constexpr int64_t k16M = 16 << 20;

void add_16M(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor a = Tensor::randn({k16M}, &gen), b = Tensor::randn({k16M}, &gen);
  for (auto _ : state) {
    Tensor c = a + b;
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 3 * a.nbytes());
}

void mul_16M(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor a = Tensor::randn({k16M}, &gen), b = Tensor::randn({k16M}, &gen);
  for (auto _ : state) {
    Tensor c = a * b;
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 3 * a.nbytes());
}

void sum_16M(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  Tensor a = Tensor::randn({k16M}, &gen);
  for (auto _ : state) {
    Tensor s = sum(a);
    benchmark::DoNotOptimize(s.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * a.nbytes());
}

}  // namespace

#define EMBER_OPS_BENCHMARK(name, unit) \
  BENCHMARK(name)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::unit)->UseRealTime()

EMBER_OPS_BENCHMARK(matmul_engine_1024, kMillisecond);
EMBER_OPS_BENCHMARK(sgemm_raw_1024, kMillisecond);
EMBER_OPS_BENCHMARK(matmul_engine_768x128x384, kMillisecond);
EMBER_OPS_BENCHMARK(sgemm_raw_768x128x384, kMillisecond);
EMBER_OPS_BENCHMARK(matmul_engine_16384x192x576, kMillisecond);
EMBER_OPS_BENCHMARK(sgemm_raw_16384x192x576, kMillisecond);
EMBER_OPS_BENCHMARK(linear_engine_fwd_64x3136x128, kMillisecond);
EMBER_OPS_BENCHMARK(sgemm_raw_fwd_64x3136x128, kMillisecond);
EMBER_OPS_BENCHMARK(linear_engine_fwdbwd_64x3136x128, kMillisecond);
EMBER_OPS_BENCHMARK(sgemm_raw_fwdbwd_64x3136x128, kMillisecond);
EMBER_OPS_BENCHMARK(add_16M, kMillisecond);
EMBER_OPS_BENCHMARK(mul_16M, kMillisecond);
EMBER_OPS_BENCHMARK(sum_16M, kMillisecond);

BENCHMARK_MAIN();
