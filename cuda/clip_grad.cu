// Gradient-norm clipping on the GPU: the two loops of optim/clip_grad.cpp.
//
//   sum_of_squares:  sum_i g_i^2, in double (the CPU adds every gradient's share into one norm)
//   scale:           g_i *= factor, factor = max_norm / (norm + 1e-6) when the norm is too large
//
// sum_of_squares is reduce.cu's two-pass sum with the square inside: blocks sum fixed slices
// (warp shuffles, block_sum) into a scratch array, one block adds those, and the double is copied
// back to the CPU, which needs it to decide whether to clip. A fixed order: the same bits every run.
#include <algorithm>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void squares_partial_kernel(const T* g, double* partial, int64_t n) {
  double acc = 0;
  GRID_STRIDE_LOOP(i, n) acc += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void squares_final_kernel(const double* partial, int64_t count, double* out) {
  double acc = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) acc += partial[k];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[0] = acc;
}

template <typename T>
__global__ void scale_kernel(T* g, int64_t n, T factor) {
  GRID_STRIDE_LOOP(i, n) g[i] *= factor;
}

}  // namespace

double sum_of_squares(DType dtype, const void* g, int64_t n) {
  if (n == 0) return 0.0;
  const unsigned blocks = std::min<unsigned>(blocks_for(n), 1024);
  Workspace scratch((blocks + 1) * sizeof(double));  // the partial sums, then the total
  double* partial = static_cast<double*>(scratch.data);
  dispatch_float(dtype, "clip_grad_norm", [&](auto tag) {
    using T = decltype(tag);
    squares_partial_kernel<<<blocks, kThreads>>>(static_cast<const T*>(g), partial, n);
    squares_final_kernel<<<1, kThreads>>>(partial, blocks, partial + blocks);
  });
  CUDA_CHECK_LAUNCH();
  double total = 0;
  CUDA_CHECK(cudaMemcpy(&total, partial + blocks, sizeof(double), cudaMemcpyDeviceToHost));
  return total;
}

void scale(DType dtype, void* g, int64_t n, double factor) {
  if (n == 0) return;
  dispatch_float(dtype, "clip_grad_norm", [&](auto tag) {
    using T = decltype(tag);
    scale_kernel<<<blocks_for(n), kThreads>>>(static_cast<T*>(g), n, static_cast<T>(factor));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
