// The data of the lesson: which photos, how they are split, normalised and augmented.
//
//   CIFAR-10     data/cifar10/ (scripts/get_cifar10.sh): 50,000 train + 10,000 test, 32x32 RGB
//   fallback     no CIFAR-10 in the default folder: Fashion-MNIST padded to 32x32 and repeated to
//                RGB (datasets/cifar_fallback.h), said loudly first and in metrics.json
//   --data=DIR   a folder of photos, one sub-folder per class (datasets/image_folder.h), resized
//                to --image_size
//
// Train / validation / test as in the MNIST lesson: the last val_fraction of the training images
// is the validation set (CIFAR-10: 45,000 / 5,000), the test set is looked at once, at the end.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

#include "core/ops.h"
#include "datasets/cifar_fallback.h"
#include "datasets/image_folder.h"
#include "datasets/transforms.h"
#include "lessons/cifar/lesson.h"

namespace ember::cifar {

namespace {

// The first `limit` rows of a set (0: all of them).
Tensor first_rows(const Tensor& t, int64_t limit) {
  return limit > 0 && limit < t.size(0) ? t.slice(0, 0, limit) : t;
}

}  // namespace

LessonData load_data(const Config& cfg, bool split_validation) {
  LessonData data;
  Tensor train_images, train_labels;
  bool shuffle_before_split = false;
  if (!cfg.get_string("data").empty()) {
    // Your own photos. A folder lists its examples class by class, so the validation part is taken
    // after a seeded shuffle (the last 10% of a sorted list would be one class only).
    const std::string root = cfg.get_string("data");
    ImageFolderOptions options;
    options.height = options.width = cfg.get_int("image_size");
    options.channels = 3;
    options.test_fraction = cfg.get_float("test_fraction");
    ImageFolderData folder = load_image_folder(root, options);
    data.dataset = "folder";
    data.title = "folder " + root;
    data.source = root;
    data.class_names = folder.train.class_names;
    data.test_images = folder.test.images;
    data.test_labels = folder.test.labels;
    train_images = folder.train.images;
    train_labels = folder.train.labels;
    shuffle_before_split = true;
  } else {
    const std::string dir = cfg.get_string("data_dir");
    Cifar10Data test, train;
    if (has_cifar10(dir)) {
      data.dataset = "cifar10";
      data.title = "CIFAR-10";
      data.source = dir;
      test = load_cifar10(dir, Split::Test);
      if (split_validation) train = load_cifar10(dir, Split::Train);
    } else {
      // Only the default folder falls back: a folder the user named and got wrong must not quietly
      // give a run on other data.
      check(dir == kCifar10Dir, "cifar: --data_dir=", dir,
            " does not hold CIFAR-10: expected data_batch_1.bin ... data_batch_5.bin and test_batch.bin there "
            "(scripts/get_cifar10.sh fetches them; only the default folder, ",
            kCifar10Dir, ", falls back to Fashion-MNIST)");
      data.dataset = "fashion-fallback";
      data.title = "Fashion-MNIST as 32x32 RGB (fallback, not CIFAR-10)";
      data.source = cfg.get_string("fashion_dir");
      data.notice = {
          "NOTICE: " + cifar10_fallback_notice(dir),
          "NOTICE: to train on the real CIFAR-10, put data_batch_1.bin ... data_batch_5.bin and test_batch.bin "
          "(from cifar-10-binary.tar.gz) into " +
              dir + "/, or run scripts/get_cifar10.sh where there is internet.",
      };
      test = load_fashion_mnist_as_cifar(Split::Test, data.source);
      if (split_validation) train = load_fashion_mnist_as_cifar(Split::Train, data.source);
    }
    data.class_names = test.class_names;
    data.test_images = test.images;
    data.test_labels = test.labels;
    train_images = train.images;
    train_labels = train.labels;
  }
  data.test_images = first_rows(data.test_images, cfg.get_int("test_images"));
  data.test_labels = first_rows(data.test_labels, cfg.get_int("test_images"));
  check(data.test_images.size(0) > 0, "cifar: the test split of ", data.source,
        " has no images: there would be nothing to score the model on");
  const int64_t channels = data.test_images.size(1);
  data.mean.assign(channels, 0.0);
  data.std.assign(channels, 1.0);
  if (!split_validation) return data;

  const int64_t n = train_images.size(0);
  check(n >= 2, "cifar: the training split of ", data.source, " has ", n,
        " images: training and validation need at least one each");
  if (shuffle_before_split) {
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    Generator gen(0x5eed);  // a fixed split: the same validation images for every --seed and --resume
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.randint(0, i + 1)]);
    const Tensor index = Tensor::from_vector(order, {n});
    train_images = index_select(train_images, index);
    train_labels = index_select(train_labels, index);
  }
  const int64_t n_val = static_cast<int64_t>(std::llround(n * cfg.get_float("val_fraction")));
  check(n_val >= 1 && n_val < n, "cifar: --val_fraction=", cfg.get_float("val_fraction"), " of ", n,
        " training images leaves ", n - n_val, " to train on and ", n_val, " to validate on; both need at least one");
  data.train_images = first_rows(train_images.slice(0, 0, n - n_val), cfg.get_int("train_images"));
  data.train_labels = first_rows(train_labels.slice(0, 0, n - n_val), cfg.get_int("train_images"));
  data.val_images = train_images.slice(0, n - n_val, n);
  data.val_labels = train_labels.slice(0, n - n_val, n);
  if (cfg.get_string("normalize") == "dataset") {
    ChannelStats stats = channel_mean_std(data.train_images);
    data.mean = stats.mean;
    data.std = stats.std;
    for (double& s : data.std) s = std::max(s, 1e-6);  // a constant channel (a grey fallback's) stays finite
  }
  return data;
}

Transform augmentation(const Config& cfg) {
  std::vector<Transform> steps;
  if (cfg.get_bool("augment")) {
    // What a photo of the same object could also look like: framed a little differently (crop),
    // seen in a mirror (flip), in other light (colour jitter), partly hidden (cutout).
    const int64_t size = cfg.get_int("image_size");
    const std::string& mode = cfg.get_string("padding_mode");
    const PadMode pad_mode = mode == "reflect" ? PadMode::Reflect : mode == "edge" ? PadMode::Edge : PadMode::Zero;
    if (cfg.get_int("crop_padding") > 0) steps.push_back(RandomCrop{size, cfg.get_int("crop_padding"), pad_mode});
    if (cfg.get_bool("hflip")) steps.push_back(RandomHorizontalFlip{0.5});
    const double jitter = cfg.get_float("color_jitter");
    if (jitter > 0) steps.push_back(ColorJitter{jitter, jitter, jitter, 0.0});
    if (cfg.get_int("cutout") > 0) steps.push_back(Cutout{cfg.get_int("cutout"), 1.0});
  }
  return Compose{steps};
}

Transform training_transform(const Config& cfg, const std::vector<double>& mean, const std::vector<double>& std) {
  // Normalisation last: the augmentations expect pixels in [0, 1].
  return Compose{{augmentation(cfg), Normalize{mean, std}}};
}

}  // namespace ember::cifar
