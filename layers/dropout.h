#pragma once
// Dropout: in training, zeroes each element with probability p and scales the survivors by
// 1 / (1 - p), so the expected value is unchanged and eval needs no rescaling; in eval mode
// (model.eval()) it is the identity.
//
//   x: any shape -> same shape
#include "layers/module.h"

namespace ember {

class Generator;

class Dropout : public Module {
 public:
  // The masks are drawn from `gen` (nullptr: the default generator, which manual_seed() resets).
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;  // "p=0.2"

  const double p;

 private:
  Generator* gen_;
};

}  // namespace ember
