// The sliding-window lesson: the fully convolutional net gives the sliding window's scores (on random
// weights, and on the classifier a run of the real program trained), the pieces the detectors are
// made of (windows, boxes, patches), and the program end to end on tiny generated data: its files,
// --eval of its checkpoint, the fall-back to Fashion-MNIST, and the errors for bad settings.
// (The program is built before the tests: see tests/CMakeLists.txt.)
//
// The tiny data: 10 classes of bars (class k < 5 a vertical bar at column 4 + 4k, k >= 5 a
// horizontal bar at row 4 + 4 (k - 5)), written as IDX files like MNIST's, which the scene generator
// pastes into scenes.
#include <gtest/gtest.h>

#include "tests/lesson_test_util.h"
#include "tests/test_util.h"
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/safetensors.h"
#include "datasets/idx.h"
#include "datasets/mnist.h"
#include "lessons/common/config.h"
#include "lessons/common/image_io.h"
#include "lessons/sliding_window/lesson.h"
#include "optim/checkpoint.h"
#include "test_util.h"

using namespace ember;
using namespace ember::sliding_window;
namespace fs = std::filesystem;

namespace test_lesson_sliding_window {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

const LessonProgram kProgram("sliding_window");
std::string scratch(const std::string& name) { return kProgram.scratch(name); }
// Runs the lesson with `args`, in the folder `cwd` when one is given.
LessonRun run_lesson(const std::string& args, const std::string& cwd = "") { return kProgram.run(args, cwd); }

// The largest |a - b| over two tensors of the same shape.
double largest_difference(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double largest = 0.0;
  for (size_t i = 0; i < x.size(); ++i) largest = std::max(largest, std::abs(x[i] - y[i]));
  return largest;
}

// The sliding window and the fully convolutional net over the same scene agree at every scale.
void expect_same_scores(Sequential& classifier, const Tensor& scene, int64_t stride, double tolerance) {
  std::shared_ptr<Sequential> fcn = make_fully_convolutional(classifier);
  ASSERT_EQ(total_stride(*fcn), 4);
  for (double scale : {1.0, 0.75, 0.5}) {
    ScoreGrid sliding = sliding_window_scores(classifier, scene, scale, stride);
    ScoreGrid convolutional = fcn_scores(*fcn, scene, scale, stride, 4);
    ASSERT_GT(sliding.rows * sliding.cols, 0) << "scale " << scale;
    EXPECT_EQ(sliding.rows, convolutional.rows);
    EXPECT_EQ(sliding.cols, convolutional.cols);
    EXPECT_LE(largest_difference(sliding.probabilities, convolutional.probabilities), tolerance)
        << "scale " << scale << ", stride " << stride;
  }
}

// A [1, H, W] scene of uniform noise in [0, 1).
Tensor noise_scene(int64_t height, int64_t width, uint64_t seed) {
  Generator gen(seed);
  return Tensor::rand({1, height, width}, &gen);
}

// ---- the conversion ----------------------------------------------------------------------------------

TEST(SlidingWindowFcn, LinearAsConvolutionGivesTheSameNumbers) {
  Generator gen(3);
  Linear fc(8 * 3 * 3, 5, /*bias=*/true, &gen);
  std::shared_ptr<Conv2d> conv = linear_to_conv(fc, 8, 3);
  EXPECT_EQ(conv->weight.shape(), (Shape{5, 8, 3, 3}));
  NoGradGuard no_grad;
  // On one [8, 3, 3] block: the Linear's output on the flattened block.
  const Tensor block = Tensor::randn({2, 8, 3, 3}, &gen);
  EXPECT_LE(largest_difference((*conv)(block).reshape({2, 5}), fc(block.reshape({2, 72}))), 1e-5);
  // On a larger map: at every position, the Linear on the 3x3 block there.
  const Tensor map = Tensor::randn({1, 8, 6, 7}, &gen);
  const Tensor out = (*conv)(map);  // [1, 5, 4, 5]
  ASSERT_EQ(out.shape(), (Shape{1, 5, 4, 5}));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      const Tensor here = map.slice(2, i, i + 3).slice(3, j, j + 3).reshape({1, 72});
      const Tensor want = fc(here).reshape({5});
      const Tensor got = permute(out, {0, 2, 3, 1}).reshape({20, 5}).slice(0, i * 5 + j, i * 5 + j + 1).reshape({5});
      EXPECT_LE(largest_difference(got, want), 1e-5) << "position " << i << ", " << j;
    }
  // A 1x1 convolution: the Linear at every pixel.
  Linear head(8, 4, /*bias=*/false, &gen);
  std::shared_ptr<Conv2d> pointwise = linear_to_conv(head, 8, 1);
  EXPECT_FALSE(pointwise->bias.defined());
  const Tensor pixels = permute(map, {0, 2, 3, 1}).reshape({42, 8});
  EXPECT_LE(largest_difference(permute((*pointwise)(map), {0, 2, 3, 1}).reshape({42, 4}), head(pixels)), 1e-5);
}

