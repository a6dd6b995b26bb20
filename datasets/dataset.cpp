#include "datasets/dataset.h"

#include "core/parallel.h"

namespace ember {

const char* split_name(Split split) {
  switch (split) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
  }
  return "?";
}

TensorDataset::TensorDataset(Tensor images, Tensor labels) : images_(std::move(images)), labels_(std::move(labels)) {
  check(images_.defined() && labels_.defined(), "TensorDataset: images or labels are undefined");
  check(images_.dim() >= 1, "TensorDataset: images must be [N, ...], got a scalar");
  check(images_.dtype() == DType::Float32, "TensorDataset: images must be float32, got ", dtype_name(images_.dtype()),
        " (shape ", shape_str(images_.shape()), ")");
  check(labels_.dim() == 1 && labels_.dtype() == DType::Int64, "TensorDataset: labels must be int64 [N], got ",
        dtype_name(labels_.dtype()), " ", shape_str(labels_.shape()));
  check(labels_.size(0) == images_.size(0), "TensorDataset: ", images_.size(0), " images (shape ",
        shape_str(images_.shape()), ") but ", labels_.size(0), " labels (shape ", shape_str(labels_.shape()), ")");
  // Images that require grad would make every get() record a graph node; a dataset is data.
  images_ = images_.detach();
  labels_ = labels_.detach();
  example_shape_ = Shape(images_.shape().begin() + 1, images_.shape().end());
}

int64_t TensorDataset::size() const { return images_.size(0); }

Example TensorDataset::get(int64_t index) const {
  check(index >= 0 && index < size(), "TensorDataset: index ", index, " is out of range for ", size(), " examples");
  // Slicing along the first dimension is a view into the same memory; reshape drops the 1.
  Tensor image = images_.slice(0, index, index + 1).reshape(example_shape_);
  return Example{image, labels_.data<int64_t>()[index]};
}

void pixels_to_floats(const uint8_t* pixels, int64_t count, float* out) {
  parallel_for(0, count, 1 << 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = static_cast<float>(pixels[i]) / 255.0f;
  });
}

}  // namespace ember
