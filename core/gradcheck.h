#pragma once
// gradcheck: is an op's backward right? Compares the gradients that backward() computes with
// central finite differences,
//     dL/dx_i  ~  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps),
// in float64 (float32 finite differences are too noisy to be a test).
//
// For an output y that is not a scalar, L = sum(y * r) with a fixed random r, so every output
// element's gradient is exercised. Use it on your own ops:
//
//   auto f = [](const std::vector<Tensor>& in) { return my_op(in[0], in[1]); };
//   GradcheckResult r = gradcheck(f, {Tensor::randn({3, 4}), Tensor::randn({4})});
//   if (!r.ok) std::cout << r.message;
//
// Inputs are copied to float64 leaves that require grad (int64 inputs, such as labels, are passed
// through unchanged). fn must be deterministic: seed any randomness inside it.
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  int64_t max_elements_per_input = 400;  // check a seeded random subset of larger inputs
  uint64_t seed = 0;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // a one-line summary; names the worst element when it fails
  // The worst element seen (largest error relative to the tolerance):
  int64_t input = -1, index = -1;
  double analytic = 0, numeric = 0, error = 0;
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt = {});

}  // namespace ember
