// Causal self-attention on the GPU: the two kernels that core/ops/attention.cpp's CUDA path adds to
// cuBLAS GEMMs (cuda/matmul.cu) and the softmax backward (cuda/softmax.cu).
//
//   q, k, v [heads, T, D] per head:  S = Q K^T (cuBLAS),  P = softmax(scale S) row by row, with
//   S_ij = -inf for j > i when causal (scale = 1 / sqrt(D)),  P_drop = P * mask / (1 - p),
//   O = P_drop V (cuBLAS)
//
// attention_softmax: the scale, the causal mask and the softmax fused in one pass, one warp per row
// of S (as cuda/softmax.cu): row r is query i = r % T of head r / T; it reads the keys j <= i
// (causal) or all T, writes P_ij = exp(scale S_ij - m) / sum, and 0 for the masked keys (which is
// what exp(-inf) gives, without reading them).
// attention_dropout: the CPU draws one seed per head and drops element (i, j) of head h when
// DropoutMask(seed_h, p).keep(i T + j) says so (core/ops/dropout_mask.h); one thread per element
// does the same here, with the same seeds: the same mask on both devices.
#include <cmath>
#include <vector>

#include "core/ops/dropout_mask.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

constexpr int kRowsPerBlock = kThreads / kWarp;  // 8 warps, 8 rows

template <typename T>
__global__ void attention_softmax_kernel(const T* s, T* p, int64_t rows, int64_t n, T scale, bool causal) {
  const int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (r >= rows) return;  // the whole warp leaves together
  const T* sr = s + r * n;
  T* pr = p + r * n;
  const int64_t valid = causal ? r % n + 1 : n;  // keys 0 .. i when causal
  T m = -INFINITY;
  for (int64_t j = lane; j < valid; j += kWarp) m = max(m, scale * sr[j]);
  m = warp_max(m);
  double sum = 0;
  for (int64_t j = lane; j < valid; j += kWarp) sum += exp(scale * sr[j] - m);
  const T inv = static_cast<T>(1.0 / warp_sum(sum));
  for (int64_t j = lane; j < n; j += kWarp) pr[j] = j < valid ? exp(scale * sr[j] - m) * inv : T(0);
}

template <typename T>
__global__ void attention_dropout_kernel(const T* in, T* out, int64_t heads, int64_t per_head, const uint64_t* seeds,
                                         DropoutMask mask, T scale) {
  GRID_STRIDE_LOOP(e, heads * per_head) {
    DropoutMask head_mask = mask;  // the threshold of p, with this head's seed
    head_mask.seed = seeds[e / per_head];
    out[e] = head_mask.keep(static_cast<uint64_t>(e % per_head)) ? in[e] * scale : T(0);
  }
}

}  // namespace

void attention_softmax(DType dtype, const void* s, void* p, int64_t rows, int64_t T, double scale, bool causal) {
  if (rows == 0 || T == 0) return;
  const unsigned blocks = static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
  dispatch_float(dtype, "attention", [&](auto tag) {
    using Real = decltype(tag);
    attention_softmax_kernel<<<blocks, kThreads>>>(static_cast<const Real*>(s), static_cast<Real*>(p), rows, T,
                                                   static_cast<Real>(scale), causal);
  });
  CUDA_CHECK_LAUNCH();
}

void attention_dropout(DType dtype, const void* in, void* out, int64_t heads, int64_t per_head, const uint64_t* seeds,
                       double p, double scale) {
  if (heads * per_head == 0) return;
  Workspace device_seeds(static_cast<size_t>(heads) * sizeof(uint64_t));
  CUDA_CHECK(cudaMemcpy(device_seeds.data, seeds, heads * sizeof(uint64_t), cudaMemcpyHostToDevice));
  const DropoutMask mask(0, p);
  dispatch_float(dtype, "attention", [&](auto tag) {
    using Real = decltype(tag);
    attention_dropout_kernel<<<blocks_for(heads * per_head), kThreads>>>(
        static_cast<const Real*>(in), static_cast<Real*>(out), heads, per_head,
        static_cast<const uint64_t*>(device_seeds.data), mask, static_cast<Real>(scale));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
