// Filling and converting GPU tensors (core/tensor.cpp's fill_ and copy_ between dtypes).
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void fill_kernel(T* p, int64_t n, T value) {
  GRID_STRIDE_LOOP(i, n) p[i] = value;
}

template <typename D, typename S>
__global__ void cast_kernel(D* dst, const S* src, int64_t n) {
  GRID_STRIDE_LOOP(i, n) dst[i] = static_cast<D>(src[i]);
}

// f(T{}) for every dtype, int64 included.
template <typename F>
void dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    case DType::Int64: f(int64_t{}); return;
  }
}

}  // namespace

void fill(DType dtype, void* p, int64_t n, double value) {
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<<<blocks_for(n), kThreads>>>(static_cast<T*>(p), n, static_cast<T>(value));
  });
  CUDA_CHECK_LAUNCH();
}

void cast(DType to, void* dst, DType from, const void* src, int64_t n) {
  dispatch_all(to, [&](auto dtag) {
    using D = decltype(dtag);
    dispatch_all(from, [&](auto stag) {
      using S = decltype(stag);
      cast_kernel<<<blocks_for(n), kThreads>>>(static_cast<D*>(dst), static_cast<const S*>(src), n);
    });
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