TEST(SlidingWindowFcn, ConvertedClassifierGivesTheClassifiersLogitsOnAPatch) {
  Generator gen(5);
  std::shared_ptr<Sequential> classifier = build_classifier(gen);
  std::shared_ptr<Sequential> fcn = make_fully_convolutional(*classifier);
  ASSERT_EQ(fcn->size(), 9u);  // Flatten is gone
  EXPECT_EQ(fcn->at<Conv2d>(6)->kernel_size, 4);
  EXPECT_EQ(fcn->at<Conv2d>(8)->kernel_size, 1);
  // The features are the classifier's own modules: the same weights, not copies.
  EXPECT_EQ((*fcn)[0].get(), (*classifier)[0].get());
  NoGradGuard no_grad;
  classifier->eval();
  fcn->eval();
  const Tensor patches = Tensor::rand({3, 1, 28, 28}, &gen);
  const Tensor logits = (*classifier)(patches);  // [3, 11]
  const Tensor map = (*fcn)(patches);            // [3, 11, 1, 1]
  ASSERT_EQ(map.shape(), (Shape{3, 11, 1, 1}));
  EXPECT_LE(largest_difference(map.reshape({3, 11}), logits), 1e-5);
}

TEST(SlidingWindowFcn, ScoreMapEqualsSlidingWindowOnRandomWeights) {
  for (uint64_t seed : {1, 2}) {
    Generator gen(seed);
    std::shared_ptr<Sequential> classifier = build_classifier(gen);
    // Sizes that are not multiples of the stride: the far edge has windows that do not fit.
    expect_same_scores(*classifier, noise_scene(70, 83, seed), 4, 1e-5);
    expect_same_scores(*classifier, noise_scene(64, 61, seed + 10), 8, 1e-5);
  }
}

TEST(SlidingWindowFcn, ConversionErrorsNameTheShapes) {
  Linear fc(100, 10);
  EXPECT_TRUE(throws_with([&] { linear_to_conv(fc, 8, 3); }, "takes 100 inputs, but 8 channels of 3x3 are 72"));
  Sequential no_head{std::make_shared<Conv2d>(1, 4, 3), std::make_shared<ReLU>()};
  EXPECT_TRUE(throws_with([&] { make_fully_convolutional(no_head); }, "no dense head to convert"));
  Sequential dense_first{std::make_shared<Linear>(28, 4)};
  EXPECT_TRUE(throws_with([&] { make_fully_convolutional(dense_first); }, "is a Linear before any Flatten"));
  Generator gen(0);
  std::shared_ptr<Sequential> classifier = build_classifier(gen);
  std::shared_ptr<Sequential> fcn = make_fully_convolutional(*classifier);
  EXPECT_TRUE(throws_with([&] { fcn_scores(*fcn, noise_scene(40, 40, 0), 1.0, 6, 4); }, "multiple of the network"));
}

// ---- windows, boxes, patches, scores ---------------------------------------------------------------------

