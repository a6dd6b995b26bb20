// Activations: relu, leaky_relu, sigmoid, tanh, gelu. Element-wise, so x, y and every gradient
// have the same shape (any shape).
//
//   relu(x)        = max(x, 0)                       dy/dx = 1 if x > 0, else 0 (0 at the kink)
//   leaky_relu(x)  = x if x > 0, else a x            dy/dx = 1 if x > 0, else a
//   sigmoid(x)     = 1 / (1 + e^-x)                  dy/dx = y (1 - y)
//   tanh(x)                                          dy/dx = 1 - y^2
//   gelu(x)        = x Phi(x),                       dy/dx = Phi(x) + x phi(x)
//                    Phi(x) = (1 + erf(x / sqrt 2)) / 2   (the standard normal CDF), computed as
//                           erfc(-x / sqrt 2) / 2, which keeps its precision for x << 0
//                    phi(x) = exp(-x^2 / 2) / sqrt(2 pi)  (its density)
//                    In float32 erfc and exp are fast_erfc / fast_exp (core/ops/fast_erfc.h), which
//                    vectorise; in float64 they are std::erfc / std::exp.
//   gelu, tanh form: y = x (1 + tanh u) / 2,  u = s (x + c x^3),  s = sqrt(2 / pi), c = 0.044715
//                    dy/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) s (1 + 3 c x^2) / 2
//
// Sigmoid and tanh compute their derivative from the saved output y, so backward needs no exp.
// Relu keeps its output too: y > 0 exactly where x > 0, and the output is often kept alive by the
// next layer anyway.
//
// On the GPU: relu, leaky_relu, sigmoid, tanh and gelu (both forms), forward and backward, in cuda/activations.cu;
// each op below picks it with one `is_cuda(x)` test (core/ops/cuda_dispatch.h).
#include <cmath>
#include <numbers>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/ops/fast_erfc.h"
#include "core/ops/fast_exp.h"
#include "core/ops/map.h"

namespace ember {

namespace {

// dx[i] = f(g[i], saved[i]): a backward in one pass, with no temporary tensors. `saved` is the
// input or the output of the forward, which has the same shape as the gradient g.
template <typename F>
Tensor backward_map(const Tensor& g, const Tensor& saved, const char* op, F f) {
  check(g.shape() == saved.shape(), op, ": gradient of shape ", shape_str(g.shape()), " for a tensor of shape ",
        shape_str(saved.shape()));
  Tensor dx = Tensor::empty(g.shape(), g.dtype());
  dispatch_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* pg = g.data<T>();
    const T* ps = saved.data<T>();
    T* pd = dx.data<T>();
    parallel_for(0, g.numel(), 1 << 14, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) pd[i] = static_cast<T>(f(pg[i], ps[i]));
    });
  });
  return dx;
}

}  // namespace

