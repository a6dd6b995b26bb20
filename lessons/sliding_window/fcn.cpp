// From a classifier of 28x28 patches to a network that scores every window of a scene in one pass.
//
// The classifier ends in dense layers:
//
//   features: convolutions and poolings           [N, 1, 28, 28] -> [N, 32, 4, 4]
//   Flatten                                       [N, 32, 4, 4]  -> [N, 512]     index c*16 + y*4 + x
//   Linear(512, 128)  y[o] = b[o] + sum over (c, y, x) of W[o, c*16 + y*4 + x] * f[c, y, x]
//   ReLU, Linear(128, 11)
//
// A 4x4 convolution with 32 input channels computes, at each output position (i, j),
//
//   z[o, i, j] = b[o] + sum over (c, y, x) of K[o, c, y, x] * f[c, i + y, j + x]
//
// which is the Linear's sum when K[o, c, y, x] = W[o, c*16 + y*4 + x]: the same numbers, read as
// [128, 32, 4, 4] instead of [128, 512] (a reshape, because Flatten laid them out in that order). On
// a 4x4 feature map the convolution has one output position, the Linear's output. On a larger feature
// map it slides: position (i, j) sees the 4x4 block that a 28x28 window at (4i, 4j) of the input would
// have produced, because the convolutions and poolings before it already slid over the whole input.
// Later Linear layers act on one position's 128 numbers: a 1x1 convolution, weight [11, 128, 1, 1].
//
// The total stride is how far the window moves between neighbouring outputs: each pooling halves the
// map, so one step in the [.., 4, 4] map is 2 * 2 = 4 input pixels. The fully convolutional net's
// output [1, 11, rows, cols] is therefore the classifier's logits for the windows at (4i, 4j): the
// sliding window at stride 4, computed once for all windows (the convolutions over a pixel that many
// windows share are done once, not once per window).
#include "core/ops.h"
#include "lessons/common/device.h"
#include "lessons/sliding_window/lesson.h"

namespace ember::sliding_window {

std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::shared_ptr<Conv2d> linear_to_conv(const Linear& fc, int64_t channels, int64_t kernel_size) {
  check(channels >= 1 && kernel_size >= 1 && fc.in_features == channels * kernel_size * kernel_size,
        "linear_to_conv: Linear(", fc.in_features, ", ", fc.out_features, ") takes ", fc.in_features,
        " inputs, but ", channels, " channels of ", kernel_size, "x", kernel_size, " are ",
        channels * kernel_size * kernel_size, " (the shape Flatten received must be [", channels, ", ",
        kernel_size, ", ", kernel_size, "])");
  const bool has_bias = fc.bias.defined();
  Generator unused(0);  // the constructor draws initial weights; they are overwritten below
  auto conv = std::make_shared<Conv2d>(channels, fc.out_features, kernel_size,
                                       Conv2dLayerOptions{.stride = 1, .padding = 0, .bias = has_bias}, &unused);
  // Linear weight [out, C*k*k] -> convolution weight [out, C, k, k]: the same numbers in the same order.
  StateDict weights;
  weights.insert("weight", fc.weight.detach().reshape({fc.out_features, channels, kernel_size, kernel_size}));
  if (has_bias) weights.insert("bias", fc.bias.detach());
  conv->to(fc.weight.device());     // where the Linear is (--device=cuda: the GPU)
  conv->load_state_dict(weights);  // copies them
  return conv;
}

std::shared_ptr<Sequential> make_fully_convolutional(Sequential& classifier, int64_t patch) {
  auto fcn = std::make_shared<Sequential>();
  // Run a zero patch through the classifier, layer by layer, to learn the shape each layer receives.
  NoGradGuard no_grad;
  const bool was_training = classifier.is_training();
  classifier.eval();
  Tensor x = Tensor::zeros({1, 1, patch, patch}).to(model_device(classifier));  // where the classifier is
  Shape flattened;  // what Flatten received: [1, C, k, k]
  bool after_flatten = false, first_linear = true;
  for (size_t i = 0; i < classifier.size(); ++i) {
    std::shared_ptr<Module> layer = classifier[i];
    if (auto flatten = std::dynamic_pointer_cast<Flatten>(layer)) {
      check(!after_flatten && x.dim() == 4, "make_fully_convolutional: layer ", i,
            " is a Flatten, but the input it receives is ", shape_text(x.shape()),
            " (expected one Flatten of [N, C, H, W] feature maps)");
      flattened = x.shape();
      check(flattened[2] == flattened[3], "make_fully_convolutional: Flatten receives ", shape_text(flattened),
            ": its feature map must be square (Conv2d kernels here are square)");
      after_flatten = true;
    } else if (auto fc = std::dynamic_pointer_cast<Linear>(layer)) {
      check(after_flatten, "make_fully_convolutional: layer ", i, " is a Linear before any Flatten");
      if (first_linear) {
        fcn->push_back(linear_to_conv(*fc, flattened[1], flattened[2]));  // k x k over the feature map
        first_linear = false;
      } else {
        fcn->push_back(linear_to_conv(*fc, fc->in_features, 1));  // 1x1: the same Linear at every position
      }
    } else {
      // Convolutions, poolings, activations, dropout: they work on maps of any size, so the fully
      // convolutional net uses the very same modules (and weights).
      fcn->push_back(layer);
    }
    x = (*layer)(x);
  }
  classifier.train(was_training);
  check(after_flatten && !first_linear, "make_fully_convolutional: the classifier has no Flatten followed by "
        "a Linear: there is no dense head to convert");
  fcn->train(was_training);
  return fcn;
}

int64_t total_stride(Sequential& net) {
  int64_t stride = 1;
  for (size_t i = 0; i < net.size(); ++i) {
    if (auto conv = std::dynamic_pointer_cast<Conv2d>(net[i])) stride *= conv->options.stride;
    if (auto pool = std::dynamic_pointer_cast<MaxPool2d>(net[i])) stride *= pool->stride;
    if (auto pool = std::dynamic_pointer_cast<AvgPool2d>(net[i])) stride *= pool->stride;
  }
  return stride;
}

}  // namespace ember::sliding_window
