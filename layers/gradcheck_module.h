#pragma once
// gradcheck_module: is a layer's backward right? Checks the gradient with respect to the input
// (with ember::gradcheck) and with respect to every parameter (perturbing each checked parameter
// element in place by +-eps and comparing (L(+) - L(-)) / 2 eps with what backward() gave), for
// L = sum(module(x) * r) with a fixed random r. For the layers you write yourself:
//
//   MyLayer layer(...);
//   layer.to(DType::Float64);   // finite differences need float64
//   GradcheckResult r = gradcheck_module(layer, Tensor::randn({2, 3, 5, 5}, &gen, DType::Float64));
//   EXPECT_TRUE(r.ok) << r.message;
//
// The module must be deterministic from call to call: use eval() for Dropout. Frozen parameters
// (requires_grad false) and int64 inputs (token ids) are skipped. In the result, `input` is 0 for
// the input and 1 + k for the k-th entry of named_parameters(). Parameter gradients are cleared
// (zero_grad) before returning.
#include "core/gradcheck.h"
#include "layers/module.h"

namespace ember {

GradcheckResult gradcheck_module(Module& module, const Tensor& input, GradcheckOptions opt = {});

}  // namespace ember
