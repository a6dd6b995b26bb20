// Learning-rate schedules as plain functions of the iteration (formulas in optim/lr_schedule.h).
#include "optim/lr_schedule.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace ember {

double StepDecay::operator()(int64_t it) const {
  check(it >= 0, "StepDecay: iteration must be >= 0, got ", it);
  check(step_size > 0, "StepDecay: step_size must be > 0, got ", step_size);
  return base_lr * std::pow(gamma, static_cast<double>(it / step_size));
}

double WarmupCosine::operator()(int64_t it) const {
  check(it >= 0, "WarmupCosine: iteration must be >= 0, got ", it);
  check(warmup_iters >= 0 && lr_decay_iters >= warmup_iters,
        "WarmupCosine: need 0 <= warmup_iters <= lr_decay_iters, got ", warmup_iters, " and ", lr_decay_iters);
  // 1) linear warmup (never exactly 0: the first iteration already learns a little)
  if (it < warmup_iters) return max_lr * static_cast<double>(it + 1) / static_cast<double>(warmup_iters + 1);
  // 2) past the decay: the floor (nanoGPT tests it > lr_decay_iters; at equality the cosine gives min_lr too)
  if (it >= lr_decay_iters) return min_lr;
  // 3) in between: half a cosine from max_lr down to min_lr
  double decay_ratio = static_cast<double>(it - warmup_iters) / static_cast<double>(lr_decay_iters - warmup_iters);
  double coeff = 0.5 * (1.0 + std::cos(std::numbers::pi * decay_ratio));  // 1 -> 0
  return min_lr + coeff * (max_lr - min_lr);
}

double CosineAnnealing::operator()(int64_t it) const {
  check(it >= 0, "CosineAnnealing: iteration must be >= 0, got ", it);
  check(total_iters > 0, "CosineAnnealing: total_iters must be > 0, got ", total_iters);
  if (it >= total_iters) return min_lr;
  double progress = static_cast<double>(it) / static_cast<double>(total_iters);
  return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace ember
