#pragma once
// The ResNet family (He, Zhang, Ren, Sun: "Deep Residual Learning for Image Recognition", 2016).
//
// A residual block learns a correction to its input, out = relu(F(x) + shortcut(x)), with
// F(x) = bn2(conv2(relu(bn1(conv1(x))))) two 3x3 convolutions. The "+" hands the gradient to the
// earlier layers undiminished, so networks of 100+ layers still train; the same network without
// the "+" (a "plain" network) trains WORSE the deeper it gets (the paper's Figure 6).
//
// When a block halves the picture and widens the channels (stride 2, C -> 2C), x no longer fits
// F(x), and the shortcut has to change shape too. The paper's two options (section 3.3):
//   A  ZeroPadShortcut: take every second pixel of x and append C zero channels. No parameters.
//   B  a 1x1 convolution with stride 2 and batch norm ("downsample", as torchvision names it).
// Blocks whose shape does not change always use the identity.
//
// Two layouts, one class (ResNet):
//
//   CIFAR (section 4.2), for 32x32 inputs: depth 6n + 2 (ResNet-20, 32, 44, 56, 110 for n = 3, 5,
//   7, 9, 18), shortcut A in the paper
//     conv1 3x3, 16 ─ bn1 ─ relu                              [N, 16, 32, 32]
//     layer1: n blocks, 16 channels                           [N, 16, 32, 32]
//     layer2: n blocks, 32 channels, the first with stride 2  [N, 32, 16, 16]
//     layer3: n blocks, 64 channels, the first with stride 2  [N, 64, 8, 8]
//     avgpool (global) ─ fc                                   [N, 64] -> [N, classes]
//   (2 n convolutions per stage, times 3, plus conv1 and fc: 6n + 2 layers with weights.)
//
//   ImageNet-style ResNet-18 (torchvision's layout), for larger images (64x64 and up):
//     conv1 7x7/2, 64 ─ bn1 ─ relu ─ maxpool 3x3/2            [N, 64, H/4, W/4]
//     layer1..layer4: 2 blocks each, 64/128/256/512 channels  [N, 512, H/32, W/32]
//     avgpool (global) ─ fc                                   [N, 512] -> [N, classes]
//
// Parameter names follow torchvision's state dict (conv1.weight, bn1.running_mean,
// layer1.0.conv1.weight, layer2.0.downsample.0.weight, layer2.0.downsample.1.bias, fc.weight, ...),
// so weights exported from PyTorch (scripts/export_torch_backbone.py) load by name with
// load_state_dict. (The ReLUs and pools have no parameters, so their names do not matter.)
//
//   auto model = make_model("resnet20", /*num_classes=*/10, /*in_channels=*/3, Shortcut::A, &gen);
//   Tensor logits = (*model)(images);   // images [N, 3, 32, 32] -> logits [N, 10]
#include <memory>
#include <string>
#include <vector>

#include "layers/activations.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/linear.h"
#include "layers/pool.h"
#include "layers/sequential.h"

namespace ember {

class Generator;

// How a block's input reaches its output (see the top of this file). None: no shortcut at all,
// a plain network.
enum class Shortcut { A, B, None };
const char* shortcut_name(Shortcut shortcut);  // "A", "B", "none"

// Option A: x [N, C_in, H, W] -> [N, C_out, ceil(H / stride), ceil(W / stride)]
//   x[:, :, ::stride, ::stride] (every stride-th pixel, taken by a 1x1 average pool with that
//   stride), then C_out - C_in zero channels appended after the C_in channels of x.
// Built from engine ops (avg_pool2d, concat), so autograd needs nothing new: the gradient of x is
// the output's gradient at the kept pixels of its first C_in channels, 0 elsewhere.
class ZeroPadShortcut : public Module {
 public:
  ZeroPadShortcut(int64_t in_channels, int64_t out_channels, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ZeroPadShortcut"; }
  std::string extra_repr() const override;  // "16, 32, stride=2"

  const int64_t in_channels, out_channels, stride;
};

// The basic residual block with a choice of shortcut (layers/residual.h's BasicBlock is the same
// block with shortcut B, and has the same parameter names):
//
//   x ──> conv1 3x3 (stride) ─> bn1 ─> relu ─> conv2 3x3 ─> bn2 ──(+)──> relu ──> out
//    └───── identity, or when the shape changes: A (zero pad) / B (downsample) ─┘
//
//   x [N, C_in, H, W] -> out [N, C_out, H / stride, W / stride]  (H / stride rounded up)
// With Shortcut::None there is no "+": a plain block, out = relu(bn2(conv2(...))).
class ResidualBlock : public Module {
 public:
  ResidualBlock(int64_t in_channels, int64_t out_channels, int64_t stride, Shortcut shortcut,
                Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return shortcut == Shortcut::None ? "PlainBlock" : "ResidualBlock"; }
  std::string extra_repr() const override;  // "16, 32, stride=2, shortcut=A"

