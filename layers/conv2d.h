#pragma once
// 2-D convolution layer.
//
//   x: [N, C_in, H, W] -> y: [N, C_out, OH, OW]
//   weight: [C_out, C_in, K, K], bias: [C_out]
//   OH = (H + 2 padding - dilation (K - 1) - 1) / stride + 1   (the same for OW)
//
// The op (core/ops/conv2d.cpp) does the work (im2col + GEMM) and its backward.
#include "layers/module.h"

namespace ember {

class Generator;

// Conv2d(3, 16, 3, {.stride = 1, .padding = 1}) or, without bias, {.padding = 1, .bias = false}.
struct Conv2dLayerOptions {
  int64_t stride = 1, padding = 0, dilation = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  // Initialised as PyTorch's: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
  // fan_in = in_channels * K * K, drawn from `gen` (nullptr: the default generator).
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dLayerOptions opt = {},
         Generator* gen = nullptr);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;  // "3, 16, kernel=3, stride=1, padding=1"

  const int64_t in_channels, out_channels, kernel_size;
  const Conv2dLayerOptions options;
  Tensor weight;
  Tensor bias;  // undefined when built with bias=false
};

}  // namespace ember
