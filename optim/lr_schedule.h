#pragma once
// Learning-rate schedules: each is a pure function of the iteration number, so a run resumed from
// a checkpoint at iteration `it` gets exactly the learning rate it would have had. Use:
//
//   WarmupCosine schedule{.max_lr = 1e-3, .min_lr = 1e-4, .warmup_iters = 100, .lr_decay_iters = 5000};
//   for (int64_t it = start; it < iters; ++it) {
//     opt.set_lr(schedule(it));
//     ...
//   }
//
// Iterations count from 0.
#include <cstdint>

namespace ember {

// StepLR: the learning rate is multiplied by gamma every step_size iterations.
//   lr(it) = base_lr * gamma^floor(it / step_size)
struct StepDecay {
  double base_lr = 0.1;
  int64_t step_size = 30;
  double gamma = 0.1;
  double operator()(int64_t it) const;
};

// nanoGPT's get_lr: linear warmup, then a cosine down to a floor, then the floor.
//   it <  warmup_iters:             max_lr * (it + 1) / (warmup_iters + 1)
//   it >= lr_decay_iters:           min_lr
//   otherwise, r = (it - warmup_iters) / (lr_decay_iters - warmup_iters) in [0, 1):
//                                   min_lr + (max_lr - min_lr) * (1 + cos(pi r)) / 2
struct WarmupCosine {
  double max_lr = 1e-3;
  double min_lr = 1e-4;
  int64_t warmup_iters = 100;
  int64_t lr_decay_iters = 5000;
  double operator()(int64_t it) const;
};

// Cosine annealing (CosineAnnealingLR's closed form, without restarts) from base_lr to min_lr over
// total_iters iterations, then min_lr:
//   lr(it) = min_lr + (base_lr - min_lr) * (1 + cos(pi * it / total_iters)) / 2   for it <= total_iters
struct CosineAnnealing {
  double base_lr = 0.1;
  int64_t total_iters = 100;
  double min_lr = 0.0;
  double operator()(int64_t it) const;
};

}  // namespace ember