  const int64_t in_channels, out_channels, stride;
  const Shortcut shortcut;
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<ReLU> relu1;
  std::shared_ptr<Conv2d> conv2;
  std::shared_ptr<BatchNorm2d> bn2;
  std::shared_ptr<Sequential> downsample;         // B when the shape changes: conv 1x1 (stride), bn
  std::shared_ptr<ZeroPadShortcut> pad_shortcut;  // A when the shape changes (registered as "shortcut")
  std::shared_ptr<ReLU> relu2;
};

enum class Stem {
  Cifar,     // conv1 3x3 stride 1, bn, relu: keeps 32x32
  ImageNet,  // conv1 7x7 stride 2, bn, relu, maxpool 3x3 stride 2: a quarter of the size
};

struct ResNetConfig {
  Stem stem = Stem::Cifar;
  std::vector<int64_t> widths = {16, 32, 64};  // channels of layer1, layer2, ...; conv1 has widths[0]
  std::vector<int64_t> blocks = {3, 3, 3};     // blocks in each layer (n = 3: ResNet-20)
  Shortcut shortcut = Shortcut::A;
  int64_t num_classes = 10;
  int64_t in_channels = 3;
};

class ResNet : public Module {
 public:
  // Weights as torchvision initialises them: convolutions kaiming_normal_ (fan_out, ReLU gain),
  // batch norms weight 1 and bias 0, fc as Linear's default; all drawn from `gen`.
  explicit ResNet(const ResNetConfig& config, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [N, in_channels, H, W] -> [N, num_classes]
  // Everything before fc: [N, in_channels, H, W] -> [N, widths.back()], the features a new head
  // is trained on in transfer learning.
  Tensor features(const Tensor& x);
  std::string type_name() const override { return "ResNet"; }
  std::string extra_repr() const override;  // "depth=20, stem=cifar, widths=[16, 32, 64], shortcut=A"
  // Layers with weights: the convolutions on the main path, plus fc (20 for ResNet-20, 18 for
  // ResNet-18; the 1x1 shortcut convolutions are not counted, as in the paper).
  int64_t depth() const;

  const ResNetConfig config;
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<MaxPool2d> maxpool;          // ImageNet stem only
  std::vector<std::shared_ptr<Sequential>> layers;  // "layer1", "layer2", ...: Sequentials of ResidualBlock
  std::shared_ptr<GlobalAvgPool2d> avgpool;
  std::shared_ptr<Linear> fc;
};

// The named models: resnet20, resnet32, resnet44, resnet56, resnet110 (CIFAR layout with
// `shortcut`), plain20, plain32, plain44, plain56, plain110 (the same without shortcuts; `shortcut`
// is ignored), resnet18 (ImageNet layout with `shortcut`; B gives torchvision's parameter names).
// An unknown name is an error listing these.
std::shared_ptr<ResNet> make_model(const std::string& name, int64_t num_classes = 10, int64_t in_channels = 3,
                                   Shortcut shortcut = Shortcut::A, Generator* gen = nullptr);
const std::vector<std::string>& model_names();

// The configuration make_model builds for `name` (to change a width before building, say).
ResNetConfig model_config(const std::string& name, int64_t num_classes = 10, int64_t in_channels = 3,
                          Shortcut shortcut = Shortcut::A);

}  // namespace ember
