// The transfer lesson end to end on tiny generated data (build/bin/transfer: a tiny Fashion-MNIST
// source and tiny "digits", seconds), and the heart of it tested directly: a frozen backbone is
// bit-identical after training (no gradient, no optimizer update, no batch-norm statistics
// update), fine-tuning gives the backbone its own smaller learning rate, and shots are nested.
#include <gtest/gtest.h>

#include "tests/lesson_test_util.h"
#include "tests/test_util.h"
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/random.h"
#include "datasets/idx.h"
#include "lessons/transfer/lesson.h"

using namespace ember;
namespace fs = std::filesystem;

namespace test_lesson_transfer {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

const LessonProgram kProgram("transfer");
std::string scratch(const std::string& name) { return kProgram.scratch(name); }
// Runs the lesson with `args`, in the folder `cwd` when one is given.
LessonRun run_lesson(const std::string& args, const std::string& cwd = "") { return kProgram.run(args, cwd); }

// IDX files of bars: class k a vertical bar at column 3 + 2k (offset per set, so that the source
// and the target are different tasks), jittered, with noise.
std::string write_bars(const std::string& name, int64_t train, int64_t test, int64_t offset, uint64_t seed) {
  const std::string dir = scratch(name);
  Generator gen(seed);
  auto make = [&](const std::string& prefix, int64_t n) {
    std::vector<uint8_t> pixels(n * 28 * 28), labels(n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = i % 10;
      const int64_t at = 3 + 2 * k + offset + gen.randint(0, 2);
      for (int64_t p = 0; p < 28 * 28; ++p) pixels[i * 784 + p] = static_cast<uint8_t>(gen.randint(0, 40));
      for (int64_t y = 4; y < 24; ++y) pixels[i * 784 + y * 28 + std::min<int64_t>(at, 27)] = 255;
      labels[i] = static_cast<uint8_t>(k);
    }
    write_idx(dir + "/" + prefix + "-images-idx3-ubyte", {n, 28, 28}, pixels);
    write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", {n}, labels);
  };
  make("train", train);
  make("t10k", test);
  return dir;
}

// The tensors of a module as bytes, to compare bit for bit.
std::vector<std::vector<char>> snapshot(const Module& module) {
  std::vector<std::vector<char>> bytes;
  for (const auto& [name, t] : module.state_dict()) {
    const char* begin = static_cast<const char*>(t.raw_data());
    bytes.emplace_back(begin, begin + t.numel() * static_cast<int64_t>(dtype_size(t.dtype())));
  }
  return bytes;
}

transfer::LabelledImages random_images(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i % 10;
  return {Tensor::randn({n, 1, 28, 28}, &gen), Tensor::from_vector(labels, {n})};
}

TEST(LessonTransfer, EndToEndOnTinyData) {
  const std::string source = write_bars("source", 200, 40, 0, 1);
  const std::string target = write_bars("target", 140, 30, 1, 2);
  const std::string out = scratch("run");
  const std::string args = "--threads=1 --source=fashion --fashion_dir=" + source + " --target_dir=" + target +
                           " --pretrain_images=200 --pretrain_epochs=2 --width=4 --steps=6 --batch_size=16 "
                           "--shots=2,all --val_images=20 --curve_points=2 --print_every=3 --out_dir=" + out;
  LessonRun run = run_lesson(args);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(contains(run.output, "step 1: pretraining the backbone on Fashion-MNIST")) << run.output;
  EXPECT_TRUE(contains(run.output, "ETA")) << run.output;
  EXPECT_TRUE(contains(run.output, "test accuracy on the digits")) << run.output;
  for (const char* file : {"transfer.png", "curves.png", "history.csv", "metrics.json", "backbone_fashion.safetensors",
                           "models/scratch_2.safetensors", "models/frozen_all.safetensors",
                           "models/finetune_2.safetensors"})
    EXPECT_TRUE(fs::exists(out + "/" + file)) << file;
  const std::string metrics = read_text(out + "/metrics.json");
  for (const char* part : {"\"results\"", "\"shots\": 2", "\"shots\": \"all\"", "\"regime\": \"scratch\"",
                           "\"regime\": \"frozen\"", "\"regime\": \"finetune\"", "\"test_accuracy\""})
    EXPECT_TRUE(contains(metrics, part)) << part << " in\n" << metrics;

  // the second run reuses the saved backbone
  LessonRun again = run_lesson(args + " --shots=2 --regimes=frozen");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "step 1: reusing the backbone")) << again.output;

  // --eval scores a saved model with the accuracy the run printed for it
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.output, m, std::regex(R"(2 shots, finetune: test accuracy (\d\.\d{4}))")))
      << run.output;
  LessonRun eval = run_lesson("--threads=1 --target_dir=" + target + " --eval=" + out + "/models/finetune_2.safetensors");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_TRUE(contains(eval.output, "test accuracy " + m[1].str())) << eval.output;
  EXPECT_TRUE(contains(eval.output, "score=")) << eval.output;
}

