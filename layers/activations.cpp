// Activation layers: each forward is one op; the ops hold the math and the backward
// (core/ops/activations.cpp).
#include "layers/activations.h"

#include "core/ops.h"

namespace ember {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
std::string LeakyReLU::extra_repr() const { return "negative_slope=" + repr_number(negative_slope); }

Tensor GELU::forward(const Tensor& x) { return gelu(x, approximate); }
std::string GELU::extra_repr() const { return approximate ? "approximate=tanh" : ""; }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

}  // namespace ember
