// The MNIST lesson end to end: the real program (build/bin/mnist) on a tiny generated IDX set, in
// a few seconds. It trains, and the test checks what a class would look at: the progress lines, the
// score line, history.csv, metrics.json, the PNGs, and that --eval of the saved checkpoint gives the
// same score. Also the fallback to Fashion-MNIST, --help, and the errors for bad settings.
// (The program is built before the tests: see tests/CMakeLists.txt.)
//
// The tiny set: 10 classes of bars, class k < 5 a vertical bar at column 4 + 4k, class k >= 5 a
// horizontal bar at row 4 + 4 (k - 5), each jittered by a pixel and sprinkled with noise. Easy for
// a CNN, so two epochs of 108 images already get most right.
#include <gtest/gtest.h>

#include "tests/lesson_test_util.h"
#include "tests/test_util.h"

#include "tests/test_util.h"
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/random.h"
#include "core/safetensors.h"
#include "datasets/idx.h"
#include "lessons/common/image_io.h"
#include "lessons/common/run_lock.h"

using namespace ember;
namespace fs = std::filesystem;

namespace test_lesson_mnist {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

const LessonProgram kProgram("mnist");
std::string scratch(const std::string& name) { return kProgram.scratch(name); }
// Runs the lesson with `args`, in the folder `cwd` when one is given.
LessonRun run_lesson(const std::string& args, const std::string& cwd = "") { return kProgram.run(args, cwd); }

// Writes train-/t10k- images and labels of the bar patterns into `dir`. Every tenth test label is
// deliberately wrong, so that even a perfect model leaves misclassified examples to show.
void write_bars(const std::string& dir, int64_t train, int64_t test, uint64_t seed) {
  Generator gen(seed);
  auto make = [&](const std::string& prefix, int64_t n, bool wrong_labels) {
    std::vector<uint8_t> pixels(n * 28 * 28), labels(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = i % 10;
      const int64_t at = 4 + 4 * (k % 5) + gen.randint(-1, 2);
      uint8_t* image = pixels.data() + i * 28 * 28;
      for (int64_t p = 0; p < 28 * 28; ++p) image[p] = static_cast<uint8_t>(gen.randint(0, 40));
      for (int64_t along = 4; along < 24; ++along)
        for (int64_t across = at; across < at + 3; ++across)
          image[k < 5 ? along * 28 + across : across * 28 + along] = 255;
      labels[i] = static_cast<uint8_t>(wrong_labels && i % 10 == 3 ? (k + 1) % 10 : k);
    }
    write_idx(dir + "/" + prefix + "-images-idx3-ubyte", {n, 28, 28}, pixels);
    write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", {n}, labels);
  };
  make("train", train, false);
  make("t10k", test, true);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

// The number after "key": in metrics.json; NaN when the key is missing.
double json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": (-?[0-9.eE+-]+)"))) return std::nan("");
  return std::stod(m[1]);
}