TEST(LessonTransfer, SettingsErrorsNameTheKey) {
  const std::string out = scratch("errors");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--shots=0", "--shots"},         {"--shots=10,many", "--shots"}, {"--regimes=scratch,melt", "--regimes"},
      {"--source=imagenet", "--source"}, {"--steps=0", "--steps"},     {"--backbone_lr_scale=0", "--backbone_lr_scale"},
      {"--target_dir=/nonexistent", "--target_dir"},
  };
  for (const auto& [args, key] : cases) {
    LessonRun run = run_lesson(args + " --out_dir=" + out);
    EXPECT_EQ(run.exit_code, 1) << args << "\n" << run.output;
    EXPECT_TRUE(contains(run.output, key)) << args << "\n" << run.output;
  }
}

// --device: an unknown value is a settings error naming the key; cuda where no GPU can be used
// (this machine, or any without one) is an error saying so, before anything trains. Where a GPU
// is there, --device=cuda would train, so that half is only checked without one.
TEST(LessonTransfer, DeviceSettingIsCheckedAndCudaWithoutAGpuIsAnError) {
  const std::string out = scratch("device");
  LessonRun gpu = run_lesson("--device=gpu --out_dir=" + out);
  EXPECT_EQ(gpu.exit_code, 1) << gpu.output;
  EXPECT_TRUE(contains(gpu.output, "--device")) << gpu.output;
  if (cuda_is_available()) GTEST_SKIP() << "a GPU is usable here: " << cuda_device_name();
  LessonRun cuda = run_lesson("--device=cuda --out_dir=" + out);
  EXPECT_EQ(cuda.exit_code, 1) << cuda.output;
  EXPECT_TRUE(contains(cuda.output, "--device=cuda")) << cuda.output;
}

