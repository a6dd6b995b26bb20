// The ResNet family (see resnet.h): the option-A shortcut, the block with its three shortcut
// choices, the network, and the named models.
#include "layers/resnet.h"

#include "core/ops.h"
#include "layers/init.h"

namespace ember {

const char* shortcut_name(Shortcut shortcut) {
  switch (shortcut) {
    case Shortcut::A: return "A";
    case Shortcut::B: return "B";
    case Shortcut::None: return "none";
  }
  return "?";
}

// ---- option A ---------------------------------------------------------------------------------------

ZeroPadShortcut::ZeroPadShortcut(int64_t in_channels, int64_t out_channels, int64_t stride)
    : in_channels(in_channels), out_channels(out_channels), stride(stride) {
  check(in_channels > 0 && out_channels >= in_channels && stride > 0,
        "ZeroPadShortcut: needs 0 < in_channels <= out_channels and stride > 0, got ", in_channels, ", ",
        out_channels, ", stride ", stride, " (option A can only add channels)");
}

Tensor ZeroPadShortcut::forward(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == in_channels, "ZeroPadShortcut: expected input [N, ", in_channels,
        ", H, W], got ", shape_str(x.shape()));
  // x[:, :, ::stride, ::stride]: a 1x1 window moved by `stride` averages one pixel, i.e. picks it.
  // [N, C_in, H, W] -> [N, C_in, ceil(H / stride), ceil(W / stride)], the size the block's strided
  // 3x3 convolution (padding 1) gives.
  Tensor kept = stride == 1 ? x : avg_pool2d(x, /*kernel=*/1, stride);
  if (out_channels == in_channels) return kept;
  // the new channels are zeros: [N, C_out - C_in, H', W'], appended after x's channels
  Tensor zeros = Tensor::zeros({kept.size(0), out_channels - in_channels, kept.size(2), kept.size(3)}, x.dtype(),
                               x.device());
  return concat({kept, zeros}, 1);
}

std::string ZeroPadShortcut::extra_repr() const {
  return std::to_string(in_channels) + ", " + std::to_string(out_channels) + ", stride=" + std::to_string(stride);
}

// ---- the block -----------------------------------------------------------------------------------------

ResidualBlock::ResidualBlock(int64_t in_channels, int64_t out_channels, int64_t stride, Shortcut shortcut,
                             Generator* gen)
    : in_channels(in_channels), out_channels(out_channels), stride(stride), shortcut(shortcut) {
  check(in_channels > 0 && out_channels > 0 && stride > 0, "ResidualBlock: channels and stride must be positive, got ",
        in_channels, ", ", out_channels, ", stride ", stride);
  // No bias in the convolutions: the batch norm right after each has its own.
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, out_channels, 3,
      Conv2dLayerOptions{.stride = stride, .padding = 1, .bias = false}, gen));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(out_channels));
  relu1 = register_module("relu1", std::make_shared<ReLU>());
  conv2 = register_module("conv2", std::make_shared<Conv2d>(out_channels, out_channels, 3,
      Conv2dLayerOptions{.stride = 1, .padding = 1, .bias = false}, gen));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(out_channels));
  const bool reshapes = stride != 1 || in_channels != out_channels;
  if (reshapes && shortcut == Shortcut::B) {
    downsample = register_module("downsample", std::make_shared<Sequential>(
        std::make_shared<Conv2d>(in_channels, out_channels, 1,
                                 Conv2dLayerOptions{.stride = stride, .padding = 0, .bias = false}, gen),
        std::make_shared<BatchNorm2d>(out_channels)));
  }
  if (reshapes && shortcut == Shortcut::A) {
    check(out_channels >= in_channels, "ResidualBlock: shortcut A cannot go from ", in_channels, " to ", out_channels,
          " channels (it only appends zero channels); use shortcut B");
    pad_shortcut = register_module("shortcut", std::make_shared<ZeroPadShortcut>(in_channels, out_channels, stride));
  }
  relu2 = register_module("relu2", std::make_shared<ReLU>());
}

Tensor ResidualBlock::forward(const Tensor& x) {
  Tensor out = (*relu1)((*bn1)((*conv1)(x)));  // [N, C_out, H/s, W/s]
  out = (*bn2)((*conv2)(out));                  // same shape
  if (shortcut != Shortcut::None) {
    Tensor skip = downsample ? (*downsample)(x) : pad_shortcut ? (*pad_shortcut)(x) : x;
    out = out + skip;  // the skip connection: its backward gives the gradient to both branches
  }
  return (*relu2)(out);
}

std::string ResidualBlock::extra_repr() const {
  return std::to_string(in_channels) + ", " + std::to_string(out_channels) + ", stride=" + std::to_string(stride) +
         ", shortcut=" + shortcut_name(shortcut);
}

// ---- the network ---------------------------------------------------------------------------------------

