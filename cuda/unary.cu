// Element-wise maths on the GPU: neg, exp, log (core/ops/unary.cpp). One thread per element; their
// backward passes are built from binary ops in unary.cpp, as on the CPU. The activations (relu,
// sigmoid, tanh, gelu) are in cuda/activations.cu, beside core/ops/activations.cpp.
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void neg_kernel(const T* x, T* y, int64_t n) {
  GRID_STRIDE_LOOP(i, n) y[i] = -x[i];
}

template <typename T>
__global__ void exp_kernel(const T* x, T* y, int64_t n) {
  GRID_STRIDE_LOOP(i, n) y[i] = exp(x[i]);  // expf for float, exp for double (CUDA's overloads)
}

template <typename T>
__global__ void log_kernel(const T* x, T* y, int64_t n) {
  GRID_STRIDE_LOOP(i, n) y[i] = log(x[i]);
}

}  // namespace

void unary(UnaryOp op, DType dtype, const void* x, void* y, int64_t n) {
  if (op != UnaryOp::Neg && op != UnaryOp::Exp && op != UnaryOp::Log) {
    activation(op, dtype, x, y, n);
    return;
  }
  dispatch_float(dtype, "unary", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x);
    T* py = static_cast<T*>(y);
    if (op == UnaryOp::Neg) neg_kernel<<<blocks_for(n), kThreads>>>(px, py, n);
    if (op == UnaryOp::Exp) exp_kernel<<<blocks_for(n), kThreads>>>(px, py, n);
    if (op == UnaryOp::Log) log_kernel<<<blocks_for(n), kThreads>>>(px, py, n);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
