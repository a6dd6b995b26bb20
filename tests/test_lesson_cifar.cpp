// The CIFAR-10 lesson end to end: the real program (build/bin/cifar) on tiny generated data, in
// seconds. Three kinds of data, as the lesson reads them:
//   - an ImageFolder of 3 classes of coloured squares (red, green, blue dominant), PNG files
//   - CIFAR-10's binary format: data_batch_1..5.bin and test_batch.bin with a few records each
//   - no CIFAR-10 in data/cifar10: the Fashion-MNIST fallback (a tiny IDX set), said first
// and the checks a class would make: the progress lines, the score line, the files, --eval of the
// checkpoint giving the same score, --resume, and errors naming the key. Also the value of the
// label-smoothed loss on a hand-made case.
#include <gtest/gtest.h>

#include "tests/lesson_test_util.h"
#include "tests/test_util.h"
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"
#include "datasets/idx.h"
#include "datasets/image_file.h"
#include "lessons/cifar/lesson.h"

using namespace ember;
namespace fs = std::filesystem;

namespace test_lesson_cifar {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

const LessonProgram kProgram("cifar");
std::string scratch(const std::string& name) { return kProgram.scratch(name); }
// Runs the lesson with `args`, in the folder `cwd` when one is given.
LessonRun run_lesson(const std::string& args, const std::string& cwd = "") { return kProgram.run(args, cwd); }

// A 32x32 RGB picture of class k: channel k bright (with noise), the others dark, and a bar whose
// place varies, so the crop and flip have something to move.
std::vector<uint8_t> coloured_square(int64_t k, Generator& gen) {
  std::vector<uint8_t> pixels(32 * 32 * 3);
  const int64_t bar = gen.randint(4, 28);
  for (int64_t y = 0; y < 32; ++y)
    for (int64_t x = 0; x < 32; ++x)
      for (int64_t c = 0; c < 3; ++c) {
        int64_t v = (c == k ? 180 : 40) + gen.randint(-30, 30);
        if (x == bar) v = 250;
        pixels[(y * 32 + x) * 3 + c] = static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
      }
  return pixels;
}

// root/train/<class>/*.png and root/test/<class>/*.png
std::string write_image_folder(const std::string& name, int64_t train_per_class, int64_t test_per_class) {
  const std::string root = scratch(name);
  Generator gen(7);
  const std::vector<std::string> classes = {"blue_ish", "green_ish", "red_ish"};  // sorted: labels 0, 1, 2
  const int64_t channel_of[3] = {2, 1, 0};
  for (const std::string split : {"train", "test"})
    for (int64_t k = 0; k < 3; ++k) {
      const std::string dir = root + "/" + split + "/" + classes[k];
      fs::create_directories(dir);
      const int64_t n = split == "train" ? train_per_class : test_per_class;
      for (int64_t i = 0; i < n; ++i) {
        const std::vector<uint8_t> pixels = coloured_square(channel_of[k], gen);
        save_png(dir + "/" + std::to_string(i) + ".png", 32, 32, 3, pixels.data());
      }
    }
  return root;
}

// CIFAR-10 binary files with `per_file` records each: label byte, then R, G and B planes.
std::string write_cifar_bins(const std::string& name, int64_t per_file) {
  const std::string dir = scratch(name);
  Generator gen(3);
  auto write = [&](const std::string& file) {
    std::ofstream out(dir + "/" + file, std::ios::binary);
    for (int64_t i = 0; i < per_file; ++i) {
      const int64_t label = i % 10;
      const std::vector<uint8_t> hwc = coloured_square(label % 3, gen);
      out.put(static_cast<char>(label));
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t p = 0; p < 32 * 32; ++p) out.put(static_cast<char>(hwc[p * 3 + c]));
    }
  };
  for (int b = 1; b <= 5; ++b) write("data_batch_" + std::to_string(b) + ".bin");
  write("test_batch.bin");
  return dir;
}