ResNet::ResNet(const ResNetConfig& config, Generator* gen) : config(config) {
  check(!config.widths.empty() && config.widths.size() == config.blocks.size(), "ResNet: ", config.widths.size(),
        " widths and ", config.blocks.size(), " block counts; give one of each per layer");
  for (size_t i = 0; i < config.widths.size(); ++i)
    check(config.widths[i] > 0 && config.blocks[i] > 0, "ResNet: layer", i + 1, " has width ", config.widths[i],
          " and ", config.blocks[i], " blocks; both must be positive");
  check(config.num_classes > 0 && config.in_channels > 0, "ResNet: num_classes and in_channels must be positive, got ",
        config.num_classes, " and ", config.in_channels);

  const int64_t stem_width = config.widths[0];
  if (config.stem == Stem::Cifar) {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(config.in_channels, stem_width, 3,
        Conv2dLayerOptions{.stride = 1, .padding = 1, .bias = false}, gen));
  } else {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(config.in_channels, stem_width, 7,
        Conv2dLayerOptions{.stride = 2, .padding = 3, .bias = false}, gen));
  }
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(stem_width));
  relu = register_module("relu", std::make_shared<ReLU>());
  if (config.stem == Stem::ImageNet) maxpool = register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 1));

  // layer k: blocks[k] blocks of widths[k] channels; every layer after the first starts by
  // halving the picture (stride 2) and changing the width
  int64_t channels = stem_width;
  for (size_t k = 0; k < config.widths.size(); ++k) {
    auto layer = std::make_shared<Sequential>();
    for (int64_t b = 0; b < config.blocks[k]; ++b) {
      const int64_t stride = (k > 0 && b == 0) ? 2 : 1;
      layer->push_back(std::make_shared<ResidualBlock>(channels, config.widths[k], stride, config.shortcut, gen));
      channels = config.widths[k];
    }
    layers.push_back(register_module("layer" + std::to_string(k + 1), layer));
  }
  avgpool = register_module("avgpool", std::make_shared<GlobalAvgPool2d>());
  fc = register_module("fc", std::make_shared<Linear>(channels, config.num_classes, /*bias=*/true, gen));

  // torchvision's initialisation: He et al. 2015 for the convolutions (std sqrt(2 / fan_out)); batch
  // norms already start at weight 1, bias 0
  for (auto& [name, module] : named_modules())
    if (auto* conv = dynamic_cast<Conv2d*>(module)) kaiming_normal_(conv->weight, 0.0, FanMode::FanOut, gen);
}

Tensor ResNet::features(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == config.in_channels, "ResNet: expected images [N, ", config.in_channels,
        ", H, W], got ", shape_str(x.shape()));
  Tensor out = (*relu)((*bn1)((*conv1)(x)));
  if (maxpool) out = (*maxpool)(out);
  for (auto& layer : layers) out = (*layer)(out);
  return (*avgpool)(out);  // [N, widths.back()]
}

Tensor ResNet::forward(const Tensor& x) { return (*fc)(features(x)); }

int64_t ResNet::depth() const {
  int64_t blocks = 0;
  for (int64_t b : config.blocks) blocks += b;
  return 1 + 2 * blocks + 1;
}

std::string ResNet::extra_repr() const {
  std::string widths;
  for (int64_t w : config.widths) widths += (widths.empty() ? "" : ", ") + std::to_string(w);
  return "depth=" + std::to_string(depth()) + ", stem=" + (config.stem == Stem::Cifar ? "cifar" : "imagenet") +
         ", widths=[" + widths + "], shortcut=" + shortcut_name(config.shortcut);
}

// ---- the named models -------------------------------------------------------------------------------

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {"resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
                                                 "plain20",  "plain32",  "plain44",  "plain56",  "plain110",
                                                 "resnet18"};
  return names;
}

ResNetConfig model_config(const std::string& name, int64_t num_classes, int64_t in_channels, Shortcut shortcut) {
  ResNetConfig config;
  config.num_classes = num_classes;
  config.in_channels = in_channels;
  config.shortcut = shortcut;
  if (name == "resnet18") {
    config.stem = Stem::ImageNet;
    config.widths = {64, 128, 256, 512};
    config.blocks = {2, 2, 2, 2};
    return config;
  }
  // resnetD / plainD with D = 6n + 2 from the list
  for (const char* family : {"resnet", "plain"}) {
    const std::string prefix = family;
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string depth = name.substr(prefix.size());
    for (int64_t d : {20, 32, 44, 56, 110})
      if (depth == std::to_string(d)) {
        const int64_t n = (d - 2) / 6;
        config.stem = Stem::Cifar;
        config.widths = {16, 32, 64};
        config.blocks = {n, n, n};
        if (prefix == "plain") config.shortcut = Shortcut::None;
        return config;
      }
  }
  std::string known;
  for (const std::string& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  fail("make_model: unknown model '", name, "'; the models are ", known);
}

std::shared_ptr<ResNet> make_model(const std::string& name, int64_t num_classes, int64_t in_channels,
                                   Shortcut shortcut, Generator* gen) {
  return std::make_shared<ResNet>(model_config(name, num_classes, in_channels, shortcut), gen);
}

}  // namespace ember
