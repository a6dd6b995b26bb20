// The YOLO-lite lesson end to end: the real program (build/bin/yolo_lite) on tiny scenes, in
// seconds. It trains, and the test checks what a class would look at: the progress lines, the score
// line, history.csv, metrics.json, the pictures, --eval and --detect on the saved checkpoint,
// --resume, a YOLO folder through --data, --help and the errors for bad settings.
//
// The tiny "digits": 10 classes of 28x28 patterns written as IDX files (class k < 5 a vertical bar
// at column 4 + 4k, k >= 5 a horizontal bar), pasted into 32x32 scenes by generate_digit_scenes.
#include <gtest/gtest.h>

#include "tests/lesson_test_util.h"
#include "tests/test_util.h"
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/cuda_backend.h"
#include "core/random.h"
#include "datasets/detection.h"
#include "datasets/idx.h"
#include "datasets/image_file.h"
#include "datasets/mnist.h"
#include "lessons/yolo_lite/lesson.h"

using namespace ember;
namespace fs = std::filesystem;

namespace test_lesson_yolo_lite {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

const LessonProgram kProgram("yolo_lite");
std::string scratch(const std::string& name) { return kProgram.scratch(name); }
// Runs the lesson with `args`, in the folder `cwd` when one is given.
LessonRun run_lesson(const std::string& args, const std::string& cwd = "") { return kProgram.run(args, cwd); }

// Bars as IDX files in `dir` (train- and t10k-, 100 and 50 images).
void write_bars(const std::string& dir) {
  Generator gen(1);
  auto make = [&](const std::string& prefix, int64_t n) {
    std::vector<uint8_t> pixels(n * 28 * 28, 0), labels(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = i % 10, at = 4 + 4 * (k % 5) + gen.randint(-1, 2);
      uint8_t* image = pixels.data() + i * 28 * 28;
      for (int64_t along = 4; along < 24; ++along)
        for (int64_t across = at; across < at + 3; ++across) image[k < 5 ? along * 28 + across : across * 28 + along] = 255;
      labels[i] = static_cast<uint8_t>(k);
    }
    write_idx(dir + "/" + prefix + "-images-idx3-ubyte", {n, 28, 28}, pixels);
    write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", {n}, labels);
  };
  make("train", 100);
  make("t10k", 50);
}

double json_number(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return NAN;
  return std::stod(json.substr(at + key.size() + 3));
}

// The tiny run's settings: 32x32 scenes, a 4x4 grid, a thin network, two epochs.
std::string tiny_args(const std::string& data_dir, const std::string& out_dir) {
  return "--data_dir=" + data_dir + " --out_dir=" + out_dir +
         " --scenes_train=64 --scenes_val=8 --scenes_test=8 --canvas=32 --grid=4 --width=4 --anchors=2"
         " --objects_max=2 --scale_min=0.5 --scale_max=0.8 --epochs=2 --batch_size=16 --threads=1 --print_every=2"
         " --warmup_steps=2 --show_scenes=4";
}

TEST(LessonYoloLite, TrainsEvaluatesAndDetectsOnTinyScenes) {
  const std::string data = scratch("bars"), out = scratch("run");
  write_bars(data);
  LessonRun run = run_lesson(tiny_args(data, out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, "data: mnist_scenes")) << run.output;
  EXPECT_TRUE(contains(run.output, "64 train, 8 validation, 8 test scenes")) << run.output;
  EXPECT_TRUE(contains(run.output, "anchors (w x h, fractions of the side, k-means with the distance 1 - IoU):")) << run.output;
  EXPECT_TRUE(contains(run.output, "epoch 1/2  step 2/4")) << run.output;  // progress lines, with ETA
  EXPECT_TRUE(contains(run.output, "ETA")) << run.output;
  EXPECT_TRUE(contains(run.output, "validation mAP@0.5")) << run.output;
  EXPECT_TRUE(contains(run.output, "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"));
  const std::string score = last_line(run.output);
  EXPECT_EQ(score.rfind("score: mAP@0.5=", 0), 0u) << score;

  // history.csv: a header and one row per epoch with the loss terms and validation mAP
  const std::string history = read_text(out + "/history.csv");
  EXPECT_EQ(history.rfind("epoch,lr,loss,coord,obj,noobj,class,val_map50,val_map50_95,seconds\n", 0), 0u) << history;
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 3);
  const std::string metrics = read_text(out + "/metrics.json");
  for (const char* key : {"map50", "map50_95", "map75", "inference_images_per_second", "train_seconds", "AP", "AP50",
                          "APs", "ARl"}) {
    const double v = json_number(metrics, key);
    EXPECT_FALSE(std::isnan(v)) << key << " in " << metrics;
  }
  EXPECT_TRUE(contains(metrics, "\"dataset\": \"mnist_scenes\"")) << metrics;
  EXPECT_TRUE(contains(metrics, "\"ap_per_class\": {\"0\":")) << metrics;
  for (const char* file : {"curves.png", "test_scenes.png", "checkpoint.safetensors", "settings.conf"})
    EXPECT_TRUE(fs::exists(out + "/" + file)) << file;

