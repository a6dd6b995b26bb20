// Checkpoints: a run stopped, saved, loaded into fresh tensors and a fresh optimizer and continued
// gives the same bits as a run that never stopped.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/safetensors.h"
#include "optim/optim.h"

using namespace ember;
namespace fs = std::filesystem;

namespace test_checkpoint {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch(const std::string& name) {
  fs::path dir = fs::path(EMBER_TEST_TMP) / ("checkpoint_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// A tiny linear regression, y = x w + b, with raw tensors: w [3, 1], b [1].
struct Regression {
  Tensor w, b;
  NamedTensors state() const { return {{"linear.weight", w}, {"linear.bias", b}}; }
};

Regression init_regression(uint64_t seed) {
  Generator gen(seed);
  Regression m{Tensor::randn({3, 1}, &gen), Tensor::randn({1}, &gen)};
  m.w.requires_grad_();
  m.b.requires_grad_();
  return m;
}

std::unique_ptr<AdamW> make_optimizer(const Regression& m, double lr) {
  // decay on the matrix only, as nanoGPT; beta2 0.99 as the course's baby GPT
  return std::make_unique<AdamW>(param_groups_no_decay_for_1d(m.state(), 0.1), AdamWOptions{.lr = lr, .beta2 = 0.99});
}

const WarmupCosine kSchedule{.max_lr = 0.05, .min_lr = 0.005, .warmup_iters = 3, .lr_decay_iters = 8};

// Iterations [from, to): a fresh batch from `data` each time (targets from a known line plus
// noise), the schedule's learning rate, mean squared error, backward, clipping, step.
void train(Regression& m, Optimizer& opt, Generator& data, int64_t from, int64_t to) {
  const Tensor w_true = Tensor::from_vector(std::vector<float>{1.5f, -2.0f, 0.5f}, {3, 1});
  for (int64_t it = from; it < to; ++it) {
    opt.set_lr(kSchedule(it));
    Tensor x = Tensor::randn({8, 3}, &data);
    Tensor target = matmul(x, w_true) + 0.3 + Tensor::randn({8, 1}, &data) * 0.1;
    opt.zero_grad();
    Tensor y = matmul(x, m.w) + m.b;
    Tensor loss = mse_loss(y, target);
    loss.backward();
    clip_grad_norm({m.w, m.b}, 1.0);
    opt.step();
  }
}

TEST(Checkpoint, ResumeIsBitIdentical) {
  std::string dir = scratch("resume");
  const std::string path = dir + "/run.safetensors";

  // 10 iterations without stopping
  Regression straight = init_regression(1);
  auto straight_opt = make_optimizer(straight, 0.05);
  Generator straight_data(2);
  train(straight, *straight_opt, straight_data, 0, 10);

  // 5 iterations, then a checkpoint
  {
    Regression first = init_regression(1);
    auto first_opt = make_optimizer(first, 0.05);
    Generator first_data(2);
    train(first, *first_opt, first_data, 0, 5);
    // the data generator has a spare normal pending here: the state must carry it
    save_checkpoint(path, first.state(), *first_opt, 5, first_data.state(), {{"run", "resume-test"}});
  }

  // a new process, in effect: other initial values, another learning rate, another data seed
  Regression resumed = init_regression(77);
  auto resumed_opt = make_optimizer(resumed, 123.0);
  Generator resumed_data(999);
  CheckpointInfo info = load_checkpoint(path, resumed.state(), *resumed_opt);
  EXPECT_EQ(info.step, 5);
  EXPECT_EQ(info.extra, (Metadata{{"run", "resume-test"}}));
  resumed_data.set_state(info.rng_state);
  train(resumed, *resumed_opt, resumed_data, info.step, 10);

  EXPECT_TRUE(same_bits(resumed.w, straight.w)) << resumed.w << " vs " << straight.w;
  EXPECT_TRUE(same_bits(resumed.b, straight.b)) << resumed.b << " vs " << straight.b;
  EXPECT_EQ(resumed_opt->state(0).step, 10);
  EXPECT_TRUE(same_bits(resumed_opt->state(0).buffers.at("exp_avg_sq"),
                        straight_opt->state(0).buffers.at("exp_avg_sq")));
  EXPECT_EQ(resumed_data.next_u64(), straight_data.next_u64());
  // and training did move the parameters
  EXPECT_FALSE(same_bits(straight.w, init_regression(1).w));
}

TEST(Checkpoint, FileLayout) {
  std::string dir = scratch("layout");
  const std::string path = dir + "/c.safetensors";
  Regression m = init_regression(3);
  SGD opt({m.w, m.b}, {.lr = 0.1 + 0.2, .momentum = 0.9});  // 0.30000000000000004: must survive exactly
  Generator data(4);
  train(m, opt, data, 0, 1);
  opt.set_lr(0.1 + 0.2);
  Generator rng(5);
  save_checkpoint(path, m.state(), opt, 1, rng.state(), {{"val_loss", "0.25"}});

  SafetensorsFile file = load_safetensors(path);
  std::vector<std::string> names;
  for (const auto& [name, t] : file.tensors) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"linear.weight", "linear.bias", "optimizer.state.0.momentum_buffer",
                                             "optimizer.state.1.momentum_buffer"}));
  EXPECT_EQ(file.metadata.at("format"), "ember-checkpoint");
  EXPECT_EQ(file.metadata.at("step"), "1");
  EXPECT_EQ(file.metadata.at("val_loss"), "0.25");
  EXPECT_EQ(file.metadata.at("optimizer.type"), "sgd");
  EXPECT_EQ(file.metadata.at("optimizer.group.0.lr"), "0.30000000000000004");
  EXPECT_EQ(file.metadata.at("optimizer.group.0.momentum"), "0.9");
  EXPECT_EQ(file.metadata.at("optimizer.state.1.step"), "1");
  auto s = rng.state();
  EXPECT_EQ(file.metadata.at("rng_state"), std::to_string(s[0]) + " " + std::to_string(s[1]) + " " +
                                               std::to_string(s[2]) + " " + std::to_string(s[3]) + " 0 0");
  EXPECT_TRUE(same_bits(file.get("linear.weight"), m.w));

