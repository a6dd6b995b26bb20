// Linear layer: owns W [out, in] and b [out]; forward is the linear op (y = x W^T + b), whose
// backward gives dx = g W, dW = g^T x, db = sum of g's rows (see core/ops/linear.cpp).
#include "layers/linear.h"

#include <cmath>

#include "core/ops.h"
#include "layers/init.h"

namespace ember {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Generator* gen)
    : in_features(in_features), out_features(out_features) {
  check(in_features > 0 && out_features > 0, "Linear: feature counts must be positive, got in_features=",
        in_features, ", out_features=", out_features);
  weight = register_parameter("weight", Tensor::empty({out_features, in_features}));
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::FanIn, gen);  // = U(-1/sqrt(in), 1/sqrt(in))
  if (bias) {
    this->bias = register_parameter("bias", Tensor::empty({out_features}));
    double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    uniform_(this->bias, -bound, bound, gen);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  std::string s = std::to_string(in_features) + ", " + std::to_string(out_features);
  if (!bias.defined()) s += ", bias=false";
  return s;
}

}  // namespace ember
