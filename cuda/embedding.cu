// Embedding on the GPU: the kernels of core/ops/embedding.cpp.
//
//   ids [n] (any shape, flattened), weight [V, D] -> out [n, D],  out[p, :] = weight[ids[p], :]
//   backward: dweight[v, :] = sum of g[p, :] over every p with ids[p] == v
//
// Forward: one thread per output element (p, c); neighbouring threads copy neighbouring columns of
// one row (coalesced). The ids were checked against V by embedding.cpp before the launch.
// Backward: one thread per element of g, atomicAdd into dweight[ids[p], c]. Two positions with the
// same id add into the same row, so the additions must be atomic; their order depends on the
// scheduling, so the float sums can differ in the last bits from run to run and from the CPU (which
// adds in position order). The CPU's way, one thread per column walking every position in order, is
// deterministic but uses only D threads: here the whole GPU works on it instead.
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void embedding_kernel(const int64_t* ids, int64_t n, const T* weight, int64_t D, T* out) {
  GRID_STRIDE_LOOP(e, n * D) out[e] = weight[ids[e / D] * D + e % D];
}

template <typename T>
__global__ void embedding_backward_kernel(const int64_t* ids, int64_t n, const T* g, int64_t D, T* dweight) {
  GRID_STRIDE_LOOP(e, n * D) atomicAdd(dweight + ids[e / D] * D + e % D, g[e]);
}

}  // namespace

void embedding(DType dtype, const int64_t* ids, int64_t n, const void* weight, int64_t D, void* out) {
  if (n * D == 0) return;
  dispatch_float(dtype, "embedding", [&](auto tag) {
    using T = decltype(tag);
    embedding_kernel<<<blocks_for(n * D), kThreads>>>(ids, n, static_cast<const T*>(weight), D, static_cast<T*>(out));
  });
  CUDA_CHECK_LAUNCH();
}

// dweight must be zeroed by the caller (embedding.cpp makes it with Tensor::zeros).
void embedding_backward(DType dtype, const int64_t* ids, int64_t n, const void* g, int64_t D, void* dweight) {
  if (n * D == 0) return;
  dispatch_float(dtype, "embedding", [&](auto tag) {
    using T = decltype(tag);
    embedding_backward_kernel<<<blocks_for(n * D), kThreads>>>(ids, n, static_cast<const T*>(g), D,
                                                               static_cast<T*>(dweight));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
