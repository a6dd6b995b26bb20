// Element-wise maths on the GPU: neg, exp, log, sqrt, pow, abs, clamp (core/ops/unary.cpp). One
// thread per element. The backward passes of neg, exp and log are built from binary ops in
// unary.cpp, as on the CPU; sqrt, pow, abs and clamp have their own (pointwise_backward):
//   sqrt:  dx = g / (2 y)           pow:   dx = g a x^(a-1)
//   abs:   dx = g sign(x), 0 at 0   clamp: dx = g where a <= x <= b, else 0
// The activations (relu, leaky_relu, sigmoid, tanh, gelu) are in cuda/activations.cu, beside
// core/ops/activations.cpp.
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

template <typename T>
__device__ inline T pointwise_forward(PointwiseOp op, T x, T a, T b) {
  switch (op) {
    case PointwiseOp::Sqrt: return sqrt(x);
    case PointwiseOp::Pow: return pow(x, a);
    case PointwiseOp::Abs: return x < T(0) ? -x : x;
    case PointwiseOp::Clamp: return x < a ? a : (x > b ? b : x);
  }
  return x;
}

// g * f'(.) from the saved value s: y for Sqrt, x for the others
template <typename T>
__device__ inline T pointwise_derivative(PointwiseOp op, T g, T s, T a, T b) {
  switch (op) {
    case PointwiseOp::Sqrt: return g / (s * T(2));
    case PointwiseOp::Pow: return g * (a * pow(s, a - T(1)));
    case PointwiseOp::Abs: return g * (s > T(0) ? T(1) : (s < T(0) ? T(-1) : T(0)));
    case PointwiseOp::Clamp: return g * ((s >= a && s <= b) ? T(1) : T(0));
  }
  return g;
}

template <typename T>
__global__ void pointwise_kernel(PointwiseOp op, const T* x, T* y, int64_t n, T a, T b) {
  GRID_STRIDE_LOOP(i, n) y[i] = pointwise_forward(op, x[i], a, b);
}

template <typename T>
__global__ void pointwise_backward_kernel(PointwiseOp op, const T* g, const T* s, T* dx, int64_t n, T a, T b) {
  GRID_STRIDE_LOOP(i, n) dx[i] = pointwise_derivative(op, g[i], s[i], a, b);
}

}  // namespace

// a and b are given in double; clamp's open ends are -inf and +inf, which float keeps.
void pointwise(PointwiseOp op, DType dtype, const void* x, void* y, int64_t n, double a, double b) {
  if (n == 0) return;
  dispatch_float(dtype, "pointwise", [&](auto tag) {
    using T = decltype(tag);
    pointwise_kernel<<<blocks_for(n), kThreads>>>(op, static_cast<const T*>(x), static_cast<T*>(y), n,
                                                  static_cast<T>(a), static_cast<T>(b));
  });
  CUDA_CHECK_LAUNCH();
}

void pointwise_backward(PointwiseOp op, DType dtype, const void* g, const void* saved, void* dx, int64_t n, double a,
                        double b) {
  if (n == 0) return;
  dispatch_float(dtype, "pointwise", [&](auto tag) {
    using T = decltype(tag);
    pointwise_backward_kernel<<<blocks_for(n), kThreads>>>(op, static_cast<const T*>(g), static_cast<const T*>(saved),
                                                           static_cast<T*>(dx), n, static_cast<T>(a),
                                                           static_cast<T>(b));
  });
  CUDA_CHECK_LAUNCH();
}

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
