#pragma once
// RMSprop: divide each parameter's step by a running average of its gradient's size, so that every
// parameter moves at about the same speed whatever the scale of its gradient (Hinton's Coursera
// lecture 6e; torch.optim.RMSprop without momentum and without centering).
//
// For each parameter p with gradient g, at every step:
//   square_avg = alpha * square_avg + (1 - alpha) * g^2      element-wise; starts at 0
//   p          = p - lr * g / (sqrt(square_avg) + eps)
// p, g and square_avg all have the parameter's shape. square_avg is the optimizer's state for that
// parameter: state.buffers["square_avg"], saved in checkpoints with the rest (optim/optimizer.h).
#include <vector>

#include "optim/optimizer.h"

namespace exercise {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;  // how much of the old average is kept at each step
  double eps = 1e-8;    // keeps the division finite where the gradient has always been 0
};

class RMSprop : public ember::Optimizer {
 public:
  explicit RMSprop(std::vector<ember::Tensor> params, RMSpropOptions options = {});

 protected:
  void update(const ember::ParamGroup& group, ember::Tensor& param, const ember::Tensor& grad,
              ember::ParamState& state) override;
  std::vector<std::string> buffer_names() const override { return {"square_avg"}; }
  void check_group(const ember::ParamGroup& group, size_t group_index) const override;
};

}  // namespace exercise
