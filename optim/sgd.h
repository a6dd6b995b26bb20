#pragma once
// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay, with
// PyTorch's torch.optim.SGD semantics (the math is at the top of optim/sgd.cpp).
//
//   SGD opt(parameters, {.lr = 0.1, .momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
//
// Per-group options (ParamGroup::options): "momentum", "dampening", "nesterov" (0 or 1).
#include "optim/optimizer.h"

namespace ember {

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;      // 0: plain SGD, no buffer
  double dampening = 0.0;     // scales the new gradient's share of the momentum buffer by (1 - dampening)
  bool nesterov = false;      // needs momentum > 0 and dampening 0
  double weight_decay = 0.0;  // L2: adds weight_decay * p to the gradient
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options = {});
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults = {});

 protected:
  void update(const ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) override;
  std::vector<std::string> buffer_names() const override { return {"momentum_buffer"}; }
  void check_group(const ParamGroup& group, size_t group_index) const override;
};

}  // namespace ember