  // --eval: the same scenes, the same model, the same score
  LessonRun eval = run_lesson("--eval=" + out + "/checkpoint.safetensors --data_dir=" + data);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_EQ(last_line(eval.output), score);

  // --detect: one picture of a scene, boxes printed and drawn
  Generator gen(3);
  DetectionSet scene = generate_digit_scenes(Tensor::ones({1, 1, 28, 28}), Tensor::zeros({1}, DType::Int64), {"0"}, 1,
                                             SceneOptions{.canvas_min = 64, .canvas_max = 64}, gen);
  std::vector<uint8_t> bytes(64 * 64);
  for (int64_t i = 0; i < 64 * 64; ++i)
    bytes[i] = static_cast<uint8_t>(std::lround(scene.images[0].image.data<float>()[i] * 255));
  save_png(out + "/picture.png", 64, 64, 1, bytes.data());
  LessonRun detect = run_lesson("--eval=" + out + "/checkpoint.safetensors --detect=" + out +
                                "/picture.png --draw_threshold=0 --out_dir=" + out);
  ASSERT_EQ(detect.exit_code, 0) << detect.output;
  EXPECT_TRUE(contains(detect.output, "digits found")) << detect.output;
  EXPECT_TRUE(contains(detect.output, " at (")) << detect.output;  // with threshold 0 something is printed
  EXPECT_TRUE(fs::exists(out + "/picture_boxes.png")) << detect.output;
}

TEST(LessonYoloLite, ResumeContinuesTheSameRun) {
  const std::string data = scratch("bars_resume"), whole = scratch("whole"), parts = scratch("parts");
  write_bars(data);
  LessonRun once = run_lesson(tiny_args(data, whole));
  ASSERT_EQ(once.exit_code, 0) << once.output;
  LessonRun first = run_lesson(tiny_args(data, parts) + " --stop_after_epoch=1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "stopped after epoch 1 of 2")) << first.output;
  LessonRun rest = run_lesson("--resume --out_dir=" + parts);
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_TRUE(contains(rest.output, "resuming from")) << rest.output;
  EXPECT_EQ(last_line(rest.output), last_line(once.output));
}

TEST(LessonYoloLite, TrainsOnAYoloFolder) {
  // A folder as a labelling tool exports it: train/ and test/, each images/ + labels/ + names.txt.
  const std::string folder = scratch("folder"), out = scratch("folder_run");
  Generator gen(4);
  Tensor sources = Tensor::zeros({2, 1, 28, 28});
  float* p = sources.data<float>();
  for (int64_t y = 4; y < 24; ++y)
    for (int64_t x = 12; x < 16; ++x) p[y * 28 + x] = 1.0f, p[28 * 28 + x * 28 + y] = 1.0f;  // | and -
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{0, 1}, {2});
  const SceneOptions options{.canvas_min = 48, .canvas_max = 48, .objects_max = 2, .scale_min = 0.5, .scale_max = 0.9};
  write_yolo_folder(folder + "/train", generate_digit_scenes(sources, labels, {"bar", "dash"}, 30, options, gen));
  write_yolo_folder(folder + "/test", generate_digit_scenes(sources, labels, {"bar", "dash"}, 6, options, gen));
  LessonRun run = run_lesson("--data=" + folder + " --out_dir=" + out +
                             " --canvas=32 --grid=4 --width=4 --anchors=2 --epochs=1 --batch_size=9 --threads=1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, "data: folder:" + folder)) << run.output;
  EXPECT_TRUE(contains(run.output, "27 train, 3 validation, 6 test scenes")) << run.output;
  EXPECT_TRUE(contains(read_text(out + "/metrics.json"), "\"ap_per_class\": {\"bar\":"));
}

TEST(LessonYoloLite, WithoutDigitsTheScenesAreMadeOfFashionMnistAndItSaysSo) {
  if (!has_mnist(kFashionMnistDir)) GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnistDir;
  // a folder without data/mnist: the default --data_dir is missing
  const std::string cwd = scratch("no_digits"), out = cwd + "/run";
  const std::string args = "--out_dir=" + out +
                           " --scenes_train=16 --scenes_val=4 --scenes_test=4 --canvas=32 --grid=4 --width=4"
                           " --anchors=2 --objects_max=2 --scale_min=0.5 --scale_max=0.8 --epochs=1 --threads=1";
  LessonRun run = run_lesson(args, cwd);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.rfind("NOTICE: no MNIST digits in data/mnist/", 0), 0u) << run.output;  // the first line
  EXPECT_TRUE(contains(run.output, "data: fashion_scenes")) << run.output;
  EXPECT_TRUE(contains(read_text(out + "/metrics.json"), "\"dataset\": \"fashion_scenes\"")) << run.output;
  // a --data_dir the user chose and got wrong is an error, not a quiet fallback
  LessonRun wrong = run_lesson(args + " --data_dir=" + cwd + "/nowhere", cwd);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_TRUE(contains(wrong.output, "does not hold the MNIST files")) << wrong.output;
}

