#pragma once
// Activation layers: element-wise, no parameters. Each wraps one op of core/ops/activations.cpp,
// where the forward and the derivative sit side by side:
//
//   ReLU       max(0, x)                                 d/dx: 1 if x > 0 else 0
//   LeakyReLU  x if x > 0 else slope * x                 d/dx: 1 or slope
//   GELU       x * Phi(x) (Phi: the normal CDF)          d/dx: Phi(x) + x * phi(x)
//   Sigmoid    1 / (1 + exp(-x))                         d/dx: s (1 - s)
//   Tanh       tanh(x)                                   d/dx: 1 - t^2
#include "layers/module.h"

namespace ember {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;  // "negative_slope=0.01"

  const double negative_slope;
};

class GELU : public Module {
 public:
  // approximate=true uses the tanh formula (GPT-2's); false the exact erf one
  explicit GELU(bool approximate = false) : approximate(approximate) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GELU"; }
  std::string extra_repr() const override;  // "" or "approximate=tanh"

  const bool approximate;
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

}  // namespace ember