TEST(SlidingWindowPieces, ResizeAndCropSampleTheRightPixels) {
  // A 28-pixel crop at whole-pixel coordinates is a copy; outside the scene is black.
  Tensor scene = noise_scene(40, 50, 7);
  const Tensor patch = crop_patch(scene, 5, 3, 28);
  EXPECT_LE(largest_difference(patch, scene.slice(1, 3, 31).slice(2, 5, 33)), 1e-6);
  const Tensor outside = crop_patch(scene, 60, 0, 28);
  EXPECT_EQ(max(outside).item(), 0.0);
  // Halving averages 2x2 blocks; a constant stays constant.
  const Tensor half = resize_image(scene, 20, 25);
  const std::vector<float> s = scene.to_vector<float>(), h = half.to_vector<float>();
  EXPECT_NEAR(h[0], (s[0] + s[1] + s[50] + s[51]) / 4.0, 1e-6);
  const Tensor grey = resize_image(Tensor::full({1, 30, 30}, 0.4), 17, 45);
  EXPECT_LE(largest_difference(grey, Tensor::full({1, 17, 45}, 0.4)), 1e-6);
  EXPECT_TRUE(throws_with([] { crop_patch(Tensor::zeros({28, 28}), 0, 0, 28); },
                          "crop_patch: expects a grey float32 image [1, H, W], got shape [28, 28]"));
}

TEST(SlidingWindowPieces, ObjectWindowAndBoxShapes) {
  // A digit 10 wide and 20 tall: its window is the 28x28 square centred on it.
  const Box window = object_window({.class_id = 1, .x1 = 10, .y1 = 20, .x2 = 20, .y2 = 40});
  EXPECT_NEAR(window.x1, 1, 1e-12);
  EXPECT_NEAR(window.y1, 16, 1e-12);
  EXPECT_NEAR(window.width(), 28, 1e-12);
  DetectionSet scenes;
  scenes.images.push_back({Tensor::zeros({1, 64, 64}), {{.class_id = 1, .x1 = 10, .y1 = 20, .x2 = 20, .y2 = 40}}, "a"});
  const BoxShapes shapes = average_box_shapes(scenes);
  ASSERT_EQ(shapes.size(), 10u);
  EXPECT_NEAR(shapes[1][0], 10.0 / 28.0, 1e-12);
  EXPECT_NEAR(shapes[1][1], 20.0 / 28.0, 1e-12);
  EXPECT_EQ(parse_box_shapes(box_shapes_text(shapes), "test"), shapes);
  EXPECT_TRUE(throws_with([] { parse_box_shapes("0.5 0.5;0.5", "file.safetensors"); }, "file.safetensors"));
}

// A grid with one confident window becomes one box of the class's shape, centred in the window, in
// the scene's pixels (the grid of scale 0.5 is in pixels of the half-size scene).
TEST(SlidingWindowPieces, ConfidentWindowsBecomeBoxes) {
  ScoreGrid grid;
  grid.scale = 0.5;
  grid.stride = 4;
  grid.rows = 2;
  grid.cols = 3;
  grid.pixels_per_x = grid.pixels_per_y = 2.0;
  grid.probabilities = Tensor::zeros({2, 3, 11});
  float* p = grid.probabilities.data<float>();
  for (int64_t cell = 0; cell < 6; ++cell) p[cell * 11 + kBackground] = 1.0f;
  p[(1 * 3 + 2) * 11 + 7] = 0.9f;  // window (row 1, column 2): a 7
  p[(1 * 3 + 2) * 11 + kBackground] = 0.1f;
  p[(0 * 3 + 0) * 11 + 3] = 0.4f;  // below the threshold
  BoxShapes shapes(10, {0.5, 0.75});
  const std::vector<Detection> found = grid_detections(grid, 9, 0.5, shapes);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].image_id, 9);
  EXPECT_EQ(found[0].class_id, 7);
  EXPECT_NEAR(found[0].score, 0.9, 1e-6);
  // window: resized pixels x 8..36, y 4..32 -> scene pixels x 16..72, y 8..64; centre (44, 36), side 56
  EXPECT_NEAR(found[0].box.x1, 44 - 14, 1e-9);
  EXPECT_NEAR(found[0].box.x2, 44 + 14, 1e-9);
  EXPECT_NEAR(found[0].box.y1, 36 - 21, 1e-9);
  EXPECT_NEAR(found[0].box.y2, 36 + 21, 1e-9);
  // Without shapes the box is the window itself.
  const Box window = grid_detections(grid, 9, 0.5, {})[0].box;
  EXPECT_NEAR(window.x1, 16, 1e-9);
  EXPECT_NEAR(window.y2, 64, 1e-9);
}

