#pragma once
// Adam and AdamW, as torch.optim.Adam and torch.optim.AdamW (the math is in optim/adam.cpp; what
// AdamW changes is in optim/adamw.cpp).
//
//   Adam  opt(parameters, {.lr = 1e-3});
//   AdamW opt(parameters, {.lr = 1e-3, .beta2 = 0.99, .weight_decay = 0.1});   // the baby GPT
//
// Per-group options (ParamGroup::options): "beta1", "beta2", "eps".
#include "optim/optimizer.h"

namespace ember {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;         // decay of the running mean of gradients (exp_avg)
  double beta2 = 0.999;       // decay of the running mean of squared gradients (exp_avg_sq)
  double eps = 1e-8;          // keeps the division finite where exp_avg_sq is ~0
  double weight_decay = 0.0;  // Adam: L2 added to the gradient; AdamW: decoupled (see adamw.cpp)
};

// The same settings with PyTorch's AdamW default weight decay (0.01).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled: p <- p - lr * weight_decay * p, then the Adam step
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  Adam(std::vector<ParamGroup> groups, AdamOptions defaults = {});

 protected:
  // For AdamW: decoupled = true moves weight decay out of the gradient (see adamw.cpp).
  Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& defaults, bool decoupled_weight_decay);

  void update(const ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) override;
  std::vector<std::string> buffer_names() const override { return {"exp_avg", "exp_avg_sq"}; }
  void check_group(const ParamGroup& group, size_t group_index) const override;
  void check_loaded_buffer(const std::string& key, const std::string& buffer, const Tensor& value) const override;

 private:
  bool decoupled_weight_decay_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults = {});
};

}  // namespace ember