TEST(LessonTransfer, FrozenBackboneIsBitIdenticalAfterTraining) {
  Generator gen(3);
  transfer::TransferNet pretrained(4, 10, gen);
  transfer::TransferNet net(4, 10, gen);
  transfer::prepare_regime(net, "frozen", transfer::backbone_state(pretrained));
  const auto backbone_before = snapshot(*net.backbone);
  EXPECT_EQ(backbone_before, snapshot(*pretrained.backbone));  // loaded
  const auto head_before = snapshot(*net.head);
  for (const Tensor& p : net.backbone->parameters()) EXPECT_FALSE(p.requires_grad());

  std::unique_ptr<Optimizer> optimizer = transfer::regime_optimizer(net, "frozen", 1e-2, 0.1, 0.01);
  EXPECT_EQ(optimizer->num_params(), 2);  // the head's weight and bias only
  const transfer::LabelledImages train = random_images(40, 4), val = random_images(10, 5);
  transfer::TrainOptions options{.steps = 5, .batch_size = 8, .curve_points = 1, .print_every = 100,
                                 .frozen_backbone = true, .label = "frozen test"};
  transfer::train_steps(net, *optimizer, train, val, nullptr, options);
  EXPECT_EQ(snapshot(*net.backbone), backbone_before);  // weights and batch-norm statistics, bit for bit
  EXPECT_NE(snapshot(*net.head), head_before);          // the head did learn
  for (const Tensor& p : net.backbone->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(LessonTransfer, FineTuningMovesTheBackboneWithASmallerLearningRate) {
  Generator gen(3);
  transfer::TransferNet pretrained(4, 10, gen);
  transfer::TransferNet net(4, 10, gen);
  transfer::prepare_regime(net, "finetune", transfer::backbone_state(pretrained));
  std::unique_ptr<Optimizer> optimizer = transfer::regime_optimizer(net, "finetune", 1e-2, 0.1, 0.01);
  int64_t backbone_params = 0;
  for (const ParamGroup& g : optimizer->param_groups()) {
    bool in_backbone = false;
    for (const Tensor& b : net.backbone->parameters())
      in_backbone = in_backbone || b.impl() == g.params.front().impl();
    EXPECT_NEAR(*g.lr, in_backbone ? 1e-3 : 1e-2, 1e-12);
    if (in_backbone) backbone_params += static_cast<int64_t>(g.params.size());
  }
  EXPECT_EQ(backbone_params, static_cast<int64_t>(net.backbone->parameters().size()));
  const auto before = snapshot(*net.backbone);
  const auto pretrained_before = snapshot(*pretrained.backbone);
  transfer::TrainOptions options{.steps = 3, .batch_size = 8, .curve_points = 1, .print_every = 100, .label = "finetune test"};
  transfer::train_steps(net, *optimizer, random_images(16, 6), random_images(10, 7), nullptr, options);
  EXPECT_NE(snapshot(*net.backbone), before);
  // the loaded copy moved, not the pretrained backbone the next regimes start from
  EXPECT_EQ(snapshot(*pretrained.backbone), pretrained_before);
}

// After adapt_batch_norm, the frozen backbone in eval mode normalises the target images as a
// training-mode batch norm of all of them at once would: per channel, the exact mean and variance
// (running_var unbiased, n/(n-1) of the batch's). Chunks of 7 of 20 images check the sums.
TEST(LessonTransfer, AdaptBatchNormEstimatesTheTargetStatistics) {
  Generator gen(11);
  transfer::TransferNet pretrained(4, 10, gen);
  // source statistics far from the target's, as clothes against digits
  for (auto [name, t] : pretrained.backbone->state_dict())
    if (name.find("running_mean") != std::string::npos) t.data<float>()[0] = 5.0f;  // shares the buffer
  transfer::TransferNet net(4, 10, gen), reference(4, 10, gen);
  transfer::prepare_regime(net, "frozen", transfer::backbone_state(pretrained));
  reference.load_state_dict(net.state_dict());
  const Tensor images = random_images(20, 12).images;
  std::vector<Tensor> weights_before;
  for (const Tensor& p : net.backbone->parameters()) weights_before.push_back(p.clone());

  transfer::adapt_batch_norm(net, images, /*batch_size=*/7);
  net.backbone->eval();
  reference.backbone->train();  // every batch norm: the statistics of this one batch of 20
  NoGradGuard no_grad;
  const std::vector<float> adapted = (*net.backbone)(images).to_vector<float>();
  const std::vector<float> batch = (*reference.backbone)(images).to_vector<float>();
  ASSERT_EQ(adapted.size(), batch.size());
  for (size_t i = 0; i < adapted.size(); ++i) EXPECT_NEAR(adapted[i], batch[i], 2e-3) << i;
  const std::vector<Tensor> after = net.backbone->parameters();
  for (size_t i = 0; i < after.size(); ++i)
    EXPECT_EQ(after[i].to_vector<float>(), weights_before[i].to_vector<float>()) << "parameter " << i << " moved";
  // and the first batch norm's mean is no longer the source's 5
  EXPECT_LT(std::abs(net.backbone->at<BatchNorm2d>(1)->running_mean.to_vector<float>()[0]), 1.0f);
}

TEST(LessonTransfer, ShotsAreNestedAndBalanced) {
  const transfer::LabelledImages pool = random_images(200, 8);
  const transfer::LabelledImages three = transfer::take_shots(pool, 3, 10, 0);
  const transfer::LabelledImages five = transfer::take_shots(pool, 5, 10, 0);
  ASSERT_EQ(three.images.size(0), 30);
  ASSERT_EQ(five.images.size(0), 50);
  std::vector<int64_t> per_class(10, 0);
  for (int64_t label : three.labels.to_vector<int64_t>()) ++per_class[label];
  EXPECT_EQ(per_class, std::vector<int64_t>(10, 3));
  // every image of the 3-shot set is in the 5-shot set
  const float* a = three.images.data<float>();
  const float* b = five.images.data<float>();
  for (int64_t i = 0; i < 30; ++i) {
    bool found = false;
    for (int64_t j = 0; j < 50 && !found; ++j) found = std::memcmp(a + i * 784, b + j * 784, 784 * sizeof(float)) == 0;
    EXPECT_TRUE(found) << "3-shot image " << i;
  }
  EXPECT_THROW(transfer::take_shots(pool, 21, 10, 0), std::exception);  // only 20 of each class
}

}  // namespace test_lesson_transfer
