// The two tasks. Source: many labelled images of something else (Fashion-MNIST's clothes, or
// CIFAR-10's photos in grey). Target: the handwritten digits, of which we pretend to have only a
// few labelled ones per class - the situation transfer learning is for.
#include <algorithm>
#include <iostream>
#include <numeric>

#include "core/ops.h"
#include "datasets/cifar_fallback.h"
#include "datasets/mnist.h"
#include "lessons/transfer/lesson.h"

namespace ember::transfer {

namespace {

LabelledImages first_rows(const Tensor& images, const Tensor& labels, int64_t limit) {
  if (limit <= 0 || limit >= images.size(0)) return {images, labels};
  return {images.slice(0, 0, limit), labels.slice(0, 0, limit)};
}

}  // namespace

Tensor grey_28(const Tensor& rgb) {
  check(rgb.dim() == 4 && rgb.size(1) == 3, "grey_28: expected RGB images [N, 3, H, W], got ", shape_str(rgb.shape()));
  const int64_t n = rgb.size(0), plane = rgb.size(2) * rgb.size(3);
  Tensor grey = Tensor::empty({n, 1, rgb.size(2), rgb.size(3)});
  const float* in = rgb.data<float>();
  float* out = grey.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* r = in + i * 3 * plane;
    for (int64_t p = 0; p < plane; ++p)
      out[i * plane + p] = 0.299f * r[p] + 0.587f * r[plane + p] + 0.114f * r[2 * plane + p];
  }
  return resize(grey, 28, 28);
}

SourceData load_source(const Config& cfg) {
  SourceData source;
  std::string name = cfg.get_string("source");
  if (name == "auto") name = has_cifar10(cfg.get_string("cifar_dir")) ? "cifar10" : "fashion";
  source.name = name;
  const int64_t limit = cfg.get_int("pretrain_images");
  if (name == "cifar10") {
    source.folder = cfg.get_string("cifar_dir");
    source.title = "CIFAR-10 in grey at 28x28";
    Cifar10Data train = load_cifar10(source.folder, Split::Train);
    Cifar10Data test = load_cifar10(source.folder, Split::Test);
    LabelledImages kept = first_rows(train.images, train.labels, limit);
    source.train = {grey_28(kept.images), kept.labels};
    LabelledImages test_kept = first_rows(test.images, test.labels, 2000);
    source.test = {grey_28(test_kept.images), test_kept.labels};
  } else {
    source.folder = cfg.get_string("fashion_dir");
    source.title = "Fashion-MNIST";
    MnistData train = load_fashion_mnist(Split::Train, source.folder);
    MnistData test = load_fashion_mnist(Split::Test, source.folder);
    source.train = first_rows(train.images, train.labels, limit);
    source.test = first_rows(test.images, test.labels, 2000);
  }
  return source;
}

TargetData load_target(const Config& cfg) {
  TargetData target;
  target.folder = cfg.get_string("target_dir");
  check(has_mnist(target.folder), "transfer: --target_dir=", target.folder,
        " does not hold the MNIST digits (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte, each may end in .gz): scripts/get_mnist.sh puts them into data/mnist");
  MnistData train = load_mnist(target.folder, Split::Train);
  MnistData test = load_mnist(target.folder, Split::Test);
  const int64_t n = train.images.size(0), n_val = cfg.get_int("val_images");
  check(n_val < n, "transfer: --val_images=", n_val, " leaves none of the ", n, " training digits of ", target.folder,
        " to draw shots from");
  target.pool = {train.images.slice(0, 0, n - n_val), train.labels.slice(0, 0, n - n_val)};
  target.val = {train.images.slice(0, n - n_val, n), train.labels.slice(0, n - n_val, n)};
  target.test = first_rows(test.images, test.labels, cfg.get_int("test_images"));
  return target;
}

LabelledImages take_shots(const LabelledImages& pool, int64_t shots, int64_t num_classes, uint64_t seed) {
  const int64_t n = pool.images.size(0);
  if (shots == 0) return pool;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.randint(0, i + 1)]);
  const int64_t* labels = pool.labels.data<int64_t>();
  std::vector<int64_t> taken_per_class(num_classes, 0), chosen;
  for (int64_t i : order) {
    const int64_t k = labels[i];
    check(k >= 0 && k < num_classes, "transfer: target label ", k, " of example ", i, " is outside 0..", num_classes - 1);
    if (taken_per_class[k] < shots) {
      ++taken_per_class[k];
      chosen.push_back(i);
    }
  }
  for (int64_t k = 0; k < num_classes; ++k)
    check(taken_per_class[k] == shots, "transfer: --shots=", shots, " asks for ", shots, " images of class ", k,
          ", but the training digits have only ", taken_per_class[k]);
  std::sort(chosen.begin(), chosen.end());
  const Tensor index = Tensor::from_vector(chosen, {static_cast<int64_t>(chosen.size())});
  return {index_select(pool.images, index), index_select(pool.labels, index)};
}

}  // namespace ember::transfer
