#pragma once
// Stopping a run whose loss has become NaN or infinite. Once that happens the weights are NaN too
// and nothing later can recover, so training on would only print a meaningless score at the end
// (with exit code 0). The usual cause is a learning rate too high for the model.
//
//   LastFiniteLoss last;                                   // before the training loop
//   ...
//   Tensor loss = cross_entropy(model(x), y);
//   check_loss_is_finite(loss.item(), step, last, "mnist, epoch 3", "--lr", lr);
//
// throws: "mnist, epoch 3: the loss became nan at step 412; the last finite loss was 2.3026 (step
// 411). The weights cannot recover from this; the learning rate is probably too high: try a smaller
// --lr (this run: 1e+300)."
#include <cstdint>
#include <string>

namespace ember {

// The last loss that was finite, and its step (step < 0: none yet).
struct LastFiniteLoss {
  double loss = 0.0;
  int64_t step = -1;
};

// Throws an ember::Error when `loss` is NaN or infinite, naming `where` (the program, the epoch),
// the step, the last finite loss and the learning-rate setting `lr_key` with its value `lr`;
// otherwise records `loss` as the last finite one.
void check_loss_is_finite(double loss, int64_t step, LastFiniteLoss& last, const std::string& where,
                          const std::string& lr_key, double lr);

}  // namespace ember
