// tests/exercises: exercises/own_optimizer/rmsprop.cpp with a wrong step (test data: its tests fail,
// and the message names the worst element).
// Your optimizer step: RMSprop's update of one parameter (the maths is in rmsprop.h).
//
// Optimizer::step() (optim/optimizer.cpp) calls update() once per parameter that has a gradient,
// with gradient recording switched off: ops on tensors here build no graph. update() must change
// the parameter in place (param.copy_(new values)), because the model holds the same tensor.
// optim/sgd.cpp is a finished example (written with loops over the elements, for speed; ops on
// whole tensors, such as sqrt(t), t * t, 0.5 * t, t + 1e-8, are fine here).
#include "rmsprop.h"

#include <cmath>

#include "core/error.h"
#include "core/ops.h"

namespace exercise {

using namespace ember;

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions o)
    : Optimizer("rmsprop", {ParamGroup{.params = std::move(params)}}, o.lr, /*weight_decay=*/0.0,
                {{"alpha", o.alpha}, {"eps", o.eps}}) {
  check_groups();
}

void RMSprop::check_group(const ParamGroup& group, size_t g) const {
  const double lr = *group.lr, alpha = group.option("alpha"), eps = group.option("eps");
  check(std::isfinite(lr) && lr >= 0, "rmsprop: param group ", g, ": lr must be >= 0, got ", lr);
  check(alpha >= 0 && alpha < 1, "rmsprop: param group ", g, ": alpha must be in [0, 1), got ", alpha);
  check(std::isfinite(eps) && eps > 0, "rmsprop: param group ", g, ": eps must be > 0, got ", eps);
  check(*group.weight_decay == 0, "rmsprop: param group ", g, ": this RMSprop has no weight decay");
}

void RMSprop::update(const ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) {
  const double lr = *group.lr, alpha = group.option("alpha"), eps = group.option("eps");
  // The running average, made (zeros, shaped like the parameter) on the parameter's first step.
  auto [it, made] = state.buffers.try_emplace("square_avg", Tensor::zeros(param.shape(), param.dtype()));
  Tensor& square_avg = it->second;

  // wrong on purpose: alpha and 1 - alpha swapped (the new gradient gets the large share)
  square_avg.copy_((1 - alpha) * square_avg + alpha * grad * grad);
  param.copy_(param - lr * grad / (sqrt(square_avg) + eps));
}

}  // namespace exercise
