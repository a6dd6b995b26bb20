// Element-wise math: neg, exp, log, sqrt, pow, abs, clamp.
//
//   y = -x          dy/dx = -1
//   y = exp(x)      dy/dx = exp(x) = y
//   y = log(x)      dy/dx = 1 / x
//   y = sqrt(x)     dy/dx = 1 / (2 sqrt(x)) = 1 / (2 y)
//   y = x^p         dy/dx = p x^(p-1)
//   y = |x|         dy/dx = sign(x) (0 at 0)
//   y = clamp(x)    dy/dx = 1 inside [min, max], 0 outside
//
// On the GPU: all of them in cuda/unary.cu (the backward of neg, exp and log is built from binary
// ops, as here; sqrt, pow, abs and clamp have a backward kernel: cuda_pointwise below).
#include <cmath>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/ops/map.h"

namespace ember {

namespace {

// y = f(x; a, b) on the GPU, with its backward recorded (cuda/unary.cu); `saved` is y for sqrt, x
// for the others.
Tensor cuda_pointwise(PointwiseOp op, const char* name, const Tensor& x, double a = 0, double b = 0) {
  check(is_floating(x.dtype()), name, ": expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
  Tensor y = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
  cuda_kernels().pointwise(op, x.dtype(), x.raw_device_data(), y.raw_device_data(), x.numel(), a, b);
  Tensor saved = op == PointwiseOp::Sqrt ? y.detach() : x.detach();
  record(y, name, {x}, [op, saved, a, b](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), Device::CUDA);
    cuda_kernels().pointwise_backward(op, g.dtype(), g.raw_device_data(), saved.raw_device_data(),
                                      dx.raw_device_data(), g.numel(), a, b);
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace

Tensor neg(const Tensor& x) {
  OpScope scope("neg", x);
  Tensor y = is_cuda(x) ? cuda_unary(UnaryOp::Neg, x, "neg") : map(x, "neg", [](auto v) { return -v; });
  record(y, "neg", {x}, [](const Tensor& g) { return std::vector<Tensor>{neg(g)}; });
  return y;
}

Tensor exp(const Tensor& x) {
  OpScope scope("exp", x);
  Tensor y = is_cuda(x) ? cuda_unary(UnaryOp::Exp, x, "exp")
                                        : map(x, "exp", [](auto v) { return std::exp(v); });
  Tensor y_saved = y.detach();
  record(y, "exp", {x}, [y_saved](const Tensor& g) { return std::vector<Tensor>{g * y_saved}; });
  return y;
}

Tensor log(const Tensor& x) {
  OpScope scope("log", x);
  Tensor y = is_cuda(x) ? cuda_unary(UnaryOp::Log, x, "log")
                                        : map(x, "log", [](auto v) { return std::log(v); });
  Tensor x_saved = x.detach();
  record(y, "log", {x}, [x_saved](const Tensor& g) { return std::vector<Tensor>{g / x_saved}; });
  return y;
}

Tensor sqrt(const Tensor& x) {
  OpScope scope("sqrt", x);
  if (is_cuda(x)) return cuda_pointwise(PointwiseOp::Sqrt, "sqrt", x);
  Tensor y = map(x, "sqrt", [](auto v) { return std::sqrt(v); });
  Tensor y_saved = y.detach();
  record(y, "sqrt", {x}, [y_saved](const Tensor& g) { return std::vector<Tensor>{g / (y_saved * 2.0)}; });
  return y;
}

Tensor pow(const Tensor& x, double p) {
  OpScope scope("pow", x);
  if (is_cuda(x)) return cuda_pointwise(PointwiseOp::Pow, "pow", x, p);
  Tensor y = map(x, "pow", [p](auto v) { return std::pow(v, static_cast<decltype(v)>(p)); });
  Tensor x_saved = x.detach();
  record(y, "pow", {x}, [x_saved, p](const Tensor& g) {
    Tensor d = map(x_saved, "pow", [p](auto v) { return p * std::pow(v, static_cast<decltype(v)>(p - 1)); });
    return std::vector<Tensor>{g * d};
  });
  return y;
}

Tensor abs(const Tensor& x) {
  OpScope scope("abs", x);
  if (is_cuda(x)) return cuda_pointwise(PointwiseOp::Abs, "abs", x);
  Tensor y = map(x, "abs", [](auto v) { return std::abs(v); });
  Tensor x_saved = x.detach();
  record(y, "abs", {x}, [x_saved](const Tensor& g) {
    Tensor sign = map(x_saved, "abs", [](auto v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); });
    return std::vector<Tensor>{g * sign};
  });
  return y;
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  OpScope scope("clamp", x);
  check(!(min && max) || *min <= *max, "clamp: min ", min.value_or(0), " is larger than max ", max.value_or(0));
  double lo = min.value_or(-INFINITY), hi = max.value_or(INFINITY);
  if (is_cuda(x)) return cuda_pointwise(PointwiseOp::Clamp, "clamp", x, lo, hi);
  Tensor y = map(x, "clamp", [lo, hi](auto v) { return v < lo ? lo : (v > hi ? hi : static_cast<double>(v)); });
  Tensor x_saved = x.detach();
  record(y, "clamp", {x}, [x_saved, lo, hi](const Tensor& g) {
    Tensor inside = map(x_saved, "clamp", [lo, hi](auto v) { return (v >= lo && v <= hi) ? 1.0 : 0.0; });
    return std::vector<Tensor>{g * inside};
  });
  return y;
}

}  // namespace ember