// A Fashion-MNIST-shaped IDX set of bars (class k: a bar at 4 + 2k).
std::string write_fashion_idx(const std::string& name, int64_t train, int64_t test) {
  const std::string dir = scratch(name);
  Generator gen(5);
  auto make = [&](const std::string& prefix, int64_t n) {
    std::vector<uint8_t> pixels(n * 28 * 28), labels(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = i % 10;
      for (int64_t p = 0; p < 28 * 28; ++p) pixels[i * 784 + p] = static_cast<uint8_t>(gen.randint(0, 30));
      for (int64_t y = 4; y < 24; ++y) pixels[i * 784 + y * 28 + 4 + 2 * k] = 255;
      labels[i] = static_cast<uint8_t>(k);
    }
    write_idx(dir + "/" + prefix + "-images-idx3-ubyte", {n, 28, 28}, pixels);
    write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", {n}, labels);
  };
  make("train", train);
  make("t10k", test);
  return dir;
}

const std::string kQuick = "--threads=1 --print_every=2 --batch_size=8 --eval_batch_size=16 ";

TEST(LessonCifar, ImageFolderTrainsWritesEverythingAndEvaluatesItsCheckpoint) {
  const std::string data = write_image_folder("folder_data", 10, 4);
  const std::string out = scratch("folder_run");
  LessonRun run = run_lesson(kQuick + "--data=" + data + " --model=cnn --epochs=2 --lr=0.05 --ema --tta "
                             "--label_smoothing=0.1 --color_jitter=0.2 --cutout=8 --out_dir=" + out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, "ETA")) << run.output;
  EXPECT_TRUE(contains(run.output, "epoch 2/2: train loss")) << run.output;
  EXPECT_TRUE(contains(run.output, "2 blue_ish") || contains(run.output, "0 blue_ish")) << run.output;
  EXPECT_TRUE(std::regex_match(last_line(run.output), std::regex(R"(score=[01]\.\d{5}, model=CNN)")))
      << last_line(run.output);
  for (const char* file : {"history.csv", "curves.png", "augmented.png", "metrics.json", "settings.conf",
                           "checkpoint.safetensors"})
    EXPECT_TRUE(fs::exists(out + "/" + file)) << file;
  EXPECT_EQ(count_lines(read_text(out + "/history.csv")), 3);  // header + 2 epochs
  const std::string metrics = read_text(out + "/metrics.json");
  for (const char* key : {"\"dataset\": \"folder\"", "\"model\": \"CNN\"", "\"depth\": 4", "\"params\"",
                          "\"test_accuracy\"", "\"train_images_per_second\"", "\"train_seconds\"", "\"peak_rss_mb\"",
                          "\"ema\": true", "\"tta\": true"})
    EXPECT_TRUE(contains(metrics, key)) << key << " in\n" << metrics;

  // --eval of the checkpoint scores the same model (the weight average, with TTA) the same way
  LessonRun eval = run_lesson("--threads=1 --eval=" + out + "/checkpoint.safetensors");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_EQ(last_line(eval.output), last_line(run.output));
  EXPECT_TRUE(contains(eval.output, "weight average")) << eval.output;
}