  Regression other = init_regression(9);
  SGD other_opt({other.w, other.b}, {.lr = 1.0, .momentum = 0.1});
  load_checkpoint(path, other.state(), other_opt);
  EXPECT_EQ(other_opt.lr(), 0.1 + 0.2);  // bit for bit
  EXPECT_EQ(other_opt.param_groups()[0].option("momentum"), 0.9);
  EXPECT_TRUE(same_bits(other.w, m.w));
}

TEST(Checkpoint, MismatchesChangeNothing) {
  std::string dir = scratch("mismatch");
  const std::string path = dir + "/c.safetensors";
  Regression m = init_regression(3);
  AdamW opt({m.w, m.b});
  save_checkpoint(path, m.state(), opt, 0, Generator(1).state());

  // a model with another shape and an extra tensor: every problem in one message, nothing loaded
  Tensor w = Tensor::zeros({4, 1}), b = Tensor::zeros({1}), scale = Tensor::zeros({1});
  for (Tensor* t : {&w, &b, &scale}) t->requires_grad_();
  AdamW other_opt({w, b, scale});
  NamedTensors other = {{"linear.weight", w}, {"linear.bias", b}, {"scale", scale}};
  std::string msg = error_of([&] { load_checkpoint(path, other, other_opt); });
  EXPECT_TRUE(contains(msg, "load_checkpoint '" + path + "': state dict does not match the model (2 problems)")) << msg;
  EXPECT_TRUE(contains(msg, "shape mismatch: \"linear.weight\": model has [4, 1], loaded [3, 1]")) << msg;
  EXPECT_TRUE(contains(msg, "missing: \"scale\"")) << msg;
  EXPECT_EQ(b.item(), 0.0);

  // the right model but another optimizer: refused before the model is touched
  Regression same = init_regression(8);
  const std::vector<float> before = same.w.to_vector<float>();
  SGD sgd({same.w, same.b});
  msg = error_of([&] { load_checkpoint(path, same.state(), sgd); });
  EXPECT_TRUE(contains(msg, "sgd: load_state_dict: the state was saved by 'adamw', this optimizer is 'sgd'")) << msg;
  EXPECT_EQ(same.w.to_vector<float>(), before);

  // but the weights alone can be taken, e.g. for evaluation
  CheckpointInfo info = load_model_from_checkpoint(path, same.state());
  EXPECT_EQ(info.step, 0);
  EXPECT_TRUE(same_bits(same.w, m.w));

  // a plain safetensors file is not a checkpoint
  save_safetensors(dir + "/plain.safetensors", m.state());
  msg = error_of([&] { load_checkpoint(dir + "/plain.safetensors", same.state(), sgd); });
  EXPECT_TRUE(contains(msg, "the metadata has no \"format\" (is this a checkpoint written by save_checkpoint?)"))
      << msg;
}

