// The three teaching GEMMs of cuda/gemm_teaching.cu against cuBLAS, float32, C = A @ B with
// M = N = K (4096 unless --size=N): time per GEMM, TFLOP/s, and each as a percentage of cuBLAS
// (TF32 off, so cuBLAS runs the same float32 arithmetic). Also checks each result against cuBLAS's.
//
//   build/bin/bench_cuda_gemm [--size=4096] [--repeats=5]
//
// Timed with CUDA events around `repeats` launches after one warm-up launch. Not a Google Benchmark
// program: scripts/gpu_check.sh reads its last lines ("register_blocked ... 61.2% of cuBLAS").
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/cuda_backend.h"
#include "core/tensor.h"
#include "cuda/common.cuh"
#include "cuda/gemm_teaching.h"
#include "cuda/kernels.h"

using namespace ember;

namespace {

// milliseconds per call of f, averaged over `repeats` calls after one warm-up call
double time_ms(const std::function<void()>& f, int repeats) {
  f();
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaEventRecord(start));
  for (int i = 0; i < repeats; ++i) f();
  CUDA_CHECK(cudaEventRecord(stop));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  return ms / repeats;
}

// the largest |a - b| / (1 + |b|)
double worst_error(const Tensor& a, const Tensor& b) {
  std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) worst = std::fmax(worst, std::fabs(va[i] - vb[i]) / (1.0 + std::fabs(vb[i])));
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t size = 4096;
  int repeats = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--size=", 7) == 0) size = std::atoll(argv[i] + 7);
    else if (std::strncmp(argv[i], "--repeats=", 10) == 0) repeats = std::atoi(argv[i] + 10);
    else {
      std::fprintf(stderr, "usage: bench_cuda_gemm [--size=4096] [--repeats=5]\n");
      return 2;
    }
  }
  if (!cuda_is_available()) {
    std::printf("bench_cuda_gemm: skipped: %s\n", cuda_unavailable_reason().c_str());
    return 0;
  }
  try {
    const int64_t M = size, N = size, K = size;
    Tensor a = Tensor::randn({M, K}).cuda(), b = Tensor::randn({K, N}).cuda();
    Tensor reference = Tensor::empty({M, N}, DType::Float32, Device::CUDA);
    Tensor c = Tensor::empty({M, N}, DType::Float32, Device::CUDA);
    const double flops = 2.0 * M * N * K;
    std::printf("GPU: %s\nGEMM %lld x %lld x %lld, float32, TF32 off, %d repeats\n", cuda_device_name().c_str(),
                static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K), repeats);
    const double cublas_ms = time_ms(
        [&] {
          cuda::gemm(DType::Float32, false, false, M, N, K, 1.0, a.device_data<float>(), K, b.device_data<float>(), N,
                     0.0, reference.device_data<float>(), N);
        },
        repeats);
    std::printf("%-18s %9.3f ms  %7.2f TFLOP/s  100.0%% of cuBLAS\n", "cublas", cublas_ms, flops / cublas_ms / 1e9);
    for (auto kind : {cuda::TeachingGemm::Naive, cuda::TeachingGemm::Tiled, cuda::TeachingGemm::RegisterBlocked}) {
      // the naive kernel is slow: fewer repeats keep the whole run short
      const int r = kind == cuda::TeachingGemm::Naive ? 1 : repeats;
      const double ms = time_ms(
          [&] {
            cuda::teaching_gemm(kind, M, N, K, a.device_data<float>(), b.device_data<float>(), c.device_data<float>());
          },
          r);
      std::printf("%-18s %9.3f ms  %7.2f TFLOP/s  %5.1f%% of cuBLAS  (max error vs cuBLAS %.1e)\n",
                  cuda::teaching_gemm_name(kind), ms, flops / ms / 1e9, 100.0 * cublas_ms / ms, worst_error(c, reference));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_gemm: %s\n", e.what());
    return 1;
  }
  return 0;
}
