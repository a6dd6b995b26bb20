// LayerNorm layer: owns weight/bias [D]; the layer_norm op (core/ops/layer_norm.cpp) holds the
// forward and backward.
#include "layers/layernorm.h"

#include "core/ops.h"

namespace ember {

LayerNorm::LayerNorm(int64_t normalized_shape, double eps, bool elementwise_affine, bool bias)
    : normalized_shape(normalized_shape), eps(eps), elementwise_affine(elementwise_affine) {
  check(normalized_shape > 0, "LayerNorm: normalized_shape must be positive, got ", normalized_shape);
  check(eps > 0, "LayerNorm: eps must be positive, got ", eps);
  if (elementwise_affine) {
    weight = register_parameter("weight", Tensor::ones({normalized_shape}));
    if (bias) this->bias = register_parameter("bias", Tensor::zeros({normalized_shape}));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  check(x.dim() >= 1 && x.size(-1) == normalized_shape, name(), ": input's last dimension must be ",
        normalized_shape, ", got input ", shape_str(x.shape()));
  return layer_norm(x, weight, bias, eps);
}

std::string LayerNorm::extra_repr() const {
  std::string s = std::to_string(normalized_shape) + ", eps=" + repr_number(eps);
  if (!elementwise_affine) s += ", elementwise_affine=false";
  else if (!bias.defined()) s += ", bias=false";
  return s;
}

}  // namespace ember
