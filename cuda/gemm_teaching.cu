// Matrix multiply on a GPU, in three steps: C [M, N] = A [M, K] @ B [K, N], float32, row-major.
// Each kernel computes exactly the same sums; what changes is where the operands are read from.
// bench/bench_cuda_gemm.cu reports each as a percentage of cuBLAS at 4096^3.
//
// A GEMM does 2 M N K flops on M K + K N + M N numbers, so it can be limited by arithmetic rather
// than memory - but only if each number fetched from global memory (DRAM) is used many times.
//
// 1. naive: one thread per C[row, col], a loop over k reading A's row and B's column from global
//    memory. Every A and B element is fetched N or M times (the L1/L2 caches catch some).
//    threadIdx.x runs along col, so a warp reads 32 neighbouring B elements at once (coalesced)
//    and all 32 threads want the same A element (a broadcast).
//
// 2. tiled: a block of 32 x 32 threads computes a 32 x 32 tile of C. It walks k in steps of 32:
//    the block copies a 32 x 32 tile of A and one of B into shared memory (on-chip, ~100x faster
//    than DRAM), waits (__syncthreads), and each thread does 32 multiply-adds from shared memory.
//    Every global element is now fetched N/32 or M/32 times: 32x less traffic.
//
// 3. register_blocked: a block of 256 threads computes a 128 x 128 tile of C, each thread an 8 x 8
//    piece of it, kept in 64 registers. Per step of 8 along k the block stages A [128 x 8] and
//    B [8 x 128] in shared memory; each thread then loads 8 values of A and 8 of B into registers
//    and does 64 multiply-adds with them: 4 shared-memory reads per multiply-add in the tiled
//    kernel become 1/4. This is the central idea of every fast GEMM (cuBLAS, CUTLASS); they add
//    vector loads, double buffering, warp-level tiling and tensor cores on top.
#include "cuda/common.cuh"
#include "cuda/gemm_teaching.h"

