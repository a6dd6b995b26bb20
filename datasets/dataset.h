#pragma once
// Dataset: what a DataLoader reads examples from. A dataset knows how many examples it has and
// returns one by index; the DataLoader shuffles the indices, groups them into batches and stacks
// the images.
//
//   TensorDataset train(mnist.images, mnist.labels);   // images [N, 1, 28, 28], labels [N]
//   Example e = train.get(0);                          // e.image [1, 28, 28], e.label 5
//
// Images are float32 with values in [0, 1] (Normalize comes later, as a transform); labels are
// class indices.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember {

// Which part of a dataset: MNIST and CIFAR-10 have Train and Test; a text corpus has Train and Val.
enum class Split { Train, Val, Test };
const char* split_name(Split split);  // "train", "val", "test"

// One example: an image [C, H, W] (float32) and its class index.
struct Example {
  Tensor image;
  int64_t label = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // The example at `index` in [0, size()). Called from the DataLoader's worker thread, so it must
  // not change shared state (reading preloaded tensors is fine).
  virtual Example get(int64_t index) const = 0;
};

// A dataset over preloaded tensors: images [N, ...] float32 and labels [N] int64.
// get(i) returns a view of image i (no copy): transforms make new tensors, never change it.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor images, Tensor labels);
  int64_t size() const override;
  Example get(int64_t index) const override;

  const Tensor& images() const { return images_; }
  const Tensor& labels() const { return labels_; }

 private:
  Tensor images_, labels_;
  Shape example_shape_;  // images_'s shape without the first dimension
};

// count pixel bytes 0..255 -> floats in [0, 1] (divided by 255). The MNIST and CIFAR-10 loaders
// share it.
void pixels_to_floats(const uint8_t* pixels, int64_t count, float* out);

}  // namespace ember
