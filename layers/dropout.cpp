// Dropout layer: the dropout op does the masking (and its backward: the same mask times the same
// scale); the layer supplies the mode (is_training()) and the generator.
#include "layers/dropout.h"

#include "core/ops.h"

namespace ember {

Dropout::Dropout(double p, Generator* gen) : p(p), gen_(gen) {
  check(p >= 0.0 && p < 1.0, "Dropout: p must be in [0, 1), got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), gen_); }

std::string Dropout::extra_repr() const { return "p=" + repr_number(p); }

}  // namespace ember
