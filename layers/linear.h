#pragma once
// Linear (fully connected) layer: y = x W^T + b.
//
//   x: [..., in_features] -> y: [..., out_features]
//   weight: [out_features, in_features] (PyTorch's layout), bias: [out_features]
//
// The op (core/ops/linear.cpp) does the work as one GEMM and checks the shapes:
//   "linear: input has 784 features, layer expects 100 (...)".
#include "layers/module.h"

namespace ember {

class Generator;

class Linear : public Module {
 public:
  // Initialised as PyTorch's: weight and bias U(-1/sqrt(in_features), 1/sqrt(in_features)), drawn
  // from `gen` (nullptr: the default generator).
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* gen = nullptr);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;  // "784, 100" or "784, 100, bias=false"

  const int64_t in_features, out_features;
  Tensor weight;
  Tensor bias;  // undefined when built with bias=false
};

}  // namespace ember
