// The data of the lesson: scenes of real digits, and the 28x28 patches the classifier learns from.
//
// A detector is scored on scenes (datasets/detection.h: real MNIST digits pasted at random sizes
// and places on larger black canvases, each with its box). The classifier never sees a whole scene:
// it learns from windows cut out of the training scenes and resized to 28x28,
//
//   a digit       a window around one digit, about the size that fits it (the digit's "object
//                 window", a little shifted and resized at random): labelled with the digit
//   background    a window whose IoU with every digit's object window is below 0.3: empty canvas,
//                 part of a digit, or a whole digit at a size the window is not for (a digit of 20
//                 pixels in a 56-pixel window belongs to the 28-pixel window of another scale)
//
// Windows in between (IoU from 0.3 up to the digit patches' 0.6 or more) are never cut: they are
// neither clearly right nor clearly wrong.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <sstream>

#include "core/ops.h"
#include "datasets/mnist.h"
#include "lessons/sliding_window/lesson.h"

namespace ember::sliding_window {

namespace {

// Pixel (x, y) of a [1, H, W] image read with bilinear interpolation between the four pixels around
// it (pixel centres at integer + 0.5). Outside the image: the nearest edge pixel when clamp is set,
// else 0 (black canvas).
float sample_bilinear(const float* pixels, int64_t height, int64_t width, double x, double y, bool clamp) {
  x -= 0.5;
  y -= 0.5;  // now pixel (i, j)'s centre is at (j, i)
  if (clamp) {
    x = std::clamp(x, 0.0, static_cast<double>(width - 1));
    y = std::clamp(y, 0.0, static_cast<double>(height - 1));
  }
  const int64_t x0 = static_cast<int64_t>(std::floor(x)), y0 = static_cast<int64_t>(std::floor(y));
  const double fx = x - static_cast<double>(x0), fy = y - static_cast<double>(y0);
  auto at = [&](int64_t row, int64_t col) -> double {
    if (row < 0 || row >= height || col < 0 || col >= width) return 0.0;
    return pixels[row * width + col];
  };
  const double top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx;
  const double bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx;
  return static_cast<float>(top * (1 - fy) + bottom * fy);
}

void check_grey_image(const Tensor& image, const char* who) {
  check(image.dim() == 3 && image.size(0) == 1 && image.dtype() == DType::Float32, who,
        ": expects a grey float32 image [1, H, W], got shape ", shape_text(image.shape()));
}

}  // namespace

Box object_window(const LabelledBox& box) {
  const double side = std::max(box.x2 - box.x1, box.y2 - box.y1) * 28.0 / 20.0;
  const double cx = (box.x1 + box.x2) / 2.0, cy = (box.y1 + box.y2) / 2.0;
  return {cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2};
}

Tensor crop_patch(const Tensor& scene, double x, double y, double side) {
  check_grey_image(scene, "crop_patch");
  check(side > 0, "crop_patch: the window's side must be positive, got ", side);
  Tensor patch = Tensor::empty({1, kPatch, kPatch});
  float* out = patch.data<float>();
  const double step = side / static_cast<double>(kPatch);  // scene pixels per patch pixel
  for (int64_t i = 0; i < kPatch; ++i)
    for (int64_t j = 0; j < kPatch; ++j)
      out[i * kPatch + j] = sample_bilinear(scene.data<float>(), scene.size(1), scene.size(2),
                                            x + (static_cast<double>(j) + 0.5) * step,
                                            y + (static_cast<double>(i) + 0.5) * step, /*clamp=*/false);
  return patch;
}

Tensor resize_image(const Tensor& image, int64_t out_height, int64_t out_width) {
  check_grey_image(image, "resize_image");
  check(out_height >= 1 && out_width >= 1, "resize_image: the new size must be at least 1x1, got ", out_height, "x",
        out_width);
  const int64_t height = image.size(1), width = image.size(2);
  Tensor out = Tensor::empty({1, out_height, out_width});
  float* pixels = out.data<float>();
  const double sy = static_cast<double>(height) / out_height, sx = static_cast<double>(width) / out_width;
  for (int64_t i = 0; i < out_height; ++i)
    for (int64_t j = 0; j < out_width; ++j)
      pixels[i * out_width + j] = sample_bilinear(image.data<float>(), height, width, (j + 0.5) * sx, (i + 0.5) * sy,
                                                  /*clamp=*/true);
  return out;
}

Patches cut_patches(const DetectionSet& scenes, const PatchOptions& options, Generator& gen) {
  std::vector<Tensor> images;
  std::vector<int64_t> labels;
  auto add = [&](const Tensor& scene, const Box& window, int64_t label) {
    images.push_back(crop_patch(scene, window.x1, window.y1, window.width()));
    labels.push_back(label);
  };
  for (const DetectionImage& scene : scenes.images) {
    const double width = static_cast<double>(scene.image.size(2)), height = static_cast<double>(scene.image.size(1));
    std::vector<Box> object_windows;
    for (const LabelledBox& box : scene.boxes) object_windows.push_back(object_window(box));

    // digits: the object window, shifted and resized by up to `jitter` of its side
    for (size_t k = 0; k < scene.boxes.size(); ++k) {
      const Box& best = object_windows[k];
      for (int64_t c = 0; c < options.crops_per_object; ++c) {
        const double side = best.width() * (1.0 + gen.uniform(-options.jitter, options.jitter));
        const double cx = (best.x1 + best.x2) / 2 + gen.uniform(-options.jitter, options.jitter) * best.width();
        const double cy = (best.y1 + best.y2) / 2 + gen.uniform(-options.jitter, options.jitter) * best.width();
        add(scene.image, {cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2}, scene.boxes[k].class_id);
      }
    }

    // background: every other one next to a digit (partial digits, wrong sizes), the rest anywhere
    for (int64_t b = 0; b < options.backgrounds_per_scene; ++b) {
      for (int attempt = 0; attempt < 20; ++attempt) {
        const double side =
            options.window_sides[gen.randint(0, static_cast<int64_t>(options.window_sides.size()))] *
            gen.uniform(0.8, 1.25);
        double cx = gen.uniform(side / 4, width - side / 4), cy = gen.uniform(side / 4, height - side / 4);
        if (b % 2 == 0 && !object_windows.empty()) {
          const Box& near = object_windows[gen.randint(0, static_cast<int64_t>(object_windows.size()))];
          const double angle = gen.uniform(0.0, 2.0 * M_PI), distance = gen.uniform(0.0, 0.8) * side;
          cx = (near.x1 + near.x2) / 2 + distance * std::cos(angle);
          cy = (near.y1 + near.y2) / 2 + distance * std::sin(angle);
        }
        const Box window{cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2};
        bool clear = true;
        for (const Box& object : object_windows) clear = clear && iou(window, object) < options.background_iou;
        if (!clear) continue;
        add(scene.image, window, kBackground);
        break;
      }
    }
  }
  check(!images.empty(), "sliding_window: the scenes gave no patches to train on");
  return {stack(images, 0), Tensor::from_vector(labels, {static_cast<int64_t>(labels.size())})};
}

BoxShapes average_box_shapes(const DetectionSet& scenes) {
  BoxShapes sums(kNumDigits, {0.0, 0.0});
  std::vector<int64_t> counts(kNumDigits, 0);
  for (const DetectionImage& scene : scenes.images)
    for (const LabelledBox& box : scene.boxes) {
      if (box.class_id < 0 || box.class_id >= kNumDigits) continue;
      const double side = object_window(box).width();
      sums[box.class_id][0] += (box.x2 - box.x1) / side;
      sums[box.class_id][1] += (box.y2 - box.y1) / side;
      ++counts[box.class_id];
    }
  BoxShapes shapes(kNumDigits, {20.0 / 28.0, 20.0 / 28.0});  // a class never seen: a typical digit
  for (int64_t k = 0; k < kNumDigits; ++k)
    if (counts[k] > 0) shapes[k] = {sums[k][0] / counts[k], sums[k][1] / counts[k]};
  return shapes;
}

std::string box_shapes_text(const BoxShapes& shapes) {
  std::ostringstream text;
  text.precision(17);
  for (size_t k = 0; k < shapes.size(); ++k) text << (k ? ";" : "") << shapes[k][0] << " " << shapes[k][1];
  return text.str();
}

BoxShapes parse_box_shapes(const std::string& text, const std::string& source) {
  BoxShapes shapes;
  std::istringstream entries(text);
  for (std::string entry; std::getline(entries, entry, ';');) {
    std::istringstream numbers(entry);
    double w = 0, h = 0;
    std::string rest;
    check(static_cast<bool>(numbers >> w >> h) && !(numbers >> rest) && w > 0 && w <= 1 && h > 0 && h <= 1,
          "sliding_window: ", source, ": box shape ", shapes.size(), " = '", entry,
          "' should be two fractions in (0, 1]: width and height");
    shapes.push_back({w, h});
  }
  check(static_cast<int64_t>(shapes.size()) == kNumDigits, "sliding_window: ", source, " holds ", shapes.size(),
        " box shapes, one per class (", kNumDigits, ") expected");
  return shapes;
}

SceneOptions scene_options() {
  SceneOptions options;
  options.canvas_min = 96;
  options.canvas_max = 128;
  options.objects_min = 1;
  options.objects_max = 4;
  options.scale_min = 0.9;  // digits about 18 to 40 pixels tall: windows of 28 to 56 pixels,
  options.scale_max = 2.0;  // what --scales=1,0.75,0.5 searches
  options.max_overlap = 0.05;
  return options;
}

LessonData load_data(const Config& cfg, bool with_training) {
  LessonData data;
  data.dataset = cfg.get_string("dataset");
  if (data.dataset == "mnist" && !has_mnist(cfg.get_string("data_dir"))) {
    // Only the default folder falls back: a folder the user named and got wrong is an error.
    check(cfg.get_string("data_dir") == kMnistDir, "sliding_window: --data_dir=", cfg.get_string("data_dir"),
          " does not hold the MNIST digits: expected train-images-idx3-ubyte, train-labels-idx1-ubyte, "
          "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte there (each may also end in .gz); "
          "scripts/get_mnist.sh downloads them (only the default folder, ",
          kMnistDir, ", falls back to Fashion-MNIST)");
    std::cout << "NOTICE: no MNIST digits in " << cfg.get_string("data_dir")
              << "/ (scripts/get_mnist.sh puts them there; ./run.sh runs it).\n"
              << "NOTICE: the scenes are made of Fashion-MNIST items instead (clothes, not digits).\n";
    data.dataset = "fashion";
  }
  const bool digits = data.dataset == "mnist";
  data.folder = digits ? cfg.get_string("data_dir") : cfg.get_string("fashion_dir");
  auto load = [&](Split split) {
    return digits ? load_mnist(data.folder, split) : load_fashion_mnist(split, data.folder);
  };
  const uint64_t seed = static_cast<uint64_t>(cfg.get_int("seed"));
  const SceneOptions options = scene_options();

  MnistData test = load(Split::Test);
  check(test.images.size(0) > 0, "sliding_window: the test split in ", data.folder, "/ has no images");
  data.title = test.name;
  data.class_names = test.class_names;
  Generator test_gen(seed * 3 + 2);
  data.test_scenes = generate_digit_scenes(test.images, test.labels, data.class_names, cfg.get_int("scenes"),
                                           options, test_gen);
  if (!with_training) return data;

  // The training split: its last tenth of the digits make the validation scenes (digits never
  // pasted into a training scene).
  MnistData train = load(Split::Train);
  const int64_t n = train.images.size(0), n_val = n / 10;
  check(n_val >= 1, "sliding_window: the training split in ", data.folder, "/ has ", n,
        " images: at least 10 are needed (a tenth for the validation scenes)");
  Generator train_gen(seed * 3), val_gen(seed * 3 + 1);
  const int64_t train_scenes = cfg.get_int("train_scenes");
  data.train_scenes = generate_digit_scenes(train.images.slice(0, 0, n - n_val), train.labels.slice(0, 0, n - n_val),
                                            data.class_names, train_scenes, options, train_gen);
  data.val_scenes = generate_digit_scenes(train.images.slice(0, n - n_val, n), train.labels.slice(0, n - n_val, n),
                                          data.class_names, std::max<int64_t>(10, train_scenes / 10), options,
                                          val_gen);
  return data;
}

}  // namespace ember::sliding_window