TEST(LessonCifar, CifarBinaryFilesWithResNet20StopAndResume) {
  const std::string data = write_cifar_bins("cifar_bins", 6);  // 30 train, 6 test
  const std::string out = scratch("cifar_run");
  const std::string args = kQuick + "--data_dir=" + data + " --model=resnet20 --shortcut=B --epochs=2 --out_dir=" + out;
  LessonRun first = run_lesson(args + " --stop_after_epoch=1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "stopped after epoch 1 of 2")) << first.output;
  EXPECT_TRUE(contains(first.output, "training ResNet-20 (20 layers")) << first.output;
  LessonRun resumed = run_lesson("--threads=1 --resume --out_dir=" + out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(contains(resumed.output, "resuming from")) << resumed.output;
  EXPECT_FALSE(contains(resumed.output, "epoch 1/2: train")) << resumed.output;
  EXPECT_TRUE(std::regex_match(last_line(resumed.output), std::regex(R"(score=[01]\.\d{5}, model=ResNet-20)")))
      << resumed.output;
  EXPECT_EQ(count_lines(read_text(out + "/history.csv")), 3);
  const std::string metrics = read_text(out + "/metrics.json");
  EXPECT_TRUE(contains(metrics, "\"dataset\": \"cifar10\"")) << metrics;
  EXPECT_TRUE(contains(metrics, "\"depth\": 20")) << metrics;
  EXPECT_TRUE(contains(metrics, "\"airplane\"")) << metrics;
}

TEST(LessonCifar, FallsBackToFashionMnistLoudly) {
  const std::string fashion = write_fashion_idx("fashion", 60, 20);
  const std::string cwd = scratch("no_cifar_here");  // no data/cifar10 below it
  const std::string out = scratch("fallback_run");
  LessonRun run = run_lesson(kQuick + "--fashion_dir=" + fashion + " --model=cnn --epochs=1 --out_dir=" + out, cwd);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output.rfind("NOTICE: CIFAR-10 was not found in data/cifar10/", 0), 0u) << run.output;
  EXPECT_TRUE(contains(run.output, "FALLING BACK to Fashion-MNIST")) << run.output;
  EXPECT_TRUE(contains(run.output, "into data/cifar10/")) << run.output;
  EXPECT_TRUE(contains(read_text(out + "/metrics.json"), "\"dataset\": \"fashion-fallback\""));

  // a folder the user named is never replaced by the fallback
  LessonRun wrong = run_lesson(kQuick + "--data_dir=" + cwd + "/nowhere --out_dir=" + out + "_2", cwd);
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_TRUE(contains(wrong.output, "--data_dir=")) << wrong.output;
}

TEST(LessonCifar, SettingsErrorsNameTheKey) {
  const std::string out = scratch("errors");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--model=resnet7", "--model"},          {"--shortcut=C", "--shortcut"},
      {"--label_smoothing=1.5", "--label_smoothing"}, {"--schedule=linear", "--schedule"},
      {"--normalize=imagenet", "--normalize"}, {"--epochs=0", "--epochs"},
      {"--ema_decay=1", "--ema_decay"},        {"--compare=resnet20,vgg16", "--compare"},
      {"--nesterov --momentum=0", "--nesterov"}, {"--no_such_key=1", "no_such_key"},
  };
  for (const auto& [args, key] : cases) {
    LessonRun run = run_lesson(args + " --out_dir=" + out);
    EXPECT_EQ(run.exit_code, 1) << args << "\n" << run.output;
    EXPECT_TRUE(contains(run.output, key)) << args << "\n" << run.output;
  }
  LessonRun help = run_lesson("--help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* key : {"label_smoothing", "ema", "tta", "shortcut", "normalize", "compare", "resume"})
    EXPECT_TRUE(contains(help.output, key)) << key;
}

// logits [0, ln 2, 0]: p = [0.25, 0.5, 0.25], label 1.
//   eps = 0:    -ln 0.5 = ln 2
//   eps = 0.3:  targets q = [0.1, 0.8, 0.1]: -(0.1 ln 0.25 + 0.8 ln 0.5 + 0.1 ln 0.25) = 1.2 ln 2
TEST(LessonCifar, LabelSmoothingValueOnAHandMadeCase) {
  const Tensor logits = Tensor::from_vector(std::vector<float>{0.0f, static_cast<float>(std::log(2.0)), 0.0f}, {1, 3});
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{1}, {1});
  EXPECT_NEAR(cifar::smoothed_cross_entropy(logits, labels, 0.0).item(), std::log(2.0), 1e-6);
  EXPECT_NEAR(cifar::smoothed_cross_entropy(logits, labels, 0.3).item(), 1.2 * std::log(2.0), 1e-6);
  // the same formula over a batch, and its gradient: softmax - q, divided by the batch
  const Tensor batch = Tensor::randn({4, 5});
  const Tensor targets = Tensor::from_vector(std::vector<int64_t>{0, 4, 2, 2}, {4});
  GradcheckResult r = gradcheck([&](const std::vector<Tensor>& in) { return cifar::smoothed_cross_entropy(in[0], targets, 0.2); },
                                {batch});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(LessonCifar, WeightAverageFollowsTheWeightsSlowly) {
  Generator gen(1);
  auto model = std::make_shared<Linear>(2, 1, true, &gen);
  auto shadow = std::make_shared<Linear>(2, 1, true, &gen);
  cifar::WeightAverage ema(*model, shadow, 0.5);
  const float start = shadow->weight.data<float>()[0];
  EXPECT_EQ(start, model->weight.data<float>()[0]);  // starts as a copy
  model->weight.data<float>()[0] = start + 1.0f;
  ema.update();  // first update: decay min(0.5, 2/11) = 2/11
  EXPECT_NEAR(shadow->weight.data<float>()[0], start + 9.0 / 11.0, 1e-6);
}

}  // namespace test_lesson_cifar
