// The two models of the lesson, and how they are trained.
//
// MLP: every pixel is an input of its own; the network has to learn separately that a stroke at
// (5, 7) and the same stroke at (5, 8) mean the same thing.
//
//   Flatten                [N, 784]
//   Linear(784, 256) ReLU  [N, 256]
//   Linear(256, 128) ReLU  [N, 128]
//   Dropout, Linear(128, 10)  -> logits [N, 10]
//
// CNN: small 3x3 filters slide over the image, so a stroke detector learnt in one place works
// everywhere (weight sharing); pooling halves the picture and keeps the strongest response, which
// makes small shifts matter less. Fewer weights per layer, better accuracy.
//
//   Conv2d(1, 32, 3, padding 1)  ReLU  MaxPool2d(2)   [N, 32, 28, 28] -> [N, 32, 14, 14]
//   Conv2d(32, 64, 3, padding 1) ReLU  MaxPool2d(2)   [N, 64, 14, 14] -> [N, 64, 7, 7]
//   Flatten                                           [N, 3136]
//   Linear(3136, 128) ReLU                            [N, 128]
//   Dropout, Linear(128, 10)                          -> logits [N, 10]
//
// --batchnorm puts a BatchNorm after each conv and hidden linear layer (before the ReLU); the layer
// before it then needs no bias, since the batch norm subtracts the mean anyway.
#include "lessons/mnist/lesson.h"

namespace ember::mnist {

namespace {

// A linear or conv layer's output, then [batch norm], then ReLU.
void add_activation(Sequential& net, int64_t channels, bool batchnorm, bool image) {
  if (batchnorm && image) net.push_back(std::make_shared<BatchNorm2d>(channels));
  if (batchnorm && !image) net.push_back(std::make_shared<BatchNorm1d>(channels));
  net.push_back(std::make_shared<ReLU>());
}

}  // namespace

std::shared_ptr<Sequential> build_model(const Config& cfg, Generator& gen) {
  const bool bn = cfg.get_bool("batchnorm");
  const double dropout = cfg.get_float("dropout");
  auto net = std::make_shared<Sequential>();
  if (cfg.get_string("model") == "cnn") {
    net->push_back(std::make_shared<Conv2d>(1, 32, 3, Conv2dLayerOptions{.padding = 1, .bias = !bn}, &gen));
    add_activation(*net, 32, bn, /*image=*/true);
    net->push_back(std::make_shared<MaxPool2d>(2));
    net->push_back(std::make_shared<Conv2d>(32, 64, 3, Conv2dLayerOptions{.padding = 1, .bias = !bn}, &gen));
    add_activation(*net, 64, bn, /*image=*/true);
    net->push_back(std::make_shared<MaxPool2d>(2));
    net->push_back(std::make_shared<Flatten>());
    net->push_back(std::make_shared<Linear>(64 * 7 * 7, 128, /*bias=*/!bn, &gen));
    add_activation(*net, 128, bn, /*image=*/false);
  } else {
    net->push_back(std::make_shared<Flatten>());
    net->push_back(std::make_shared<Linear>(28 * 28, 256, /*bias=*/!bn, &gen));
    add_activation(*net, 256, bn, /*image=*/false);
    net->push_back(std::make_shared<Linear>(256, 128, /*bias=*/!bn, &gen));
    add_activation(*net, 128, bn, /*image=*/false);
  }
  if (dropout > 0) net->push_back(std::make_shared<Dropout>(dropout, &gen));
  net->push_back(std::make_shared<Linear>(128, 10, /*bias=*/true, &gen));
  return net;
}

std::unique_ptr<Optimizer> build_optimizer(const Config& cfg, const Module& model) {
  // Weight decay pulls weights towards 0; biases and batch-norm scales are left alone (nanoGPT's
  // rule: only tensors of 2 or more dimensions decay).
  std::vector<ParamGroup> groups = param_groups_no_decay_for_1d(model.named_parameters(), cfg.get_float("weight_decay"));
  const double lr = cfg.get_float("lr");
  if (cfg.get_string("optimizer") == "sgd") {
    const double momentum = cfg.get_float("momentum");
    return std::make_unique<SGD>(groups, SGDOptions{.lr = lr, .momentum = momentum, .nesterov = momentum > 0});
  }
  return std::make_unique<AdamW>(groups, AdamWOptions{.lr = lr});
}

std::function<double(int64_t)> build_schedule(const Config& cfg, int64_t total_steps) {
  const double lr = cfg.get_float("lr");
  if (cfg.get_string("schedule") == "constant") return [lr](int64_t) { return lr; };
  // Warm up gently (the first steps of fresh weights give the largest gradients), then follow half
  // a cosine down to min_lr at the last step. A short run keeps at least half its steps for the cosine.
  WarmupCosine cosine{.max_lr = lr,
                      .min_lr = cfg.get_float("min_lr"),
                      .warmup_iters = std::min(cfg.get_int("warmup_steps"), total_steps / 2),
                      .lr_decay_iters = total_steps};
  return cosine;
}

}  // namespace ember::mnist
