// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019), as
// torch.optim.AdamW: Adam with the weight decay taken out of the gradient.
//
// In Adam, L2 decay is added to the gradient (g + wd * p) and then divided by sqrt(v_hat) like
// the rest of it, so parameters with large gradients are hardly decayed at all. AdamW shrinks the
// parameter directly, by the same fraction for everyone, before the Adam step:
//
//   p = p - lr * weight_decay * p                 decoupled weight decay
//   (then Adam's update with the plain gradient, see adam.cpp)
//
// That one line is the whole difference; the loop in adam.cpp does it when decoupled_weight_decay_
// is set. The default weight decay is 0.01, as PyTorch's; nanoGPT uses 0.1 for its matrices and 0
// for biases and norm weights (param_groups_no_decay_for_1d).
#include "optim/adam.h"

namespace ember {

namespace {

AdamOptions as_adam_options(const AdamWOptions& o) {
  return AdamOptions{.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .weight_decay = o.weight_decay};
}

}  // namespace

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{ParamGroup{.params = std::move(params)}}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults)
    : Adam("adamw", std::move(groups), as_adam_options(defaults), /*decoupled_weight_decay=*/true) {}

}  // namespace ember
