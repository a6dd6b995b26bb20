#pragma once
// BasicBlock: the residual block of ResNet-18/34 (He et al., 2015).
//
//   x ──> conv3x3(stride) ─> bn ─> relu ─> conv3x3 ─> bn ──(+)──> relu ──> out
//    └────────────── shortcut (identity, or conv1x1(stride) + bn) ─┘
//
//   x: [N, C_in, H, W] -> out: [N, C_out, H / stride, W / stride]
//
// The block learns a correction F(x) to its input, out = relu(F(x) + x): when the best thing is
// to change little, F only has to stay near 0, and the gradient reaches early layers through the
// "+" undiminished. When the shape changes (stride != 1 or C_in != C_out) the shortcut is a 1x1
// convolution with batch norm ("downsample", torchvision's name) that makes x the right shape.
#include "layers/activations.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/sequential.h"

namespace ember {

class Generator;

class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride = 1, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }
  std::string extra_repr() const override;  // "16, 32, stride=2"

  const int64_t in_channels, out_channels, stride;
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<ReLU> relu1;
  std::shared_ptr<Conv2d> conv2;
  std::shared_ptr<BatchNorm2d> bn2;
  std::shared_ptr<Sequential> downsample;  // null when the shortcut is the identity
  std::shared_ptr<ReLU> relu2;
};

}  // namespace ember
