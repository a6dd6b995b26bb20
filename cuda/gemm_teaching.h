#pragma once
// Three GEMM kernels to read in order (cuda/gemm_teaching.cu), each a step towards what cuBLAS does:
// naive -> shared-memory tiles -> register blocking. bench/bench_cuda_gemm.cu times each against
// cuBLAS; tests/test_cuda_matmul.cpp checks each against the CPU. The engine's matmul uses cuBLAS.
#include <cstdint>

namespace ember::cuda {

enum class TeachingGemm { Naive, Tiled, RegisterBlocked };

const char* teaching_gemm_name(TeachingGemm kind);  // "naive", "tiled", "register_blocked"

// C [M, N] = A [M, K] @ B [K, N]: float32, row-major, all three GPU pointers. Any sizes.
void teaching_gemm(TeachingGemm kind, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);

}  // namespace ember::cuda