TEST(LessonYoloLite, TheDefaultConfigFileIsTheDefaults) {
  // configs/default.conf writes the defaults out; it must not drift from settings.cpp
  Config defaults, from_file;
  yolo::add_settings(defaults);
  yolo::add_settings(from_file);
  from_file.load_file(std::string(EMBER_SOURCE_DIR) + "/lessons/yolo_lite/configs/default.conf");
  EXPECT_EQ(from_file.dump(), defaults.dump());
  Config quick;
  yolo::add_settings(quick);
  quick.load_file(std::string(EMBER_SOURCE_DIR) + "/lessons/yolo_lite/configs/quick.conf");
  yolo::check_settings(quick);
}

TEST(LessonYoloLite, HelpAndBadSettings) {
  LessonRun help = run_lesson("--help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* key : {"grid", "anchors", "lambda_coord", "lambda_noobj", "score_threshold", "nms_iou",
                          "scenes_train", "canvas", "detect", "resume", "epochs", "batch_size", "lr", "optimizer"})
    EXPECT_TRUE(contains(help.output, "\n  " + std::string(key) + " ")) << key;
  const std::string out = scratch("bad");
  LessonRun bad_grid = run_lesson("--grid=5 --out_dir=" + out);
  EXPECT_EQ(bad_grid.exit_code, 1);
  EXPECT_TRUE(contains(bad_grid.output, "--canvas / --grid must be a power of two")) << bad_grid.output;
  LessonRun bad_lr = run_lesson("--lr=-1 --out_dir=" + out);
  EXPECT_TRUE(contains(bad_lr.output, "--lr must be positive")) << bad_lr.output;
  LessonRun no_checkpoint = run_lesson("--eval=" + out + "/none.safetensors");
  EXPECT_EQ(no_checkpoint.exit_code, 1);
  EXPECT_TRUE(contains(no_checkpoint.output, "no checkpoint")) << no_checkpoint.output;
}

TEST(LessonYoloLite, DeviceSetting) {
  const std::string out = scratch("device");
  LessonRun bad = run_lesson("--device=gpu --out_dir=" + out);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.output, "--device must be cpu, cuda or auto")) << bad.output;
  if (!cuda_is_available()) {  // without a GPU, "cuda" is an error saying why (before any data is made)
    LessonRun cuda = run_lesson("--device=cuda --out_dir=" + out);
    EXPECT_EQ(cuda.exit_code, 1);
    EXPECT_TRUE(contains(cuda.output, "--device=cuda")) << cuda.output;
  }
}

}  // namespace test_lesson_yolo_lite
