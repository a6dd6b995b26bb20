#pragma once
// Flatten: merges dimensions start_dim..end_dim into one; the bridge from convolutions to Linear.
//
//   default (start_dim 1): [N, C, H, W] -> [N, C * H * W]
//
// Tensors are contiguous, so this is a reshape: no copy, and the gradient is reshaped back.
#include "layers/module.h"

namespace ember {

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;  // "start_dim=1, end_dim=-1"

  const int64_t start_dim, end_dim;
};

}  // namespace ember
