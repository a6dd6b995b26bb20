// The data of the lesson: which files, how they are split, normalised and augmented.
//
// Three sets, each with its own job:
//   train       the images the weights are fitted to
//   validation  the last val_fraction of the training files, never trained on: after each epoch it
//               tells whether the model still improves on images it has not seen. Settings (epochs,
//               dropout, learning rate) are tuned by looking at it.
//   test        the test files, looked at once at the end. A score tuned on the test set is no
//               longer a measure of new data (the hi-score board disqualified such a net).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <tuple>

#include "core/ops.h"
#include "datasets/mnist.h"
#include "datasets/transforms.h"
#include "lessons/mnist/lesson.h"

namespace ember::mnist {

namespace {

// Mean and standard deviation of all pixels of `images` (in double, over every pixel).
std::pair<double, double> pixel_statistics(const Tensor& images) {
  const float* pixels = images.data<float>();
  const int64_t n = images.numel();
  double sum = 0.0, sum_squares = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sum += pixels[i];
    sum_squares += static_cast<double>(pixels[i]) * pixels[i];
  }
  const double mean = sum / static_cast<double>(n);
  const double variance = sum_squares / static_cast<double>(n) - mean * mean;
  return {mean, std::sqrt(std::max(variance, 1e-12))};
}

}  // namespace

LessonData load_data(const Config& cfg, bool split_validation) {
  LessonData data;
  data.dataset = cfg.get_string("dataset");
  if (data.dataset == "mnist" && !has_mnist(cfg.get_string("data_dir"))) {
    // Only the default folder falls back: a folder the user named and got wrong must not quietly
    // give a run on other data.
    check(cfg.get_string("data_dir") == kMnistDir, "mnist: --data_dir=", cfg.get_string("data_dir"),
          " does not hold the MNIST digits: expected train-images-idx3-ubyte, train-labels-idx1-ubyte, "
          "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte there (each may also end in .gz); "
          "scripts/get_mnist.sh downloads them (only the default folder, ",
          kMnistDir, ", falls back to Fashion-MNIST)");
    std::cout << "NOTICE: no MNIST digits in " << cfg.get_string("data_dir")
              << "/ (scripts/get_mnist.sh puts them there; ./run.sh runs it).\n"
              << "NOTICE: training on Fashion-MNIST instead: the same format and sizes, photos of clothes.\n";
    data.dataset = "fashion";
  }
  const bool digits = data.dataset == "mnist";
  data.folder = digits ? cfg.get_string("data_dir") : cfg.get_string("fashion_dir");
  auto load = [&](Split split) {
    return digits ? load_mnist(data.folder, split) : load_fashion_mnist(split, data.folder);
  };

  MnistData test = load(Split::Test);
  check(test.images.size(0) > 0, "mnist: the test split in ", data.folder,
        "/ (the t10k- files) has no images: there would be nothing to score the model on");
  data.title = test.name;
  data.class_names = test.class_names;
  data.test_images = test.images;
  data.test_labels = test.labels;
  if (!split_validation) return data;

  // The last val_fraction of the training files is the validation set (views, no copies).
  MnistData train = load(Split::Train);
  const int64_t n = train.images.size(0);
  check(n >= 2, "mnist: the training split in ", data.folder, "/ (the train- files) has ", n,
        " images: training and validation need at least one each");
  const int64_t n_val = static_cast<int64_t>(std::llround(n * cfg.get_float("val_fraction")));
  check(n_val >= 1 && n_val < n, "mnist: --val_fraction=", cfg.get_float("val_fraction"), " of ", n,
        " training images leaves ", n - n_val, " to train on and ", n_val, " to validate on; both need at least one");
  data.train_images = train.images.slice(0, 0, n - n_val);
  data.train_labels = train.labels.slice(0, 0, n - n_val);
  data.val_images = train.images.slice(0, n - n_val, n);
  data.val_labels = train.labels.slice(0, n - n_val, n);
  std::tie(data.mean, data.std) = pixel_statistics(data.train_images);
  return data;
}

Transform training_transform(const Config& cfg, double mean, double std) {
  std::vector<Transform> steps;
  if (cfg.get_bool("augment")) {
    // Realistic variations only: a digit written a little further left, or a little tilted.
    if (cfg.get_int("max_shift") > 0) steps.push_back(RandomShift{cfg.get_int("max_shift")});
    if (cfg.get_float("rotation") > 0) steps.push_back(RandomRotation{cfg.get_float("rotation")});
    if (cfg.get_bool("hflip")) steps.push_back(RandomHorizontalFlip{0.5});
  }
  steps.push_back(Normalize{{mean}, {std}});  // last: augmentations expect pixels in [0, 1]
  return Compose{steps};
}

}  // namespace ember::mnist