TEST(SlidingWindowPieces, PatchesAreLabelledByOverlap) {
  // A hand-made scene: two bars on a black 80x80 canvas.
  Tensor image = Tensor::zeros({1, 80, 80});
  float* pixels = image.data<float>();
  for (int64_t y = 10; y < 30; ++y)
    for (int64_t x = 12; x < 16; ++x) pixels[y * 80 + x] = 1.0f;
  for (int64_t y = 50; y < 54; ++y)
    for (int64_t x = 40; x < 70; ++x) pixels[y * 80 + x] = 1.0f;
  DetectionSet scenes;
  scenes.class_names = mnist_class_names();
  scenes.images.push_back({image, {{.class_id = 1, .x1 = 12, .y1 = 10, .x2 = 16, .y2 = 30},
                                   {.class_id = 7, .x1 = 40, .y1 = 50, .x2 = 70, .y2 = 54}}, "bars"});
  Generator gen(1);
  PatchOptions options;
  options.crops_per_object = 2;
  options.backgrounds_per_scene = 6;
  const Patches patches = cut_patches(scenes, options, gen);
  ASSERT_EQ(patches.images.shape(), (Shape{10, 1, 28, 28}));
  const std::vector<int64_t> labels = patches.labels.to_vector<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(labels.begin(), labels.begin() + 4), (std::vector<int64_t>{1, 1, 7, 7}));
  for (size_t i = 4; i < labels.size(); ++i) EXPECT_EQ(labels[i], kBackground);
  // The bar of class 1 is in the middle of its patches: bright in the centre column.
  const std::vector<float> first = patches.images.slice(0, 0, 1).to_vector<float>();
  EXPECT_GT(first[14 * 28 + 14], 0.5f);
}

TEST(SlidingWindowPieces, SettingsErrorsNameTheKey) {
  auto error_for = [](const std::vector<std::string>& args) {
    Config cfg;
    add_settings(cfg);
    cfg.apply_args(args);
    return error_of([&] { check_settings(cfg); });
  };
  EXPECT_NE(error_for({"--stride=6"}).find("--stride must be a multiple of 4"), std::string::npos);
  EXPECT_NE(error_for({"--scales=1,x"}).find("--scales='1,x': entry 'x'"), std::string::npos);
  EXPECT_NE(error_for({"--scales=1,0"}).find("entry '0'"), std::string::npos);
  EXPECT_NE(error_for({"--epochs=0"}).find("--epochs must be from 1"), std::string::npos);
  EXPECT_NE(error_for({"--score_threshold=1.5"}).find("--score_threshold must be from 0 to 1"), std::string::npos);
  EXPECT_NE(error_for({"--nms_iou=-0.1"}).find("--nms_iou"), std::string::npos);
  EXPECT_NE(error_for({"--dataset=coco"}).find("--dataset='coco' is not one of: mnist, fashion"), std::string::npos);
  EXPECT_NE(error_for({"--scenes=0"}).find("--scenes must be from 1"), std::string::npos);
  EXPECT_EQ(error_for({}), "");
  EXPECT_EQ(parse_scales("1,0.75,0.5"), (std::vector<double>{1.0, 0.75, 0.5}));
}

// ---- the program end to end ---------------------------------------------------------------------------

