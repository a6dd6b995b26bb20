// Element-wise binary ops with broadcasting on the GPU: the kernels of core/ops/binary.cpp.
//
// One thread per output element i. The CPU's general case walks the output row by row and keeps
// two running offsets; a GPU thread instead decomposes its own flat index i into the output's
// coordinates (last dimension fastest) and adds up each input's strides, 0 for a broadcast
// dimension (BroadcastIndex, filled by binary.cpp's broadcast_strides):
//
//   out[i] = a[sum_d idx_d * stride_a[d]]  op  b[sum_d idx_d * stride_b[d]]
//
// Same shapes (the common case) skip the index arithmetic: a[i] op b[i].
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__device__ inline T apply(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::Add: return x + y;
    case BinaryOp::Sub: return x - y;
    case BinaryOp::Mul: return x * y;
    case BinaryOp::Div: return x / y;
  }
  return T(0);
}

template <typename T>
__global__ void binary_same_shape(BinaryOp op, const T* a, const T* b, T* out, int64_t n) {
  GRID_STRIDE_LOOP(i, n) out[i] = apply(op, a[i], b[i]);
}

template <typename T>
__global__ void binary_broadcast(BinaryOp op, const T* a, const T* b, T* out, int64_t n, BroadcastIndex index) {
  GRID_STRIDE_LOOP(i, n) {
    int64_t rest = i, ia = 0, ib = 0;
    for (int d = index.rank - 1; d >= 0; --d) {
      const int64_t idx = rest % index.size[d];
      rest /= index.size[d];
      ia += idx * index.stride_a[d];
      ib += idx * index.stride_b[d];
    }
    out[i] = apply(op, a[ia], b[ib]);
  }
}

template <typename T>
__global__ void axpy_kernel(T* a, T alpha, const T* b, int64_t n) {
  GRID_STRIDE_LOOP(i, n) a[i] += alpha * b[i];
}

bool same_shape(const BroadcastIndex& index) {
  int64_t stride = 1;
  for (int d = index.rank - 1; d >= 0; --d) {
    if (index.stride_a[d] != stride || index.stride_b[d] != stride) return false;
    stride *= index.size[d];
  }
  return true;
}

template <typename T>
void launch(BinaryOp op, const void* a, const void* b, void* out, int64_t n, const BroadcastIndex& index) {
  const T* pa = static_cast<const T*>(a);
  const T* pb = static_cast<const T*>(b);
  T* po = static_cast<T*>(out);
  if (same_shape(index)) binary_same_shape<<<blocks_for(n), kThreads>>>(op, pa, pb, po, n);
  else binary_broadcast<<<blocks_for(n), kThreads>>>(op, pa, pb, po, n, index);
}

}  // namespace

void binary(BinaryOp op, DType dtype, const void* a, const void* b, void* out, int64_t n, const BroadcastIndex& index) {
  switch (dtype) {
    case DType::Float32: launch<float>(op, a, b, out, n, index); break;
    case DType::Float64: launch<double>(op, a, b, out, n, index); break;
    case DType::Int64: launch<int64_t>(op, a, b, out, n, index); break;
  }
  CUDA_CHECK_LAUNCH();
}

void axpy(DType dtype, void* a, double alpha, const void* b, int64_t n) {
  dispatch_float(dtype, "axpy_", [&](auto tag) {
    using T = decltype(tag);
    axpy_kernel<<<blocks_for(n), kThreads>>>(static_cast<T*>(a), static_cast<T>(alpha), static_cast<const T*>(b), n);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