// A PNG file: the 8-byte signature, and it decodes to a picture of some size.
void expect_png(const std::string& path) {
  ASSERT_TRUE(fs::exists(path)) << path;
  EXPECT_EQ(read_text(path).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  Image image = load_image(path);
  EXPECT_GT(image.width, 50) << path;
  EXPECT_GT(image.height, 20) << path;
}

// What a class sees on the screen: the model summary, progress lines, the epoch summaries, the
// confusion matrix, and the score line last.
void check_output(const std::string& out) {
  EXPECT_TRUE(contains(out, "0 (Conv2d)")) << out;  // the model summary
  EXPECT_TRUE(contains(out, "Total params: 421,642")) << out;
  EXPECT_TRUE(contains(out, "108 train, 12 validation, 40 test images")) << out;
  // progress lines: epoch, step, loss, accuracy, images/s and ETA
  EXPECT_TRUE(std::regex_search(out, std::regex("epoch 2/2  step 9/9  loss [0-9.]+  acc [0-9.]+  lr [0-9.e-]+  "
                                                "[0-9.]+ img/s  ETA [0-9:]+")))
      << out;
  EXPECT_TRUE(contains(out, "epoch 1/2: train loss")) << out;
  EXPECT_TRUE(contains(out, "validation loss")) << out;
  EXPECT_TRUE(contains(out, "confusion matrix (rows: true class, columns: predicted class)")) << out;
  EXPECT_TRUE(std::regex_match(last_line(out), std::regex("score=[01]\\.[0-9]{5}, model=CNN"))) << last_line(out);
}

// What the run leaves in out_dir.
void check_files(const std::string& out_dir, const std::string& out) {
  const std::vector<std::string> history = lines_of(read_text(out_dir + "/history.csv"));
  ASSERT_EQ(history.size(), 3u);  // header + one row per epoch
  EXPECT_EQ(history[0], "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds");
  EXPECT_EQ(history[1].substr(0, 2), "1,");
  EXPECT_EQ(history[2].substr(0, 2), "2,");

  const std::string metrics = read_text(out_dir + "/metrics.json");
  for (const char* key : {"dataset", "model", "epochs", "test_accuracy", "train_images_per_second", "train_seconds",
                          "params", "confusion_matrix"})
    EXPECT_TRUE(contains(metrics, std::string("\"").append(key).append("\":"))) << key << " missing in " << metrics;
  EXPECT_TRUE(contains(metrics, "\"dataset\": \"mnist\"")) << metrics;
  EXPECT_TRUE(contains(metrics, "\"model\": \"cnn\"")) << metrics;
  EXPECT_EQ(json_number(metrics, "epochs"), 2);
  EXPECT_EQ(json_number(metrics, "params"), 421642);
  EXPECT_GT(json_number(metrics, "train_images_per_second"), 0);

  // The score line is test_accuracy, and the bars are easy: most are right after 2 epochs.
  const double accuracy = json_number(metrics, "test_accuracy");
  char expected[64];
  std::snprintf(expected, sizeof expected, "score=%.5f, model=CNN", accuracy);
  EXPECT_EQ(last_line(out), expected);
  EXPECT_GT(accuracy, 0.5);
  EXPECT_LE(accuracy, 0.9 + 1e-9);  // every tenth test label is wrong on purpose

  // The confusion matrix: 10 x 10, counts adding up to the 40 test images, the diagonal to the
  // right ones.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(metrics, m, std::regex("\"confusion_matrix\": \\[(.*)\\]")));
  const std::string matrix = m[1];
  std::vector<int64_t> counts;
  const std::regex number("[0-9]+");
  for (std::sregex_iterator it(matrix.begin(), matrix.end(), number), end; it != end; ++it)
    counts.push_back(std::stoll(it->str()));
  ASSERT_EQ(counts.size(), 100u);
  int64_t total = 0, diagonal = 0;
  for (int64_t i = 0; i < 100; ++i) total += counts[i];
  for (int64_t k = 0; k < 10; ++k) diagonal += counts[k * 10 + k];
  EXPECT_EQ(total, 40);
  EXPECT_NEAR(static_cast<double>(diagonal) / 40.0, accuracy, 1e-12);

  expect_png(out_dir + "/curves.png");
  expect_png(out_dir + "/misclassified.png");
  EXPECT_TRUE(fs::exists(out_dir + "/checkpoint.safetensors"));
  EXPECT_TRUE(contains(read_text(out_dir + "/settings.conf"), "epochs = 2"));
}

// One test for training, its outputs and --eval of its checkpoint: training is the slow part, and
// ctest runs every TEST in a process of its own.
TEST(LessonMnist, TrainsReportsAndItsCheckpointGivesTheSameScore) {
  const std::string data_dir = scratch("bars"), out_dir = scratch("run");
  write_bars(data_dir, 120, 40, 1);
  const LessonRun run = run_lesson("--data_dir=" + data_dir + " --out_dir=" + out_dir +
                                   " --epochs=2 --batch_size=12 --lr=3e-3 --print_every=3 --threads=2");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  check_output(run.output);
  check_files(out_dir, run.output);

  const LessonRun eval = run_lesson("--eval=" + out_dir + "/checkpoint.safetensors --threads=1");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_TRUE(contains(eval.output, "loaded " + out_dir + "/checkpoint.safetensors")) << eval.output;
  EXPECT_FALSE(contains(eval.output, "epoch 1/")) << "--eval must not train:\n" << eval.output;
  EXPECT_EQ(last_line(eval.output), last_line(run.output)) << eval.output;
}

TEST(LessonMnistFallback, UsesFashionMnistWhenTheDefaultFolderHasNoDigits) {
  // run where the default --data_dir (data/mnist) does not exist
  const std::string empty = scratch("no_digits"), fashion = scratch("fashion"), out = scratch("fashion_run");
  write_bars(fashion, 100, 30, 2);
  LessonRun run = run_lesson("--fashion_dir=" + fashion + " --out_dir=" + out + " --model=mlp --epochs=1 --threads=1",
                             empty);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, "NOTICE: no MNIST digits in data/mnist")) << run.output;
  EXPECT_TRUE(contains(run.output, "training on Fashion-MNIST instead")) << run.output;
  EXPECT_TRUE(contains(run.output, "Ankle boot")) << run.output;  // class names in the confusion matrix
  EXPECT_TRUE(contains(read_text(out + "/metrics.json"), "\"dataset\": \"fashion\""));
  EXPECT_TRUE(std::regex_match(last_line(run.output), std::regex("score=[01]\\.[0-9]{5}, model=MLP")))
      << last_line(run.output);
}

