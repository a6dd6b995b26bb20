#pragma once
// softplus: a smooth ReLU.
//
//   softplus(x) = log(1 + exp(x))            element-wise; x: any shape -> y: the same shape
//   d softplus / dx = exp(x) / (1 + exp(x)) = sigmoid(x)
//
// For large x, exp(x) overflows (exp(100) is inf in float32): compute it in the stable form
//   softplus(x) = max(x, 0) + log(1 + exp(-|x|))
// which is the same number and never exponentiates anything positive.
#include "core/tensor.h"

namespace exercise {

ember::Tensor softplus(const ember::Tensor& x);

}  // namespace exercise
