// Your layer: RMSNorm (the maths and the shapes are in rms_norm.h).
//
// A layer in ember (see layers/layernorm.cpp, layers/module.h):
//   - the constructor registers what the layer learns: weight = register_parameter("weight", ...);
//   - forward() computes the output from ops; autograd records them, so there is no backward to write.
#include "rms_norm.h"

#include "core/error.h"
#include "core/ops.h"

namespace exercise {

using namespace ember;

RMSNorm::RMSNorm(int64_t dim_, double eps_) : dim(dim_), eps(eps_) {
  check(dim > 0, "RMSNorm: dim must be positive, got ", dim);
  // ---- your code here: register the parameter "weight", shape [dim], all ones ----
}

std::string RMSNorm::extra_repr() const { return std::to_string(dim) + ", eps=" + repr_number(eps); }

Tensor RMSNorm::forward(const Tensor& x) {
  check(x.dim() >= 1 && x.size(-1) == dim, "RMSNorm: input ", shape_str(x.shape()), " should end in ", dim,
        " features");
  // ---- your code here: y = x / rms * weight ----
  return x;
}

}  // namespace exercise
