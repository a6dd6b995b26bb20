// Activations on the GPU: the kernels of core/ops/activations.cpp, with the same formulas.
//
//   relu(x)     = max(x, 0)                      dx = g if y > 0, else 0          (saved: y)
//   leaky_relu  = x if x > 0, else a x           dx = g if x > 0, else a g        (saved: x)
//   sigmoid(x)  = 1 / (1 + e^-x)                 dx = g y (1 - y)                 (saved: y)
//   tanh(x)                                      dx = g (1 - y^2)                 (saved: y)
//   gelu(x)     = x Phi(x) = x erfc(-x / sqrt 2) / 2
//                                                dx = g (Phi(x) + x phi(x))       (saved: x)
//   gelu, tanh form: x (1 + tanh u) / 2,  u = s (x + c x^3),  s = sqrt(2 / pi), c = 0.044715
//                                                dx = g ((1 + t) / 2 + x (1 - t^2) s (1 + 3 c x^2) / 2)
//
// One thread per element. The CPU's float32 gelu uses fast_erfc/fast_exp (core/ops/fast_erfc.h);
// here CUDA's erfc and exp, both within a few float roundings of each other.
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;     // 1 / sqrt 2
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double kGeluS = 0.79788456080286535588;        // sqrt(2 / pi)
constexpr double kGeluC = 0.044715;

template <typename T>
__device__ inline T forward(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    case UnaryOp::Sigmoid: {
      // stable for large |x|, as on the CPU: e^-x would overflow for x << 0
      if (x >= T(0)) return T(1) / (T(1) + exp(-x));
      const T e = exp(x);
      return e / (T(1) + e);
    }
    case UnaryOp::Tanh: return tanh(x);
    case UnaryOp::GeluErf: return T(0.5) * x * erfc(-x * T(kInvSqrt2));
    case UnaryOp::GeluTanh: {
      const T u = T(kGeluS) * (x + T(kGeluC) * x * x * x);
      return T(0.5) * x * (T(1) + tanh(u));
    }
    default: return x;  // Neg, Exp, Log are in unary.cu
  }
}

// dy/dx times g, from the saved value s (y or x, see the top of the file)
template <typename T>
__device__ inline T backward(UnaryOp op, T g, T s) {
  switch (op) {
    case UnaryOp::Relu: return s > T(0) ? g : T(0);
    case UnaryOp::Sigmoid: return g * s * (T(1) - s);
    case UnaryOp::Tanh: return g * (T(1) - s * s);
    case UnaryOp::GeluErf: {
      const T cdf = T(0.5) * erfc(-s * T(kInvSqrt2));
      const T pdf = T(kInvSqrt2Pi) * exp(T(-0.5) * s * s);
      return g * (cdf + s * pdf);
    }
    case UnaryOp::GeluTanh: {
      const T t = tanh(T(kGeluS) * (s + T(kGeluC) * s * s * s));
      const T dy = T(0.5) * (T(1) + t) + T(0.5) * s * (T(1) - t * t) * T(kGeluS) * (T(1) + T(3 * kGeluC) * s * s);
      return g * dy;
    }
    default: return g;
  }
}

template <typename T>
__global__ void activation_kernel(UnaryOp op, const T* x, T* y, int64_t n) {
  GRID_STRIDE_LOOP(i, n) y[i] = forward(op, x[i]);
}

template <typename T>
__global__ void activation_backward_kernel(UnaryOp op, const T* g, const T* saved, T* dx, int64_t n) {
  GRID_STRIDE_LOOP(i, n) dx[i] = backward(op, g[i], saved[i]);
}

// leaky_relu: y = x if x > 0, else slope x; dx = g if x > 0, else slope g (from the saved input:
// with a negative slope the sign of y does not tell the side of x)
template <typename T>
__global__ void leaky_relu_kernel(const T* x, T* y, int64_t n, T slope) {
  GRID_STRIDE_LOOP(i, n) y[i] = x[i] > T(0) ? x[i] : slope * x[i];
}

template <typename T>
__global__ void leaky_relu_backward_kernel(const T* g, const T* x, T* dx, int64_t n, T slope) {
  GRID_STRIDE_LOOP(i, n) dx[i] = x[i] > T(0) ? g[i] : slope * g[i];
}

}  // namespace

void leaky_relu(DType dtype, const void* x, void* y, int64_t n, double slope) {
  if (n == 0) return;
  dispatch_float(dtype, "leaky_relu", [&](auto tag) {
    using T = decltype(tag);
    leaky_relu_kernel<<<blocks_for(n), kThreads>>>(static_cast<const T*>(x), static_cast<T*>(y), n,
                                                   static_cast<T>(slope));
  });
  CUDA_CHECK_LAUNCH();
}

void leaky_relu_backward(DType dtype, const void* g, const void* x, void* dx, int64_t n, double slope) {
  if (n == 0) return;
  dispatch_float(dtype, "leaky_relu", [&](auto tag) {
    using T = decltype(tag);
    leaky_relu_backward_kernel<<<blocks_for(n), kThreads>>>(static_cast<const T*>(g), static_cast<const T*>(x),
                                                            static_cast<T*>(dx), n, static_cast<T>(slope));
  });
  CUDA_CHECK_LAUNCH();
}

void activation(UnaryOp op, DType dtype, const void* x, void* y, int64_t n) {
  dispatch_float(dtype, "activation", [&](auto tag) {
    using T = decltype(tag);
    activation_kernel<<<blocks_for(n), kThreads>>>(op, static_cast<const T*>(x), static_cast<T*>(y), n);
  });
  CUDA_CHECK_LAUNCH();
}

void activation_backward(UnaryOp op, DType dtype, const void* g, const void* saved, void* dx, int64_t n) {
  dispatch_float(dtype, "activation backward", [&](auto tag) {
    using T = decltype(tag);
    activation_backward_kernel<<<blocks_for(n), kThreads>>>(op, static_cast<const T*>(g),
                                                            static_cast<const T*>(saved), static_cast<T*>(dx), n);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