// A checkpoint edited by hand, or saved after training diverged: each damage is named, with the file.
TEST(Checkpoint, DamagedValuesAreRefusedByName) {
  std::string dir = scratch("damaged");
  Regression m = init_regression(3);
  auto opt = make_optimizer(m, 0.05);
  Generator data(2);
  train(m, *opt, data, 0, 3);
  const std::string path = dir + "/c.safetensors";
  save_checkpoint(path, m.state(), *opt, 3, data.state());
  SafetensorsFile file = load_safetensors(path);

  auto load_edited = [&](const NamedTensors& tensors, const Metadata& metadata) {
    const std::string edited = dir + "/edited.safetensors";
    save_safetensors(edited, tensors, metadata);
    Regression fresh = init_regression(4);
    auto fresh_opt = make_optimizer(fresh, 0.05);
    const std::vector<float> before = fresh.w.to_vector<float>();
    std::string msg = error_of([&] { load_checkpoint(edited, fresh.state(), *fresh_opt); });
    EXPECT_EQ(fresh.w.to_vector<float>(), before) << "changed although refused: " << msg;
    EXPECT_TRUE(contains(msg, "load_checkpoint: '" + edited + "'")) << msg;
    const std::string model_msg = error_of([&] { load_model_from_checkpoint(edited, fresh.state()); });
    return std::make_pair(msg, model_msg);
  };
  auto with_tensor = [&](const std::string& name, float value) {
    NamedTensors tensors;
    for (const auto& [key, t] : file.tensors) {
      Tensor copy = t.clone();
      if (key == name) copy.data<float>()[0] = value;
      tensors.emplace_back(key, copy);
    }
    return tensors;
  };
  auto with_metadata = [&](const std::string& key, const std::string& value) {
    Metadata metadata = file.metadata;
    metadata[key] = value;
    return metadata;
  };

  // NaN or infinite weights
  auto [msg, model_msg] = load_edited(with_tensor("linear.weight", std::nanf("")), file.metadata);
  EXPECT_TRUE(contains(msg, "tensor \"linear.weight\" [3, 1] holds nan at element 0: a checkpoint's tensors must be "
                            "finite"))
      << msg;
  EXPECT_TRUE(contains(model_msg, "tensor \"linear.weight\" [3, 1] holds nan")) << model_msg;
  std::tie(msg, model_msg) = load_edited(with_tensor("linear.bias", INFINITY), file.metadata);
  EXPECT_TRUE(contains(msg, "tensor \"linear.bias\" [1] holds inf")) << msg;

  // the optimizer's state: a negative mean of squares, a step no int64 holds
  std::tie(msg, model_msg) = load_edited(with_tensor("optimizer.state.0.exp_avg_sq", -1.0f), file.metadata);
  EXPECT_TRUE(contains(msg, "\"state.0.exp_avg_sq\" holds -1 at element 0: exp_avg_sq is a mean of squares")) << msg;
  std::tie(msg, model_msg) = load_edited(file.tensors, with_metadata("optimizer.state.0.step", "inf"));
  EXPECT_TRUE(contains(msg, "\"state.0.step\" must be a whole number from 0 to 2^53, got inf")) << msg;
  std::tie(msg, model_msg) = load_edited(file.tensors, with_metadata("optimizer.state.0.step", "1e300"));
  EXPECT_TRUE(contains(msg, "\"state.0.step\" must be a whole number from 0 to 2^53, got 1e+300")) << msg;

  // metadata: a generator state of zeros (it would draw zeros forever), a negative step
  std::tie(msg, model_msg) = load_edited(file.tensors, with_metadata("rng_state", "0 0 0 0 0 0"));
  EXPECT_TRUE(contains(msg, "metadata \"rng_state\" = \"0 0 0 0 0 0\" starts with four zero words")) << msg;
  std::tie(msg, model_msg) = load_edited(file.tensors, with_metadata("step", "-3"));
  EXPECT_TRUE(contains(msg, "metadata \"step\" = -3 is negative")) << msg;
  std::tie(msg, model_msg) = load_edited(file.tensors, with_metadata("step", "three"));
  EXPECT_TRUE(contains(msg, "metadata \"step\" = \"three\" is not a valid number")) << msg;

  // and the generator itself refuses the zero state
  Generator gen(1);
  msg = error_of([&] { gen.set_state({0, 0, 0, 0, 0, 0}); });
  EXPECT_TRUE(contains(msg, "Generator::set_state: the four state words are all zero")) << msg;
}

TEST(Checkpoint, ReservedNames) {
  std::string dir = scratch("reserved");
  Regression m = init_regression(3);
  AdamW opt({m.w, m.b});
  std::string msg =
      error_of([&] { save_checkpoint(dir + "/c.safetensors", m.state(), opt, 0, {}, {{"step", "9"}}); });
  EXPECT_TRUE(contains(msg, "save_checkpoint: extra metadata key \"step\" is reserved")) << msg;
  msg = error_of([&] {
    save_checkpoint(dir + "/c.safetensors", {{"optimizer.w", m.w}}, opt, 0, {});
  });
  EXPECT_TRUE(contains(msg, "save_checkpoint: model tensor \"optimizer.w\" starts with \"optimizer.\"")) << msg;
  EXPECT_TRUE(fs::is_empty(dir));
}

}  // namespace test_checkpoint