TEST(LessonMnistSettings, HelpListsEveryKeyWithItsDefault) {
  LessonRun run = run_lesson("--help");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  for (const char* key : {"model", "dataset", "epochs", "batch_size", "lr", "optimizer", "augment", "seed",
                          "threads", "out_dir", "eval", "batchnorm", "dropout", "schedule", "weight_decay", "data_dir"})
    EXPECT_TRUE(std::regex_search(run.output, std::regex("\n  " + std::string(key) + " +[a-z]+ "))) << key;
  EXPECT_TRUE(contains(run.output, "'runs/mnist'")) << run.output;
  EXPECT_TRUE(contains(run.output, "--config=FILE")) << run.output;
}

TEST(LessonMnistSettings, BadValuesAreErrorsThatNameTheKey) {
  LessonRun model = run_lesson("--model=resnet");
  EXPECT_EQ(model.exit_code, 1);
  EXPECT_TRUE(contains(model.output, "--model='resnet' is not one of: cnn, mlp")) << model.output;

  LessonRun epochs = run_lesson("--epochs=0");
  EXPECT_EQ(epochs.exit_code, 1);
  EXPECT_TRUE(contains(epochs.output, "--epochs must be at least 1, got 0")) << epochs.output;

  LessonRun typo = run_lesson("--epoch=3");
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_TRUE(contains(typo.output, "did you mean 'epochs'?")) << typo.output;

  const std::string dir = scratch("not_a_checkpoint");
  std::ofstream(dir + "/weights.safetensors") << "not a safetensors file";
  LessonRun eval = run_lesson("--eval=" + dir + "/weights.safetensors");
  EXPECT_EQ(eval.exit_code, 1);
  EXPECT_TRUE(contains(eval.output, dir + "/weights.safetensors")) << eval.output;

  const std::string digits = scratch("flip_digits");
  write_bars(digits, 20, 10, 3);
  LessonRun flip = run_lesson("--data_dir=" + digits + " --hflip");
  EXPECT_EQ(flip.exit_code, 1);
  EXPECT_TRUE(contains(flip.output, "--hflip mirrors the images, and a mirrored digit is another symbol")) << flip.output;
}

// ---- a hostile user: every wrong input ends in a message naming it, never in a wrong result -----

// All tensors of two safetensors files, bit for bit.
void expect_same_tensors(const std::string& a, const std::string& b) {
  const SafetensorsFile first = load_safetensors(a), second = load_safetensors(b);
  ASSERT_EQ(first.tensors.size(), second.tensors.size());
  for (size_t i = 0; i < first.tensors.size(); ++i) {
    const auto& [name, x] = first.tensors[i];
    const auto& [other_name, y] = second.tensors[i];
    EXPECT_EQ(name, other_name);
    ASSERT_EQ(x.nbytes(), y.nbytes()) << name;
    EXPECT_EQ(std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()), 0) << name << " differs";
  }
  EXPECT_EQ(first.metadata.at("step"), second.metadata.at("step"));
  EXPECT_EQ(first.metadata.at("rng_state"), second.metadata.at("rng_state"));
}

