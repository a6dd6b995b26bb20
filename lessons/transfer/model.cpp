// The network and the three regimes. A CNN's convolutions learn features (edges, strokes,
// textures, parts) that are useful far beyond the task they were trained on; only the last layer
// (the head) is about that task's classes. Transfer learning keeps the first part (the backbone)
// and trains a new head for the new classes:
//
//   frozen    backbone fixed, only the head learns (a linear probe): fast, needs very little data,
//             limited by how well the old features suit the new task
//   finetune  backbone starts from the pretrained weights and moves a little (a small learning
//             rate), the new head moves freely: usually the best with some data
//   scratch   the baseline: the same network from random weights
#include <vector>

#include "core/ops.h"
#include "lessons/common/device.h"
#include "lessons/transfer/lesson.h"

namespace ember::transfer {

TransferNet::TransferNet(int64_t width, int64_t num_classes, Generator& gen) : width(width) {
  auto features = std::make_shared<Sequential>();
  int64_t channels = 1;
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t out = width << stage;  // w, 2w, 4w
    features->push_back(std::make_shared<Conv2d>(channels, out, 3, Conv2dLayerOptions{.padding = 1, .bias = false}, &gen));
    features->push_back(std::make_shared<BatchNorm2d>(out));
    features->push_back(std::make_shared<ReLU>());
    if (stage < 2) features->push_back(std::make_shared<MaxPool2d>(2));
    channels = out;
  }
  features->push_back(std::make_shared<GlobalAvgPool2d>());
  backbone = register_module("backbone", features);
  head = register_module("head", std::make_shared<Linear>(channels, num_classes, /*bias=*/true, &gen));
}

Tensor TransferNet::forward(const Tensor& x) { return (*head)((*backbone)(x)); }

StateDict backbone_state(const TransferNet& net) { return net.backbone->state_dict(); }

void prepare_regime(TransferNet& net, const std::string& regime, const StateDict& pretrained) {
  check(regime == "scratch" || regime == "frozen" || regime == "finetune", "transfer: unknown regime '", regime,
        "' (scratch, frozen or finetune)");
  if (regime == "scratch") return;
  net.backbone->load_state_dict(pretrained);  // strict: every tensor of the backbone, of the same shape
  // A frozen parameter records no gradient, so backward() never computes one for it, and the
  // optimizer (which only gets the head) cannot move it.
  if (regime == "frozen") net.backbone->requires_grad(false);
}

void adapt_batch_norm(TransferNet& net, const Tensor& images, int64_t batch_size) {
  check(images.dim() == 4 && images.size(0) > 1, "adapt_batch_norm: expected at least 2 images [N, C, H, W], got ",
        shape_str(images.shape()));
  NoGradGuard no_grad;
  const bool was_training = net.backbone->is_training();
  net.backbone->eval();  // the layers before each batch norm use the statistics already re-estimated
  const Device device = model_device(net);  // --device: the images go where the network is
  const Sequential& layers = *net.backbone;
  for (size_t j = 0; j < layers.size(); ++j) {
    auto bn = std::dynamic_pointer_cast<BatchNorm>(layers[j]);
    if (!bn) continue;
    const int64_t channels = bn->num_features;
    std::vector<double> sum(channels, 0.0), squares(channels, 0.0);
    int64_t count = 0;  // values per channel: N * H * W
    for (int64_t begin = 0; begin < images.size(0); begin += batch_size) {
      Tensor x = images.slice(0, begin, std::min(begin + batch_size, images.size(0))).to(device);
      for (size_t k = 0; k < j; ++k) x = (*layers[k])(x);  // the input of batch norm j: [B, C, H, W]
      x = x.cpu();  // summed on the CPU
      const int64_t b = x.size(0), plane = x.numel() / (b * channels);
      const float* p = x.data<float>();
      for (int64_t i = 0; i < b; ++i)
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t q = 0; q < plane; ++q) {
            const double v = p[(i * channels + c) * plane + q];
            sum[c] += v;
            squares[c] += v * v;
          }
      count += b * plane;
    }
    // written on the CPU: into the buffers themselves there, into copies sent back on the GPU
    Tensor cpu_mean = bn->running_mean.cpu(), cpu_var = bn->running_var.cpu();
    float* mean = cpu_mean.data<float>();
    float* var = cpu_var.data<float>();
    const double n = static_cast<double>(count);
    for (int64_t c = 0; c < channels; ++c) {
      const double m = sum[c] / n;
      mean[c] = static_cast<float>(m);
      var[c] = static_cast<float>(std::max(squares[c] / n - m * m, 0.0) * n / (n - 1.0));  // unbiased
    }
    if (bn->running_mean.device() != Device::CPU) {
      bn->running_mean.copy_(cpu_mean);
      bn->running_var.copy_(cpu_var);
    }
  }
  if (was_training) net.backbone->train();
}

std::unique_ptr<Optimizer> regime_optimizer(TransferNet& net, const std::string& regime, double lr,
                                            double backbone_lr_scale, double weight_decay) {
  std::vector<ParamGroup> groups;
  auto add = [&](const Module& part, double group_lr) {
    for (ParamGroup& g : param_groups_no_decay_for_1d(part.named_parameters(), weight_decay)) {
      if (g.params.empty()) continue;
      g.lr = group_lr;
      groups.push_back(g);
    }
  };
  if (regime == "finetune") {
    add(*net.backbone, lr * backbone_lr_scale);  // small steps: the features are already good
    add(*net.head, lr);
  } else if (regime == "frozen") {
    add(*net.head, lr);  // the backbone is not even handed to the optimizer
  } else {
    add(net, lr);
  }
  return std::make_unique<AdamW>(groups, AdamWOptions{.lr = lr});
}

}  // namespace ember::transfer
