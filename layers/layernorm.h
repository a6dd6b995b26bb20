#pragma once
// Layer normalisation: normalise each position over its own features (the last dimension D),
// then scale and shift with learned weight and bias [D]:
//
//   y = (x - mean(x[..., :])) / sqrt(var(x[..., :]) + eps) * weight + bias
//
//   x: [..., D] -> same shape
//
// Unlike BatchNorm it does not look at the rest of the batch, so training and eval behave the
// same; transformers use it.
#include "layers/module.h"

namespace ember {

class LayerNorm : public Module {
 public:
  // bias = false keeps the weight but no bias (as PyTorch's bias=False; nanoGPT's train.py uses it).
  explicit LayerNorm(int64_t normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;  // "192, eps=1e-05"

  const int64_t normalized_shape;  // D
  const double eps;
  const bool elementwise_affine;
  Tensor weight, bias;  // [D], 1 and 0 at first; undefined when !elementwise_affine (bias: or !bias)
};

}  // namespace ember
