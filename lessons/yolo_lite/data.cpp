// The data of the lesson: scenes of real handwritten digits, each digit with the tight box of its
// ink (datasets/detection.h, generate_digit_scenes), or a YOLO-format folder (--data=FOLDER).
//
// Three sets, each with its own job, and no digit image in two of them:
//   train       scenes pasted from the first 90% of the MNIST training digits: the weights and the
//               anchors (k-means) are fitted to these
//   validation  scenes from the last 10% of the training digits: after each epoch, mAP on these says
//               whether the detector still improves; settings are tuned by looking at it
//   test        scenes from the MNIST test digits, looked at once at the end (the score)
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "core/fs.h"
#include "datasets/mnist.h"
#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

namespace {

SceneOptions scene_options(const Config& cfg) {
  SceneOptions o;
  o.canvas_min = o.canvas_max = cfg.get_int("canvas");
  o.objects_min = cfg.get_int("objects_min");
  o.objects_max = cfg.get_int("objects_max");
  // A digit is 28 pixels with about 20 of ink: the scale range keeps its box between ~12 pixels
  // and about half the canvas.
  o.scale_min = cfg.get_float("scale_min");
  o.scale_max = cfg.get_float("scale_max");
  o.max_overlap = cfg.get_float("max_overlap");
  return o;
}

// Scenes from the source images rows [begin, end) of `sources`, drawn from a generator of their own.
DetectionSet scenes_from(const MnistData& sources, int64_t begin, int64_t end, int64_t count,
                         const SceneOptions& options, uint64_t seed) {
  Generator gen(seed);
  return generate_digit_scenes(sources.images.slice(0, begin, end), sources.labels.slice(0, begin, end),
                               sources.class_names, count, options, gen);
}

// The seed of epoch `epoch`'s training scenes: a multiple of 3 (the validation and test scenes use
// data_seed * 3 + 1 and + 2), different for every epoch.
uint64_t training_seed(uint64_t seed, int64_t epoch) {
  return seed * 3 + static_cast<uint64_t>(epoch - 1) * 3 * 1000003;
}

// --data=FOLDER: every image resized to the canvas (boxes scaled along).
DetectionSet folder_set(const std::string& folder, const Config& cfg) {
  DetectionSet set = read_yolo_folder(folder, /*channels=*/1);
  check(!set.images.empty(), "yolo_lite: --data: ", folder, "/images has no images");
  for (DetectionImage& image : set.images) image = resize_detection_image(image, cfg.get_int("canvas"));
  return set;
}

}  // namespace

LessonData load_data(const Config& cfg, bool training) {
  LessonData data;
  const std::string folder = cfg.get_string("data");
  if (!folder.empty()) {
    check(std::filesystem::is_directory(folder + "/train") || !training, "yolo_lite: --data=", folder,
          " should hold train/ (and test/, optionally val/), each with images/ and labels/ in YOLO format");
    check(std::filesystem::is_directory(folder + "/test"), "yolo_lite: --data=", folder, " has no test/ folder (images/ and labels/)");
    data.dataset = "folder:" + folder;
    data.source = folder;
    data.test = folder_set(folder + "/test", cfg);
    data.class_names = data.test.class_names;
    if (!training) return data;
    data.train = folder_set(folder + "/train", cfg);
    if (std::filesystem::is_directory(folder + "/val")) {
      data.val = folder_set(folder + "/val", cfg);
    } else {  // the last tenth of train/ (at least one image) validates
      const size_t n_val = std::max<size_t>(1, data.train.images.size() / 10);
      check(data.train.images.size() >= 2, "yolo_lite: --data=", folder,
            "/train has 1 image: training and validation need one each (or add a val/ folder)");
      data.val.class_names = data.train.class_names;
      data.val.images.assign(data.train.images.end() - static_cast<std::ptrdiff_t>(n_val), data.train.images.end());
      data.train.images.resize(data.train.images.size() - n_val);
    }
    check(data.train.class_names == data.test.class_names && data.val.class_names == data.test.class_names,
          "yolo_lite: --data=", folder, ": train/, val/ and test/ name different classes");
    return data;
  }

  // Generated scenes: real digits, or Fashion-MNIST items when the digits are missing.
  const std::string digits_dir = cfg.get_string("data_dir");
  const bool digits = has_mnist(digits_dir);
  if (!digits) {
    check(digits_dir == kMnistDir, "yolo_lite: --data_dir=", digits_dir,
          " does not hold the MNIST files (train-images-idx3-ubyte, ...); scripts/get_mnist.sh downloads them");
    std::cout << "NOTICE: no MNIST digits in " << digits_dir << "/ (scripts/get_mnist.sh puts them there).\n"
              << "NOTICE: the scenes are made of Fashion-MNIST items instead (clothes, not digits): "
              << "the figures in the README are for digits.\n";
  }
  data.dataset = digits ? "mnist_scenes" : "fashion_scenes";
  data.source = digits ? digits_dir : std::string(kFashionMnistDir);
  auto load = [&](Split split) {
    return digits ? load_mnist(digits_dir, split) : load_fashion_mnist(split, kFashionMnistDir);
  };
  const SceneOptions options = scene_options(cfg);
  const uint64_t seed = static_cast<uint64_t>(cfg.get_int("seed"));
  // The test scenes depend on the data seed only, never on --seed: every run is scored on the same scenes.
  const uint64_t data_seed = static_cast<uint64_t>(cfg.get_int("data_seed"));
  MnistData test_sources = load(Split::Test);
  data.class_names = test_sources.class_names;
  data.test = scenes_from(test_sources, 0, test_sources.images.size(0), cfg.get_int("scenes_test"), options,
                          data_seed * 3 + 2);
  if (!training) return data;
  MnistData train_sources = load(Split::Train);
  const int64_t n = train_sources.images.size(0), n_val = n / 10;
  check(n_val >= 1, "yolo_lite: ", data.source, " has ", n, " training images: too few to set a tenth aside");
  data.train = scenes_from(train_sources, 0, n - n_val, cfg.get_int("scenes_train"), options, training_seed(seed, 1));
  data.train_sources = train_sources.images.slice(0, 0, n - n_val);
  data.train_labels = train_sources.labels.slice(0, 0, n - n_val);
  data.scene_options = options;
  data.val = scenes_from(train_sources, n - n_val, n, cfg.get_int("scenes_val"), options, data_seed * 3 + 1);
  return data;
}

