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
// On the GPU: neg, exp and log in cuda/unary.cu (their backward is built from binary ops, as here).
#include <cmath>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/ops/map.h"

namespace ember {

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
  Tensor y = map(x, "sqrt", [](auto v) { return std::sqrt(v); });
  Tensor y_saved = y.detach();
  record(y, "sqrt", {x}, [y_saved](const Tensor& g) { return std::vector<Tensor>{g / (y_saved * 2.0)}; });
  return y;
}

Tensor pow(const Tensor& x, double p) {
  OpScope scope("pow", x);
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
  Tensor y = map(x, "clamp", [lo, hi](auto v) { return v < lo ? lo : (v > hi ? hi : static_cast<double>(v)); });
  Tensor x_saved = x.detach();
  record(y, "clamp", {x}, [x_saved, lo, hi](const Tensor& g) {
    Tensor inside = map(x_saved, "clamp", [lo, hi](auto v) { return (v >= lo && v <= hi) ? 1.0 : 0.0; });
    return std::vector<Tensor>{g * inside};
  });
  return y;
}

}  // namespace ember
