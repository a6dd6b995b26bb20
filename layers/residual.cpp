// BasicBlock: out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). The "+" is the add op,
// whose backward hands the same gradient to both branches: that is the skip connection's gift.
#include "layers/residual.h"

#include "core/ops.h"

namespace ember {

BasicBlock::BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride, Generator* gen)
    : in_channels(in_channels), out_channels(out_channels), stride(stride) {
  check(stride > 0, "BasicBlock: stride must be positive, got ", stride);
  // The convolutions have no bias: the batch norm right after them has its own.
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, out_channels, 3,
      Conv2dLayerOptions{.stride = stride, .padding = 1, .bias = false}, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(out_channels));
  relu1 = register_module("relu1", std::make_shared<ReLU>());
  conv2 = register_module("conv2", std::make_shared<Conv2d>(out_channels, out_channels, 3,
      Conv2dLayerOptions{.stride = 1, .padding = 1, .bias = false}, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(out_channels));
  if (stride != 1 || in_channels != out_channels) {
    downsample = register_module("downsample", std::make_shared<Sequential>(
        std::make_shared<Conv2d>(in_channels, out_channels, 1,
                                 Conv2dLayerOptions{.stride = stride, .padding = 0, .bias = false}, gen),
        std::make_shared<BatchNorm2d>(out_channels)));
  }
  relu2 = register_module("relu2", std::make_shared<ReLU>());
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = (*relu1)((*bn1)((*conv1)(x)));     // [N, C_out, H/s, W/s]
  out = (*bn2)((*conv2)(out));                     // same shape
  Tensor shortcut = downsample ? (*downsample)(x) : x;
  return (*relu2)(out + shortcut);
}

std::string BasicBlock::extra_repr() const {
  return std::to_string(in_channels) + ", " + std::to_string(out_channels) + ", stride=" + std::to_string(stride);
}

}  // namespace ember