namespace ember::cuda {

namespace {

// ---- 1. naive -------------------------------------------------------------------------------------
constexpr int kNaiveBlock = 16;

__global__ void gemm_naive(int M, int N, int K, const float* A, const float* B, float* C) {
  const int row = blockIdx.y * kNaiveBlock + threadIdx.y;
  const int col = blockIdx.x * kNaiveBlock + threadIdx.x;
  if (row >= M || col >= N) return;
  float acc = 0;
  for (int k = 0; k < K; ++k) acc += A[int64_t(row) * K + k] * B[int64_t(k) * N + col];
  C[int64_t(row) * N + col] = acc;
}

// ---- 2. shared-memory tiles -------------------------------------------------------------------------
constexpr int kTile = 32;

__global__ void gemm_tiled(int M, int N, int K, const float* A, const float* B, float* C) {
  __shared__ float a_tile[kTile][kTile];  // A[block's rows, k0 .. k0+31]
  __shared__ float b_tile[kTile][kTile];  // B[k0 .. k0+31, block's columns]
  const int ty = threadIdx.y, tx = threadIdx.x;
  const int row = blockIdx.y * kTile + ty, col = blockIdx.x * kTile + tx;
  float acc = 0;
  for (int k0 = 0; k0 < K; k0 += kTile) {
    // each thread copies one element of each tile (0 outside the matrices)
    a_tile[ty][tx] = row < M && k0 + tx < K ? A[int64_t(row) * K + k0 + tx] : 0.0f;
    b_tile[ty][tx] = k0 + ty < K && col < N ? B[int64_t(k0 + ty) * N + col] : 0.0f;
    __syncthreads();  // the tiles are complete
    for (int k = 0; k < kTile; ++k) acc += a_tile[ty][k] * b_tile[k][tx];
    __syncthreads();  // everyone is done with the tiles before they are overwritten
  }
  if (row < M && col < N) C[int64_t(row) * N + col] = acc;
}

// ---- 3. register blocking -------------------------------------------------------------------------
constexpr int kBM = 128, kBN = 128, kBK = 8;  // the block's tile of C, and its step along k
constexpr int kTM = 8, kTN = 8;               // each thread's piece of that tile
constexpr int kBlockThreads = (kBM / kTM) * (kBN / kTN);  // 16 x 16 = 256

__global__ void __launch_bounds__(kBlockThreads) gemm_register_blocked(int M, int N, int K, const float* A,
                                                                       const float* B, float* C) {
  // A's tile is stored transposed ([k][m]) so that a thread reads its 8 A values along one row of it
  __shared__ float a_tile[kBK][kBM];
  __shared__ float b_tile[kBK][kBN];
  const int tid = threadIdx.x;
  const int thread_row = tid / (kBN / kTN), thread_col = tid % (kBN / kTN);  // 16 x 16 threads
  const int block_row = blockIdx.y * kBM, block_col = blockIdx.x * kBN;

  float acc[kTM][kTN] = {};
  float a_reg[kTM], b_reg[kTN];
  for (int k0 = 0; k0 < K; k0 += kBK) {
    // stage A [128 x 8] and B [8 x 128]: 1024 numbers each, 4 per thread
    for (int e = tid; e < kBM * kBK; e += kBlockThreads) {
      const int m = e / kBK, k = e % kBK;
      const int gm = block_row + m, gk = k0 + k;
      a_tile[k][m] = gm < M && gk < K ? A[int64_t(gm) * K + gk] : 0.0f;
    }
    for (int e = tid; e < kBK * kBN; e += kBlockThreads) {
      const int k = e / kBN, n = e % kBN;
      const int gk = k0 + k, gn = block_col + n;
      b_tile[k][n] = gk < K && gn < N ? B[int64_t(gk) * N + gn] : 0.0f;
    }
    __syncthreads();
    for (int k = 0; k < kBK; ++k) {
      for (int i = 0; i < kTM; ++i) a_reg[i] = a_tile[k][thread_row * kTM + i];
      for (int j = 0; j < kTN; ++j) b_reg[j] = b_tile[k][thread_col * kTN + j];
      for (int i = 0; i < kTM; ++i)  // an outer product: 64 multiply-adds from 16 registers
        for (int j = 0; j < kTN; ++j) acc[i][j] += a_reg[i] * b_reg[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < kTM; ++i) {
    const int gm = block_row + thread_row * kTM + i;
    if (gm >= M) break;
    for (int j = 0; j < kTN; ++j) {
      const int gn = block_col + thread_col * kTN + j;
      if (gn < N) C[int64_t(gm) * N + gn] = acc[i][j];
    }
  }
}

unsigned tiles(int64_t n, int tile) { return static_cast<unsigned>((n + tile - 1) / tile); }

}  // namespace

const char* teaching_gemm_name(TeachingGemm kind) {
  switch (kind) {
    case TeachingGemm::Naive: return "naive";
    case TeachingGemm::Tiled: return "tiled";
    case TeachingGemm::RegisterBlocked: return "register_blocked";
  }
  return "?";
}

void teaching_gemm(TeachingGemm kind, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
  check(M >= 0 && N >= 0 && K >= 0 && M < (int64_t(1) << 31) && N < (int64_t(1) << 31) && K < (int64_t(1) << 31),
        "teaching_gemm: sizes ", M, " x ", N, " x ", K, " must fit in int");
  if (M == 0 || N == 0) return;
  const int m = static_cast<int>(M), n = static_cast<int>(N), k = static_cast<int>(K);
  switch (kind) {
    case TeachingGemm::Naive:
      gemm_naive<<<dim3(tiles(N, kNaiveBlock), tiles(M, kNaiveBlock)), dim3(kNaiveBlock, kNaiveBlock)>>>(m, n, k, A, B, C);
      break;
    case TeachingGemm::Tiled:
      gemm_tiled<<<dim3(tiles(N, kTile), tiles(M, kTile)), dim3(kTile, kTile)>>>(m, n, k, A, B, C);
      break;
    case TeachingGemm::RegisterBlocked:
      gemm_register_blocked<<<dim3(tiles(N, kBN), tiles(M, kBM)), kBlockThreads>>>(m, n, k, A, B, C);
      break;
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
