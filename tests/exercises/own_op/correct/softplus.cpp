// tests/exercises: exercises/own_op/softplus.cpp filled in correctly (test data: its tests pass).
// Your op: softplus, forward and backward (the maths is in softplus.h).
//
// The shape of every op in ember (see core/ops/activations.cpp for relu, sigmoid, tanh):
//   1. compute the output from detached inputs, so the forward itself records no graph;
//   2. record() the op: its inputs, and a backward function that turns dL/dy (g, shaped like y)
//      into dL/dx (shaped like x).
// Ops you can use: relu, abs, exp, log, sigmoid, +, -, *, / (declared in core/ops.h).
#include "softplus.h"

#include "core/ops.h"

namespace exercise {

using namespace ember;

Tensor softplus(const Tensor& x) {
  Tensor x_saved = x.detach();  // what the backward needs; shares x's data, not its history

  // ---- forward: your code here (y = softplus(x_saved), in the stable form) ----
  Tensor y = relu(x_saved) + log(1.0 + exp(-abs(x_saved)));

  record(y, "softplus", {x}, [x_saved](const Tensor& g) {
    // ---- backward: your code here (dx = dL/dx from g = dL/dy and x_saved) ----
    Tensor dx = g * sigmoid(x_saved);
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace exercise