// history.csv without its last column (seconds, which no two runs share).
std::vector<std::string> history_without_seconds(const std::string& out_dir) {
  std::vector<std::string> rows;
  for (const std::string& line : lines_of(read_text(out_dir + "/history.csv")))
    rows.push_back(line.substr(0, line.find_last_of(',')));
  return rows;
}

TEST(LessonMnistResume, ResumedRunIsBitIdenticalToAnUninterruptedOne) {
  const std::string data_dir = scratch("resume_bars"), straight = scratch("straight"), parts = scratch("parts");
  write_bars(data_dir, 60, 20, 5);
  // batch norm and dropout on: their running statistics and random masks must continue exactly too
  const std::string common = "--data_dir=" + data_dir + " --epochs=2 --batch_size=12 --lr=3e-3 --warmup_steps=3 "
                             "--batchnorm --threads=2 --eval_batch_size=7";
  const LessonRun whole = run_lesson(common + " --out_dir=" + straight);
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  const LessonRun first = run_lesson(common + " --out_dir=" + parts + " --stop_after_epoch=1");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "stopped after epoch 1 of 2 (--stop_after_epoch)")) << first.output;
  EXPECT_FALSE(contains(first.output, "score=")) << first.output;
  const LessonRun second = run_lesson("--resume --out_dir=" + parts);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(contains(second.output, "resuming from " + parts + "/checkpoint.safetensors after epoch 1")) << second.output;
  EXPECT_FALSE(contains(second.output, "epoch 1/2")) << second.output;

  expect_same_tensors(straight + "/checkpoint.safetensors", parts + "/checkpoint.safetensors");
  EXPECT_EQ(history_without_seconds(straight), history_without_seconds(parts));
  const std::string a = read_text(straight + "/metrics.json"), b = read_text(parts + "/metrics.json");
  for (const char* key : {"test_accuracy", "test_loss", "val_accuracy", "val_loss"})
    EXPECT_EQ(json_number(a, key), json_number(b, key)) << key;
  EXPECT_EQ(last_line(whole.output), last_line(second.output));

  // nothing left to do: said so
  const LessonRun again = run_lesson("--resume --out_dir=" + parts);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(contains(again.output, "is already at epoch 2 of 2: nothing left to train")) << again.output;
}

