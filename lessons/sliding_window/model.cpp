// The patch classifier: is there a digit in this 28x28 window, and which?
//
//   0 Conv2d(1, 16, 5)   1 ReLU  2 MaxPool2d(2)    [N, 1, 28, 28] -> [N, 16, 24, 24] -> [N, 16, 12, 12]
//   3 Conv2d(16, 32, 5)  4 ReLU  5 MaxPool2d(2)    -> [N, 32, 8, 8] -> [N, 32, 4, 4]
//   6 Flatten                                      -> [N, 512]
//   7 Linear(512, 128)   8 ReLU                    -> [N, 128]
//   9 Linear(128, 11)                              -> logits [N, 11]: digits 0..9, background
//
// Why no padding: with padding, a convolution at a window's edge sees zeros; in the fully
// convolutional net (fcn.cpp) the same position sees the neighbouring pixels of the scene, and the
// two would disagree. Without padding every output depends only on pixels inside its window. The
// sizes are chosen so that the receptive field is exactly the window: a 5x5 convolution sees 5
// pixels, the pooling after it 6, the second convolution 6 + 4 * 2 = 14, the pooling 16, and the
// first Linear, a 4x4 block of positions 4 pixels apart, 16 + 3 * 4 = 28.
//
// The checkpoint (runs/sliding_window/classifier.safetensors) stores these under their Sequential
// names: 0.weight [16, 1, 5, 5], 0.bias [16], 3.weight [32, 16, 5, 5], 3.bias [32] (the features a
// later lesson can reuse as a backbone), 7.weight [128, 512], 7.bias [128], 9.weight [11, 128],
// 9.bias [11] (the dense head).
#include "lessons/sliding_window/lesson.h"

namespace ember::sliding_window {

std::shared_ptr<Sequential> build_classifier(Generator& gen) {
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<Conv2d>(1, 16, 5, Conv2dLayerOptions{}, &gen));
  net->push_back(std::make_shared<ReLU>());
  net->push_back(std::make_shared<MaxPool2d>(2));
  net->push_back(std::make_shared<Conv2d>(16, 32, 5, Conv2dLayerOptions{}, &gen));
  net->push_back(std::make_shared<ReLU>());
  net->push_back(std::make_shared<MaxPool2d>(2));
  net->push_back(std::make_shared<Flatten>());
  net->push_back(std::make_shared<Linear>(32 * 4 * 4, 128, /*bias=*/true, &gen));
  net->push_back(std::make_shared<ReLU>());
  net->push_back(std::make_shared<Linear>(128, kNumOutputs, /*bias=*/true, &gen));
  return net;
}

std::unique_ptr<Optimizer> build_optimizer(const Config& cfg, const Module& model) {
  // AdamW, weight decay on the weights of convolutions and linear layers only (not on biases).
  std::vector<ParamGroup> groups = param_groups_no_decay_for_1d(model.named_parameters(), 0.01);
  return std::make_unique<AdamW>(groups, AdamWOptions{.lr = cfg.get_float("lr")});
}

}  // namespace ember::sliding_window