Tensor relu(const Tensor& x) {
  OpScope scope("relu", x);
  Tensor y = is_cuda(x) ? cuda_unary(UnaryOp::Relu, x, "relu")
                                        : map(x, "relu", [](auto v) { return v > 0 ? v : decltype(v)(0); });
  Tensor y_saved = y.detach();
  record(y, "relu", {x}, [y_saved](const Tensor& g) {
    if (g.device() == Device::CUDA) return std::vector<Tensor>{cuda_unary_backward(UnaryOp::Relu, g, y_saved, "relu")};
    Tensor dx = backward_map(g, y_saved, "relu", [](auto gi, auto yi) { return yi > 0 ? gi : decltype(gi)(0); });
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  OpScope scope("leaky_relu", x);
  if (is_cuda(x)) {
    check(is_floating(x.dtype()), "leaky_relu: expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
    Tensor y = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
    cuda_kernels().leaky_relu(x.dtype(), x.raw_device_data(), y.raw_device_data(), x.numel(), negative_slope);
    Tensor x_saved = x.detach();
    record(y, "leaky_relu", {x}, [x_saved, negative_slope](const Tensor& g) {
      Tensor dx = Tensor::empty(g.shape(), g.dtype(), Device::CUDA);
      cuda_kernels().leaky_relu_backward(g.dtype(), g.raw_device_data(), x_saved.raw_device_data(),
                                         dx.raw_device_data(), g.numel(), negative_slope);
      return std::vector<Tensor>{dx};
    });
    return y;
  }
  Tensor y = map(x, "leaky_relu", [negative_slope](auto v) {
    using T = decltype(v);
    return v > 0 ? v : static_cast<T>(negative_slope) * v;
  });
  // The input, not the output: with a negative slope the sign of y does not tell the side of x.
  Tensor x_saved = x.detach();
  record(y, "leaky_relu", {x}, [x_saved, negative_slope](const Tensor& g) {
    Tensor dx = backward_map(g, x_saved, "leaky_relu", [negative_slope](auto gi, auto xi) {
      using T = decltype(gi);
      return xi > 0 ? gi : static_cast<T>(negative_slope) * gi;
    });
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor sigmoid(const Tensor& x) {
  OpScope scope("sigmoid", x);
  // Stable for large |x|: e^-x would overflow for x << 0, so there use e^x / (1 + e^x).
  Tensor y = is_cuda(x) ? cuda_unary(UnaryOp::Sigmoid, x, "sigmoid") : map(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    T e = std::exp(v);
    return e / (T(1) + e);
  });
  Tensor y_saved = y.detach();
  record(y, "sigmoid", {x}, [y_saved](const Tensor& g) {
    if (g.device() == Device::CUDA)
      return std::vector<Tensor>{cuda_unary_backward(UnaryOp::Sigmoid, g, y_saved, "sigmoid")};
    Tensor dx = backward_map(g, y_saved, "sigmoid", [](auto gi, auto yi) { return gi * yi * (1 - yi); });
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor tanh(const Tensor& x) {
  OpScope scope("tanh", x);
  Tensor y = is_cuda(x) ? cuda_unary(UnaryOp::Tanh, x, "tanh")
                                        : map(x, "tanh", [](auto v) { return std::tanh(v); });
  Tensor y_saved = y.detach();
  record(y, "tanh", {x}, [y_saved](const Tensor& g) {
    if (g.device() == Device::CUDA) return std::vector<Tensor>{cuda_unary_backward(UnaryOp::Tanh, g, y_saved, "tanh")};
    Tensor dx = backward_map(g, y_saved, "tanh", [](auto gi, auto yi) { return gi * (1 - yi * yi); });
    return std::vector<Tensor>{dx};
  });
  return y;
}

namespace {
// gelu's constants (s and c in the formulas at the top)
constexpr double inv_sqrt2 = 1.0 / std::numbers::sqrt2;                          // 1 / sqrt 2
constexpr double inv_sqrt_2pi = std::numbers::inv_sqrtpi / std::numbers::sqrt2;  // 1 / sqrt(2 pi)
constexpr double gelu_s = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;        // sqrt(2 / pi)
constexpr double gelu_c = 0.044715;
}  // namespace

Tensor gelu(const Tensor& x, bool approximate) {
  OpScope scope("gelu", x);
  Tensor y;
  const UnaryOp gpu_op = approximate ? UnaryOp::GeluTanh : UnaryOp::GeluErf;
  if (is_cuda(x)) {
    y = cuda_unary(gpu_op, x, "gelu");
  } else if (approximate) {
    y = map(x, "gelu", [](auto v) {
      using T = decltype(v);
      T u = T(gelu_s) * (v + T(gelu_c) * v * v * v);
      return T(0.5) * v * (T(1) + std::tanh(u));
    });
  } else {
    y = map(x, "gelu", [](auto v) {
      using T = decltype(v);
      return T(0.5) * v * fast_erfc(-v * T(inv_sqrt2));
    });
  }
  Tensor x_saved = x.detach();
  record(y, "gelu", {x}, [x_saved, approximate, gpu_op](const Tensor& g) {
    Tensor dx;
    if (g.device() == Device::CUDA) {
      dx = cuda_unary_backward(gpu_op, g, x_saved, "gelu");
    } else if (approximate) {
      dx = backward_map(g, x_saved, "gelu", [](auto gi, auto xi) {
        using T = decltype(gi);
        T t = std::tanh(T(gelu_s) * (xi + T(gelu_c) * xi * xi * xi));
        T dy = T(0.5) * (T(1) + t) + T(0.5) * xi * (T(1) - t * t) * T(gelu_s) * (T(1) + T(3 * gelu_c) * xi * xi);
        return gi * dy;
      });
    } else {
      dx = backward_map(g, x_saved, "gelu", [](auto gi, auto xi) {
        using T = decltype(gi);
        T cdf = T(0.5) * fast_erfc(-xi * T(inv_sqrt2));
        T pdf = T(inv_sqrt_2pi) * fast_exp(T(-0.5) * xi * xi);
        return gi * (cdf + xi * pdf);
      });
    }
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace ember
