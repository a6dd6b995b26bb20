// The patch classifier: is there a digit in this 28x28 window, and which?
//
//   0 Conv2d(1, 16, 3)   1 ReLU  2 MaxPool2d(2)    [N, 1, 28, 28] -> [N, 16, 26, 26] -> [N, 16, 13, 13]
//   3 Conv2d(16, 32, 3)  4 ReLU  5 MaxPool2d(2)    -> [N, 32, 11, 11] -> [N, 32, 5, 5]
//   6 Flatten                                      -> [N, 800]
//   7 Linear(800, 128)   8 ReLU                    -> [N, 128]
//   9 Linear(128, 11)                              -> logits [N, 11]: digits 0..9, background
//
// Why no padding: with padding, a convolution at a window's edge sees zeros; in the fully
// convolutional net (fcn.cpp) the same position sees the neighbouring pixels of the scene, and the
// two would disagree. Without padding every output depends only on pixels inside its window. (The
// last pooling floors 11 to 5, so the net reads the window's first 26 rows and columns: its
// receptive field is 26x26, placed at the window's top-left corner.)
//
// The checkpoint (runs/sliding_window/classifier.safetensors) stores these under their Sequential
// names: 0.weight [16, 1, 3, 3], 0.bias [16], 3.weight [32, 16, 3, 3], 3.bias [32] (the features a
// later lesson can reuse as a backbone), 7.weight [128, 800], 7.bias [128], 9.weight [11, 128],
// 9.bias [11] (the dense head).
#include "lessons/sliding_window/lesson.h"

namespace ember::sliding_window {

std::shared_ptr<Sequential> build_classifier(Generator& gen) {
  auto net = std::make_shared<Sequential>();
  net->push_back(std::make_shared<Conv2d>(1, 16, 3, Conv2dLayerOptions{}, &gen));
  net->push_back(std::make_shared<ReLU>());
  net->push_back(std::make_shared<MaxPool2d>(2));
  net->push_back(std::make_shared<Conv2d>(16, 32, 3, Conv2dLayerOptions{}, &gen));
  net->push_back(std::make_shared<ReLU>());
  net->push_back(std::make_shared<MaxPool2d>(2));
  net->push_back(std::make_shared<Flatten>());
  net->push_back(std::make_shared<Linear>(32 * 5 * 5, 128, /*bias=*/true, &gen));
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
