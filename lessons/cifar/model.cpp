// The models of the lesson, and how they are trained.
//
// resnet20 ... resnet110, plain20, plain56, resnet18: layers/resnet.h (the paper's CIFAR ResNets
// with 6n + 2 layers, the same nets without shortcuts, and the ImageNet-layout ResNet-18).
//
// cnn: a small VGG-style net, about a quarter of ResNet-20's arithmetic, for quick runs:
//   Conv2d(C, 32, 3, pad 1) BN ReLU MaxPool2d(2)     [N, 32, 16, 16]
//   Conv2d(32, 64, 3, pad 1) BN ReLU MaxPool2d(2)    [N, 64, 8, 8]
//   Conv2d(64, 128, 3, pad 1) BN ReLU MaxPool2d(2)   [N, 128, 4, 4]
//   GlobalAvgPool2d, Linear(128, K)                  [N, 128] -> logits [N, K]
//
// Batch-norm placement (the same in every model here): convolution -> batch norm -> ReLU. The
// convolution before a batch norm has no bias (the batch norm subtracts the mean and adds its own).
// In a residual block the second batch norm comes before the "+", the last ReLU after it, so the
// shortcut carries x unchanged and the block starts near the identity.
#include <algorithm>

#include "core/ops.h"
#include "layers/resnet.h"
#include "lessons/cifar/lesson.h"
#include "lessons/common/device.h"

namespace ember::cifar {

namespace {

std::shared_ptr<Sequential> small_cnn(int64_t num_classes, int64_t in_channels, Generator& gen) {
  auto net = std::make_shared<Sequential>();
  int64_t channels = in_channels;
  for (int64_t width : {32, 64, 128}) {
    net->push_back(std::make_shared<Conv2d>(channels, width, 3, Conv2dLayerOptions{.padding = 1, .bias = false}, &gen));
    net->push_back(std::make_shared<BatchNorm2d>(width));
    net->push_back(std::make_shared<ReLU>());
    net->push_back(std::make_shared<MaxPool2d>(2));
    channels = width;
  }
  net->push_back(std::make_shared<GlobalAvgPool2d>());
  net->push_back(std::make_shared<Linear>(channels, num_classes, /*bias=*/true, &gen));
  return net;
}

}  // namespace

std::shared_ptr<Module> build_model(const Config& cfg, int64_t num_classes, int64_t in_channels, Generator& gen) {
  const std::string& name = cfg.get_string("model");
  if (name == "cnn") return small_cnn(num_classes, in_channels, gen);
  const Shortcut shortcut = cfg.get_string("shortcut") == "B" ? Shortcut::B : Shortcut::A;
  return make_model(name, num_classes, in_channels, shortcut, &gen);
}

std::string display_name(const std::string& model) {
  if (model == "cnn") return "CNN";
  if (model.rfind("resnet", 0) == 0) return "ResNet-" + model.substr(6);
  if (model.rfind("plain", 0) == 0) return "Plain-" + model.substr(5);
  return model;
}

int64_t model_depth(const Module& model) {
  if (const auto* resnet = dynamic_cast<const ResNet*>(&model)) return resnet->depth();
  int64_t layers = 0;  // the cnn: its convolutions and its linear layer
  for (const auto& [name, p] : model.named_parameters()) layers += p.dim() >= 2;
  return layers;
}

std::unique_ptr<Optimizer> build_optimizer(const Config& cfg, const Module& model) {
  // Weight decay on the conv and linear weights; biases and batch-norm scales are left alone.
  std::vector<ParamGroup> groups = param_groups_no_decay_for_1d(model.named_parameters(), cfg.get_float("weight_decay"));
  const double lr = cfg.get_float("lr");
  if (cfg.get_string("optimizer") == "sgd")
    return std::make_unique<SGD>(
        groups, SGDOptions{.lr = lr, .momentum = cfg.get_float("momentum"), .nesterov = cfg.get_bool("nesterov")});
  return std::make_unique<AdamW>(groups, AdamWOptions{.lr = lr});
}

std::function<double(int64_t)> build_schedule(const Config& cfg, int64_t total_steps) {
  const double lr = cfg.get_float("lr"), min_lr = cfg.get_float("min_lr");
  const int64_t warmup = std::min(cfg.get_int("warmup_steps"), total_steps / 2);
  const std::string schedule = cfg.get_string("schedule");
  return [=](int64_t it) {
    if (it < warmup) return lr * static_cast<double>(it + 1) / static_cast<double>(warmup + 1);
    if (schedule == "constant") return lr;
    if (schedule == "step") {
      // He et al.: 0.1, divided by 10 at 32k and 48k of 64k iterations (50% and 75%).
      if (2 * it < total_steps) return lr;
      if (4 * it < 3 * total_steps) return lr * 0.1;
      return lr * 0.01;
    }
    CosineAnnealing cosine{.base_lr = lr, .total_iters = std::max<int64_t>(1, total_steps - warmup), .min_lr = min_lr};
    return cosine(it - warmup);
  };
}

WeightAverage::WeightAverage(Module& model, std::shared_ptr<Module> shadow, double decay)
    : source_(model), shadow_(std::move(shadow)), decay_(decay) {
  shadow_->to(model_device(source_));  // the average lives where the model does (--device)
  shadow_->load_state_dict(source_.state_dict());
  shadow_->requires_grad(false);  // never trained, only averaged
  source_params_ = source_.parameters();
  shadow_params_ = shadow_->parameters();
  check(source_params_.size() == shadow_params_.size(), "WeightAverage: the model has ", source_params_.size(),
        " parameters and the average ", shadow_params_.size(), " (they must be the same architecture)");
}

void WeightAverage::update() {
  NoGradGuard no_grad;
  // A young average would still remember the random initial weights: the decay grows to its
  // setting over the first steps, (1 + t) / (10 + t), as TensorFlow's ExponentialMovingAverage does.
  ++updates_;
  const double decay = std::min(decay_, (1.0 + static_cast<double>(updates_)) / (10.0 + static_cast<double>(updates_)));
  for (size_t i = 0; i < source_params_.size(); ++i) {
    if (source_params_[i].device() == Device::CUDA) {  // the same average with GPU ops
      shadow_params_[i].copy_(shadow_params_[i] * decay + source_params_[i] * (1.0 - decay));
      continue;
    }
    const float* w = source_params_[i].data<float>();
    float* avg = shadow_params_[i].data<float>();
    const int64_t n = source_params_[i].numel();
    for (int64_t j = 0; j < n; ++j) avg[j] = static_cast<float>(decay * avg[j] + (1.0 - decay) * w[j]);
  }
}

void WeightAverage::copy_buffers() {
  NoGradGuard no_grad;
  StateDict shadow_state = shadow_->state_dict();
  for (const auto& [name, buffer] : source_.named_buffers()) shadow_state.at(name).copy_(buffer);
}

}  // namespace ember::cifar
