#include "lessons/common/finite_loss.h"

#include <cmath>

#include "core/error.h"
#include "lessons/common/number_format.h"

namespace ember {

void check_loss_is_finite(double loss, int64_t step, LastFiniteLoss& last, const std::string& where,
                          const std::string& lr_key, double lr) {
  if (std::isfinite(loss)) {
    last.loss = loss;
    last.step = step;
    return;
  }
  const std::string before = last.step < 0 ? "it was not finite from the first step"
                                           : "the last finite loss was " + format_shortest(last.loss) +
                                                 " (step " + std::to_string(last.step) + ")";
  fail(where, ": the loss became ", format_shortest(loss), " at step ", step, "; ", before,
       ". The weights cannot recover from this, so training stops here; the learning rate is probably too high: "
       "try a smaller ",
       lr_key, " (this run: ", format_shortest(lr), ").");
}

}  // namespace ember