// Train and test IDX files of the 10 bar classes in `dir`.
void write_bars(const std::string& dir, int64_t train, int64_t test) {
  Generator gen(11);
  auto make = [&](const std::string& prefix, int64_t n) {
    std::vector<uint8_t> pixels(n * 28 * 28, 0), labels(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = i % 10, at = 4 + 4 * (k % 5) + gen.randint(-1, 2);
      uint8_t* image = pixels.data() + i * 28 * 28;
      for (int64_t along = 4; along < 24; ++along)
        for (int64_t across = at; across < at + 3; ++across)
          image[k < 5 ? along * 28 + across : across * 28 + along] = 255;
      labels[i] = static_cast<uint8_t>(k);
    }
    write_idx(dir + "/" + prefix + "-images-idx3-ubyte", {n, 28, 28}, pixels);
    write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", {n}, labels);
  };
  make("train", train);
  make("t10k", test);
}

// The number after "key": in metrics.json (the first one); NaN when missing.
double json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": (-?[0-9.eE+-]+)"))) return std::nan("");
  return std::stod(m[1]);
}

void expect_png(const std::string& path) {
  ASSERT_TRUE(fs::exists(path)) << path;
  Image image = load_image(path);
  EXPECT_GT(image.width, 100) << path;
  EXPECT_GT(image.height, 50) << path;
}

const std::string kTiny = "--train_scenes=12 --scenes=3 --epochs=1 --batch_size=32 --scales=1,0.5 --threads=1";

// One test for training, its files, the trained net's score map and --eval: training is the slow part.
TEST(SlidingWindowLesson, TrainsDetectsAndWritesItsFiles) {
  const std::string data = scratch("bars"), out = scratch("run");
  write_bars(data, 100, 30);
  const LessonRun run = run_lesson(kTiny + " --data_dir=" + data + " --out_dir=" + out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string& text = run.output;
  EXPECT_TRUE(contains(text, "Total params: 80,331")) << text;
  EXPECT_TRUE(std::regex_search(
      text, std::regex("epoch 1/1  step [0-9]+/[0-9]+  loss [0-9.]+  acc [0-9.]+  [0-9.]+ img/s  ETA")))
      << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("sliding window  step 3/3  boxes [0-9]+  [0-9.]+ scenes/s  ETA")))
      << text;
  EXPECT_TRUE(contains(text, "fully convolutional speed-up: ")) << text;
  EXPECT_TRUE(contains(text, "(6): Conv2d(32, 128, kernel=4")) << text;

  const std::string metrics = read_text(out + "/metrics.json");
  EXPECT_TRUE(contains(metrics, "\"dataset\": \"mnist\"")) << metrics;
  for (const char* key : {"\"sliding\": {", "\"fcn\": {", "\"map50\":", "\"map50_95\":", "\"seconds_per_image\":",
                          "\"fcn_speedup\":"})
    EXPECT_TRUE(contains(metrics, key)) << key << " missing in " << metrics;
  // The two detectors saw the same windows and the same scores: the same mAP.
  std::smatch sliding, fcn;
  ASSERT_TRUE(std::regex_search(metrics, sliding, std::regex("\"sliding\": \\{[^}]*\"map50\": ([0-9.e-]+)")));
  ASSERT_TRUE(std::regex_search(metrics, fcn, std::regex("\"fcn\": \\{[^}]*\"map50\": ([0-9.e-]+)")));
  EXPECT_EQ(sliding[1], fcn[1]);
  EXPECT_LE(json_number(metrics, "fcn_max_score_difference"), 1e-5);
  EXPECT_GT(json_number(metrics, "fcn_speedup"), 0.0);
  EXPECT_EQ(read_text(out + "/history.csv").substr(0, 57), "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,");
  expect_png(out + "/curves.png");
  expect_png(out + "/detections.png");
  expect_png(out + "/score_map.png");
  // The COCO files: every test scene's boxes, and the fully convolutional net's detections.
  EXPECT_TRUE(contains(read_text(out + "/instances.json"), "\"annotations\""));
  EXPECT_TRUE(fs::exists(out + "/detections.json"));
  EXPECT_TRUE(contains(read_text(out + "/settings.conf"), "train_scenes = 12"));

  // The checkpoint: the parameter names the README promises, and the trained net's score map equals
  // its sliding window on a scene here too.
  const std::string checkpoint = out + "/classifier.safetensors";
  SafetensorsFile file = load_safetensors(checkpoint);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : file.tensors)
    if (name.rfind("optimizer.", 0) != 0) names.push_back(name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"0.bias", "0.weight", "3.bias", "3.weight", "7.bias", "7.weight",
                                             "9.bias", "9.weight"}));
  Generator gen(0);
  std::shared_ptr<Sequential> classifier = build_classifier(gen);
  StateDict state = classifier->state_dict();
  load_model_from_checkpoint(checkpoint, NamedTensors(state.begin(), state.end()));
  expect_same_scores(*classifier, noise_scene(77, 90, 4), 4, 1e-5);

  // --eval: the saved classifier on the same test scenes gives the same mAP.
  const std::string again = scratch("eval");
  const LessonRun eval = run_lesson("--eval=" + checkpoint + " --out_dir=" + again + " --threads=1");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const std::string eval_metrics = read_text(again + "/eval/metrics.json");
  std::smatch eval_sliding;
  ASSERT_TRUE(std::regex_search(eval_metrics, eval_sliding, std::regex("\"sliding\": \\{[^}]*\"map50\": ([0-9.e-]+)")));
  EXPECT_EQ(eval_sliding[1], sliding[1]);
}

