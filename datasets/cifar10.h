#pragma once
// CIFAR-10: 60,000 colour photos of 32x32 pixels in 10 classes, 50,000 for training and 10,000 for
// testing. The "binary version" (cifar-10-binary.tar.gz) holds six files of 10,000 records each:
//
//   data_batch_1.bin ... data_batch_5.bin   (train)      test_batch.bin   (test)
//
// A record is 1 + 3072 bytes: the label (0..9), then the red plane (32x32 bytes, row by row), the
// green plane and the blue plane. That is already the [C, H, W] layout, so a record becomes one
// image [3, 32, 32] by dividing each byte by 255.
//
//   Cifar10Data train = load_cifar10("data/cifar10", Split::Train);
//   train.images  float32 [50000, 3, 32, 32] in [0, 1]
//   train.labels  int64 [50000]
#include <string>
#include <vector>

#include "core/tensor.h"
#include "datasets/dataset.h"

namespace ember {

inline constexpr const char* kCifar10Dir = "data/cifar10";

struct Cifar10Data {
  Tensor images;                         // float32 [N, 3, 32, 32] in [0, 1]
  Tensor labels;                         // int64 [N] in 0..9
  std::vector<std::string> class_names;  // class_names[label]
};

// "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"
const std::vector<std::string>& cifar10_class_names();

// Loads the Train (data_batch_1..5.bin) or Test (test_batch.bin) split from `dir`. A missing file
// is an error that says where to get the files and where to put them.
Cifar10Data load_cifar10(const std::string& dir, Split split);

}  // namespace ember
