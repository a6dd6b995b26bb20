#pragma once
// RMSNorm: normalise each row by its root mean square, then scale by a learned weight (the
// normalisation of LLaMA-style transformers; LayerNorm without subtracting the mean and without a bias).
//
//   x: [..., D] -> y: [..., D]
//   rms = sqrt(mean(x^2 over the last dimension D) + eps)      shape [..., 1]
//   y   = x / rms * weight                                     weight: [D], a parameter, starts at 1
//
// Build it from ops (core/ops.h: mul, mean, sqrt, div, ...): autograd then gives the backward, and
// gradcheck_module tells you whether the graph you built really depends on everything it should.
#include <string>

#include "layers/module.h"

namespace exercise {

class RMSNorm : public ember::Module {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6);

  ember::Tensor forward(const ember::Tensor& x) override;
  std::string type_name() const override { return "RMSNorm"; }
  std::string extra_repr() const override;  // "4, eps=1e-06"

  const int64_t dim;
  const double eps;
  ember::Tensor weight;  // [dim]
};

}  // namespace exercise