TEST(SlidingWindowLesson, FallsBackToFashionLoudly) {
  // In a folder without data/mnist, with a "Fashion-MNIST" of bars.
  const std::string cwd = scratch("fallback_cwd"), fashion = scratch("fashion"), out = scratch("fallback_run");
  write_bars(fashion, 60, 20);
  const LessonRun run = run_lesson(kTiny + " --fashion_dir=" + fashion + " --out_dir=" + out, cwd);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.substr(0, 34), "NOTICE: no MNIST digits in data/mn") << run.output;
  EXPECT_TRUE(contains(read_text(out + "/metrics.json"), "\"dataset\": \"fashion\""));
}

TEST(SlidingWindowLesson, ErrorsAndHelp) {
  LessonRun run = run_lesson("--stride=5");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.output, "error: sliding_window: --stride must be a multiple of 4")) << run.output;
  run = run_lesson("--data_dir=/nonexistent/digits");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.output, "--data_dir=/nonexistent/digits does not hold the MNIST digits")) << run.output;
  run = run_lesson("--eval=/nonexistent/classifier.safetensors");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.output, "/nonexistent/classifier.safetensors")) << run.output;
  run = run_lesson("--help");
  EXPECT_EQ(run.exit_code, 0);
  for (const std::string key : {"epochs", "batch_size", "lr", "seed", "threads", "out_dir", "scenes", "scales",
                                "stride", "score_threshold", "nms_iou", "data_dir", "eval", "device"})
    EXPECT_TRUE(std::regex_search(run.output, std::regex("\n  " + key + " +(int|float|string|bool) ")))
        << key << " missing in " << run.output;
}

// --device: a value that is not cpu, cuda or auto is refused naming the key; --device=cuda on a
// machine without a usable GPU stops before any data is made, with the reason (choose_device).
TEST(SlidingWindowLesson, DeviceSettingErrors) {
  LessonRun run = run_lesson("--device=gpu");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.output, "error: sliding_window: --device must be cpu, cuda or auto, got \"gpu\""))
      << run.output;
  if (cuda_is_available()) GTEST_SKIP() << "this machine has a GPU: --device=cuda would train on it";
  run = run_lesson("--device=cuda --out_dir=" + scratch("device_cuda"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(contains(run.output, "--device=cuda")) << run.output;
}

}  // namespace test_lesson_sliding_window