TEST(LessonMnistHostile, ADataDirWithoutTheFilesIsAnErrorNotAFallback) {
  const std::string empty = scratch("chosen_but_empty");
  const LessonRun run = run_lesson("--data_dir=" + empty + " --out_dir=" + scratch("unused"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(contains(run.output, "mnist: --data_dir=" + empty + " does not hold the MNIST digits: expected "
                                   "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                                   "t10k-labels-idx1-ubyte there"))
      << run.output;
  EXPECT_FALSE(contains(run.output, "Fashion-MNIST instead")) << run.output;
}

TEST(LessonMnistHostile, AnEmptyTestSplitIsAnErrorNotANanScore) {
  const std::string data_dir = scratch("no_test_images");
  write_bars(data_dir, 30, 0, 6);
  const LessonRun run = run_lesson("--data_dir=" + data_dir + " --out_dir=" + scratch("no_test_run"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(contains(run.output, "mnist: the test split in " + data_dir + "/ (the t10k- files) has no images"))
      << run.output;
  EXPECT_FALSE(contains(run.output, "nan")) << run.output;
}

TEST(LessonMnistHostile, ALossThatBecomesNanStopsTheRun) {
  const std::string data_dir = scratch("diverge_bars");
  write_bars(data_dir, 60, 20, 7);
  const LessonRun run = run_lesson("--data_dir=" + data_dir + " --out_dir=" + scratch("diverge_run") +
                                   " --model=mlp --optimizer=sgd --momentum=0 --schedule=constant --lr=1e6 "
                                   "--weight_decay=0 --epochs=3 --batch_size=6 --threads=1");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("error: mnist, epoch [0-9]+: the loss became -?(nan|inf) at "
                                                       "step [0-9]+; the last finite loss was ")))
      << run.output;
  EXPECT_TRUE(contains(run.output, "try a smaller --lr (this run: 1000000)")) << run.output;
  EXPECT_FALSE(contains(run.output, "score=")) << run.output;
}

TEST(LessonMnistHostile, AbsurdAndNonFiniteSettingsNameTheKeyAndTheRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--rotation=nan", "config: key 'rotation' expects a finite number (not nan or inf) but got \"nan\""},
      {"--lr=inf", "key 'lr' expects a finite number"},
      {"--lr=1e300", "mnist: --lr must be from 0 to 1e+06, got 1e+300"},
      {"--rotation=-1", "mnist: --rotation must be from 0 to 180, got -1"},
      {"--batch_size=100000000", "mnist: --batch_size must be from 1 to 65536, got 100000000"},
      {"--max_shift=9223372036854775807", "mnist: --max_shift must be from 0 to 27, got 9223372036854775807"},
      {"--momentum=1.5", "mnist: --momentum must be from 0 to 0.999, got 1.5"},
      {"--epochs=2 --stop_after_epoch=3", "mnist: --stop_after_epoch must be from 0 to 2, got 3"},
  };
  for (const auto& [args, message] : cases) {
    const LessonRun run = run_lesson(args + " --out_dir=" + scratch("absurd"));
    EXPECT_EQ(run.exit_code, 1) << args << ": " << run.output;
    EXPECT_TRUE(contains(run.output, message)) << args << ": " << run.output;
  }
}

TEST(LessonMnistHostile, ASecondRunInTheSameFolderIsRefusedAtOnce) {
  const std::string out_dir = scratch("locked_run");
  // this test process holds the folder, as a first run would
  RunLock first(out_dir, "mnist");
  const LessonRun second = run_lesson("--out_dir=" + out_dir + " --data_dir=" + scratch("never_read"));
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_TRUE(contains(second.output, "mnist: another run is using the folder " + out_dir + ": process " +
                                          std::to_string(getpid()) + " ("))
      << second.output;
  EXPECT_FALSE(fs::exists(out_dir + "/history.csv"));
}

TEST(LessonMnistHostile, AnOutDirThatCannotBeWrittenSaysWhatFailed) {
  const LessonRun run = run_lesson("--out_dir=/proc/self");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(contains(run.output, "mnist: cannot create the lock file /proc/self/.lock in the run folder /proc/self: "
                                   "open: ")) << run.output;
  EXPECT_TRUE(contains(run.output, "(the folder exists, but no file can be created in it)")) << run.output;
  EXPECT_FALSE(contains(run.output, "does not exist")) << run.output;
}

TEST(LessonMnistHostile, EditedCheckpointMetadataNamesTheKeyAndTheFile) {
  const std::string data_dir = scratch("edited_bars"), out_dir = scratch("edited_run");
  write_bars(data_dir, 30, 10, 8);
  const LessonRun run = run_lesson("--data_dir=" + data_dir + " --out_dir=" + out_dir +
                                   " --model=mlp --epochs=2 --stop_after_epoch=1 --threads=1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string path = out_dir + "/checkpoint.safetensors";
  const SafetensorsFile saved = load_safetensors(path);
  auto edited = [&](const std::string& key, const std::string* value) {
    Metadata metadata = saved.metadata;
    if (value) metadata[key] = *value;
    else metadata.erase(key);
    save_safetensors(path, saved.tensors, metadata);
  };
  const std::string not_a_number = "twelve";
  edited("pixel_mean", nullptr);
  LessonRun eval = run_lesson("--eval=" + path);
  EXPECT_EQ(eval.exit_code, 1);
  EXPECT_TRUE(contains(eval.output, "mnist: " + path + " has no metadata \"pixel_mean\"")) << eval.output;
  edited("pixel_std", &not_a_number);
  eval = run_lesson("--eval=" + path);
  EXPECT_TRUE(contains(eval.output, "mnist: " + path + ": metadata \"pixel_std\" = \"twelve\" is not a finite number"))
      << eval.output;
  edited("history", nullptr);
  LessonRun resume = run_lesson("--resume --out_dir=" + out_dir);
  EXPECT_EQ(resume.exit_code, 1);
  EXPECT_TRUE(contains(resume.output, "mnist: " + path + " has no metadata \"history\"")) << resume.output;
  edited("epoch", &not_a_number);
  resume = run_lesson("--resume --out_dir=" + out_dir);
  EXPECT_TRUE(contains(resume.output, "metadata \"epoch\" = \"twelve\" is not a finite number")) << resume.output;
}

}  // namespace test_lesson_mnist
