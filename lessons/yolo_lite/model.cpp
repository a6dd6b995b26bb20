// The detector: a small fully convolutional network (YOLO-LITE's recipe: few, thin layers, so it
// runs on a CPU) whose last layer is a 1x1 convolution with B (5 + K) output channels. Each of the
// S x S output positions is a grid cell and its channels are the cell's B predictions.
//
// With the defaults, canvas 96, grid 6 (four poolings, 96 / 2^4 = 6), width 8:
//
//   backbone.0-3   Conv2d(1, 8, 3, pad 1)    BatchNorm2d  LeakyReLU(0.1)  MaxPool2d(2)  [N, 8, 48, 48]
//   backbone.4-7   Conv2d(8, 16, 3, pad 1)   BatchNorm2d  LeakyReLU(0.1)  MaxPool2d(2)  [N, 16, 24, 24]
//   backbone.8-11  Conv2d(16, 32, 3, pad 1)  BatchNorm2d  LeakyReLU(0.1)  MaxPool2d(2)  [N, 32, 12, 12]
//   backbone.12-15 Conv2d(32, 64, 3, pad 1)  BatchNorm2d  LeakyReLU(0.1)  MaxPool2d(2)  [N, 64, 6, 6]
//   backbone.16-18 Conv2d(64, 64, 3, pad 1)  BatchNorm2d  LeakyReLU(0.1)                [N, 64, 6, 6]
//   backbone.19-21 Conv2d(64, 64, 3, pad 1)  BatchNorm2d  LeakyReLU(0.1)                [N, 64, 6, 6]
//   head           Conv2d(64, B (5 + K), 1)                                             [N, B (5 + K), 6, 6]
//
// --stem_kernel=5 makes the first two convolutions 5x5 (padding 2), the shape of the sliding-window
// classifier's, so that --init_backbone can start them from it (init_backbone.cpp).
//
// The two convolutions at the grid's resolution let a cell see far enough (a receptive field of
// about 110 pixels) to measure a digit that is larger than the cell. Channels double after every
// pooling (the usual trade: half the resolution, twice the features) up to 8 x width. The
// convolutions before a batch norm have no bias (the batch norm's shift does that job).
#include <cmath>

#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

ModelShape model_shape(const Config& cfg, int64_t channels, int64_t classes) {
  return ModelShape{.channels = channels,
                    .canvas = cfg.get_int("canvas"),
                    .grid = cfg.get_int("grid"),
                    .anchors = cfg.get_int("anchors"),
                    .classes = classes,
                    .width = cfg.get_int("width"),
                    .stem_kernel = cfg.get_int("stem_kernel")};
}

namespace {

// A k x k convolution with padding k / 2 (odd k): the output has the input's size.
void add_conv_block(Sequential& net, int64_t in, int64_t out, Generator& gen, int64_t kernel = 3) {
  net.push_back(
      std::make_shared<Conv2d>(in, out, kernel, Conv2dLayerOptions{.padding = kernel / 2, .bias = false}, &gen));
  net.push_back(std::make_shared<BatchNorm2d>(out));
  net.push_back(std::make_shared<LeakyReLU>(0.1));  // YOLO's slope: negative inputs still pass a little gradient
}

}  // namespace

YoloLite::YoloLite(const ModelShape& s, Generator& gen) : shape(s) {
  check(s.stem_kernel >= 1 && s.stem_kernel % 2 == 1, "YoloLite: the first convolutions' kernel must be odd (",
        "padding k / 2 keeps the size), got ", s.stem_kernel);
  check(s.grid >= 1 && s.canvas % s.grid == 0, "YoloLite: the canvas (", s.canvas, ") must be a multiple of the grid (",
        s.grid, ")");
  int64_t poolings = 0;
  for (int64_t stride = s.canvas / s.grid; stride > 1; stride /= 2) {
    check(stride % 2 == 0, "YoloLite: canvas / grid = ", s.canvas / s.grid,
          " must be a power of two (each pooling halves the picture)");
    ++poolings;
  }
  backbone = register_module("backbone", std::make_shared<Sequential>());
  int64_t channels = s.channels, out = s.width;
  for (int64_t p = 0; p < poolings; ++p) {
    add_conv_block(*backbone, channels, out, gen, p < 2 ? s.stem_kernel : 3);
    backbone->push_back(std::make_shared<MaxPool2d>(2));
    channels = out;
    out = std::min(out * 2, s.width * 8);
  }
  for (int i = 0; i < 2; ++i) add_conv_block(*backbone, channels, channels, gen);
  head = register_module(
      "head", std::make_shared<Conv2d>(channels, s.anchors * (5 + s.classes), 1, Conv2dLayerOptions{}, &gen));
  // Start by predicting "no object" almost everywhere: objectness bias log(0.01 / 0.99), so that
  // sigmoid(to) = 0.01 (RetinaNet's prior). Otherwise the thousands of empty cells start at 0.5 and
  // their no-object loss swamps the first steps.
  float* bias = head->bias.data<float>();
  for (int64_t a = 0; a < s.anchors; ++a) bias[a * (5 + s.classes) + 4] = static_cast<float>(std::log(0.01 / 0.99));
}

Tensor YoloLite::forward(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == shape.channels && x.size(2) == shape.canvas && x.size(3) == shape.canvas,
        "YoloLite: expected images [N, ", shape.channels, ", ", shape.canvas, ", ", shape.canvas, "], got ",
        shape_str(x.shape()));
  return (*head)((*backbone)(x));
}

std::unique_ptr<Optimizer> build_optimizer(const Config& cfg, const Module& model) {
  std::vector<ParamGroup> groups = param_groups_no_decay_for_1d(model.named_parameters(), cfg.get_float("weight_decay"));
  const double lr = cfg.get_float("lr");
  if (cfg.get_string("optimizer") == "sgd")
    return std::make_unique<SGD>(groups, SGDOptions{.lr = lr, .momentum = 0.9, .nesterov = true});
  return std::make_unique<AdamW>(groups, AdamWOptions{.lr = lr});
}

std::function<double(int64_t)> build_schedule(const Config& cfg, int64_t total_steps) {
  const double lr = cfg.get_float("lr");
  if (cfg.get_string("schedule") == "constant") return [lr](int64_t) { return lr; };
  WarmupCosine cosine{.max_lr = lr,
                      .min_lr = cfg.get_float("min_lr"),
                      .warmup_iters = std::min(cfg.get_int("warmup_steps"), total_steps / 2),
                      .lr_decay_iters = total_steps};
  return cosine;
}

}  // namespace ember::yolo
