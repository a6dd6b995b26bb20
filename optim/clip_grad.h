#pragma once
// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_:
//
//   total_norm = sqrt(sum over all parameters, all elements of grad^2)
//   if total_norm > max_norm:  every grad *= max_norm / (total_norm + 1e-6)
//
// Call it between loss.backward() and opt.step(). It keeps the direction of the update and only
// limits its length, which tames the rare huge gradient that would throw training off.
#include <vector>

#include "core/tensor.h"

namespace ember {

// Returns the total norm before clipping (computed in double, the same bits for any thread count).
// Parameters without a gradient are skipped. When the norm is not finite (inf or NaN in some
// gradient) the gradients are left alone: check the returned value to skip such a step.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace ember