DetectionSet fresh_training_scenes(const LessonData& data, const Config& cfg, int64_t epoch) {
  if (epoch <= 1 || !data.train_sources.defined()) return data.train;
  Generator gen(training_seed(static_cast<uint64_t>(cfg.get_int("seed")), epoch));
  return generate_digit_scenes(data.train_sources, data.train_labels, data.class_names,
                               static_cast<int64_t>(data.train.images.size()), data.scene_options, gen);
}

Tensor stack_images(const DetectionSet& set, size_t begin, size_t end) {
  check(begin < end && end <= set.images.size(), "stack_images: images [", begin, ", ", end, ") of ",
        set.images.size());
  const Shape& shape = set.images[begin].image.shape();
  const int64_t per_image = shape_numel(shape);
  Tensor batch = Tensor::empty({static_cast<int64_t>(end - begin), shape[0], shape[1], shape[2]});
  float* out = batch.data<float>();
  for (size_t i = begin; i < end; ++i) {
    const Tensor& image = set.images[i].image;
    check(image.shape() == shape, "stack_images: image ", set.images[i].name, " is ", shape_str(image.shape()),
          ", the first one ", shape_str(shape), " (resize them to one canvas)");
    const Tensor f = image.to(DType::Float32);
    std::copy(f.data<float>(), f.data<float>() + per_image, out + (i - begin) * per_image);
  }
  return batch;
}

DetectionImage resize_detection_image(const DetectionImage& in, int64_t side) {
  const int64_t channels = in.image.size(0), height = in.image.size(1), width = in.image.size(2);
  DetectionImage out;
  out.name = in.name;
  out.image = Tensor::empty({channels, side, side});
  const Tensor src_tensor = in.image.to(DType::Float32);
  const float* src = src_tensor.data<float>();
  float* dst = out.image.data<float>();
  const double sx = static_cast<double>(width) / static_cast<double>(side);
  const double sy = static_cast<double>(height) / static_cast<double>(side);
  // bilinear, pixel centres aligned: output pixel (x, y) reads the source at ((x + 0.5) s - 0.5)
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = 0; y < side; ++y) {
      const double fy = std::clamp((static_cast<double>(y) + 0.5) * sy - 0.5, 0.0, static_cast<double>(height - 1));
      const int64_t y0 = static_cast<int64_t>(fy), y1 = std::min(y0 + 1, height - 1);
      for (int64_t x = 0; x < side; ++x) {
        const double fx = std::clamp((static_cast<double>(x) + 0.5) * sx - 0.5, 0.0, static_cast<double>(width - 1));
        const int64_t x0 = static_cast<int64_t>(fx), x1 = std::min(x0 + 1, width - 1);
        const float* plane = src + c * height * width;
        const double wx = fx - static_cast<double>(x0), wy = fy - static_cast<double>(y0);
        const double top = plane[y0 * width + x0] * (1 - wx) + plane[y0 * width + x1] * wx;
        const double bottom = plane[y1 * width + x0] * (1 - wx) + plane[y1 * width + x1] * wx;
        dst[(c * side + y) * side + x] = static_cast<float>(top * (1 - wy) + bottom * wy);
      }
    }
  for (const LabelledBox& b : in.boxes)
    out.boxes.push_back({b.class_id, static_cast<float>(b.x1 / sx), static_cast<float>(b.y1 / sy),
                         static_cast<float>(b.x2 / sx), static_cast<float>(b.y2 / sy)});
  return out;
}

}  // namespace ember::yolo
