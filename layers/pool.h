#pragma once
// Pooling layers: no parameters, they shrink the picture.
//
//   MaxPool2d / AvgPool2d: x [N, C, H, W] -> [N, C, OH, OW],
//                          OH = (H + 2 padding - kernel) / stride + 1 (the same for OW)
//   GlobalAvgPool2d:       x [N, C, H, W] -> [N, C], the mean of each channel's picture
//                          (what a ResNet puts before its classifier)
//
// The ops are in core/ops/pool.cpp.
#include "layers/module.h"

namespace ember {

class MaxPool2d : public Module {
 public:
  // stride 0 means stride = kernel_size (windows side by side, as PyTorch's default)
  explicit MaxPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;  // "kernel=2, stride=2, padding=0"

  const int64_t kernel_size, stride, padding;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;

  const int64_t kernel_size, stride, padding;
};

class GlobalAvgPool2d : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GlobalAvgPool2d"; }
};

}  // namespace ember
