// Whole models on the GPU against the same models on the CPU: Module::to(Device::CUDA), a few
// training steps with the optimizer's state on the GPU, and the losses of every step equal to 1e-4
// (relative to 1 + |cpu loss|): the MNIST CNN of lessons/mnist (batch norm, dropout, SGD with
// Nesterov momentum and AdamW), ResNet-20 (layers/resnet.h) and the char GPT (layers/gpt.h, attention
// dropout on). Both copies draw their dropout masks from generators with the same seed: the masks
// are the same on both devices. And a checkpoint saved from the GPU loads into a CPU model and back.
// Every test skips where no GPU can be used.
#include <filesystem>

#include "layers/gpt.h"
#include "layers/resnet.h"
#include "lessons/mnist/lesson.h"
#include "optim/checkpoint.h"
#include "tests/test_cuda_util.h"

#ifndef EMBER_TEST_TMP
#define EMBER_TEST_TMP "/tmp/ember_test_tmp"
#endif

using namespace ember;

namespace test_cuda_training {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

constexpr double kLossTol = 1e-4;

NamedTensors named(const Module& model) {
  StateDict state = model.state_dict();
  return NamedTensors(state.begin(), state.end());
}

// `steps` steps of loss(model) -> backward -> optimizer step on both copies; the losses must agree
// at every step, and the parameters afterwards (loosely).
void expect_same_training(Module& cpu_model, Module& gpu_model, Optimizer& cpu_opt, Optimizer& gpu_opt,
                          const std::function<Tensor(Module&, Device)>& loss_of, int steps) {
  for (int step = 0; step < steps; ++step) {
    cpu_opt.zero_grad();
    gpu_opt.zero_grad();
    Tensor loss_cpu = loss_of(cpu_model, Device::CPU), loss_gpu = loss_of(gpu_model, Device::CUDA);
    ASSERT_EQ(loss_gpu.device(), Device::CUDA);
    const double a = loss_gpu.item(), b = loss_cpu.item();
    EXPECT_LE(std::abs(a - b) / (1 + std::abs(b)), kLossTol) << "step " << step << ": gpu loss " << a << ", cpu " << b;
    loss_cpu.backward();
    loss_gpu.backward();
    cpu_opt.step();
    gpu_opt.step();
  }
  const NamedTensors cpu_params = named(cpu_model), gpu_params = named(gpu_model);
  for (size_t i = 0; i < cpu_params.size(); ++i) {
    if (!is_floating(cpu_params[i].second.dtype())) continue;
    EXPECT_EQ(gpu_params[i].second.device(), Device::CUDA) << gpu_params[i].first;
    // loose: an Adam step moves an element by about lr * sign(g), so a gradient within rounding of 0
    // can move the two copies 2 lr apart; the losses above are the real check
    const std::string message = compare(gpu_params[i].second, cpu_params[i].second, 1e-2, cpu_params[i].first);
    EXPECT_TRUE(message.empty()) << message;
  }
}

TEST(CudaTraining, MnistCnnWithBatchNormAndDropout) {
  SKIP_WITHOUT_GPU();
  for (const char* optimizer : {"sgd", "adamw"}) {
    SCOPED_TRACE(optimizer);
    Config cfg;
    mnist::add_settings(cfg);
    cfg.set("batchnorm", "true");
    cfg.set("optimizer", optimizer);
    cfg.set("lr", "0.01");
    Generator cpu_gen(3), gpu_gen(3);
    auto cpu_model = mnist::build_model(cfg, cpu_gen), gpu_model = mnist::build_model(cfg, gpu_gen);
    gpu_model->to(Device::CUDA);
    auto cpu_opt = mnist::build_optimizer(cfg, *cpu_model), gpu_opt = mnist::build_optimizer(cfg, *gpu_model);
    Generator data(30);  // not cpu_gen: both model generators must draw the same dropout seeds
    Tensor images = Tensor::uniform({16, 1, 28, 28}, 0.0, 1.0, &data);
    Tensor labels = Tensor::randint(0, 10, {16}, &data);
    expect_same_training(
        *cpu_model, *gpu_model, *cpu_opt, *gpu_opt,
        [&](Module& m, Device d) { return cross_entropy(m(images.to(d)), labels.to(d)); }, 4);
    // the running statistics moved and were updated alike
    const NamedTensors cpu_state = named(*cpu_model), gpu_state = named(*gpu_model);
    for (size_t i = 0; i < cpu_state.size(); ++i)
      if (cpu_state[i].first.find("running_") != std::string::npos) {
        const std::string message = compare(gpu_state[i].second, cpu_state[i].second, 1e-4, cpu_state[i].first);
        EXPECT_TRUE(message.empty()) << message;
      }
  }
}

TEST(CudaTraining, ResNet20) {
  SKIP_WITHOUT_GPU();
  Generator cpu_gen(4), gpu_gen(4);
  auto cpu_model = make_model("resnet20", 10, 3, Shortcut::A, &cpu_gen);
  auto gpu_model = make_model("resnet20", 10, 3, Shortcut::A, &gpu_gen);
  gpu_model->to(Device::CUDA);
  SGD cpu_opt(cpu_model->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
  SGD gpu_opt(gpu_model->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
  Tensor images = random_tensor({8, 3, 32, 32}, DType::Float32, 5);
  Generator data(31);
  Tensor labels = Tensor::randint(0, 10, {8}, &data);
  expect_same_training(
      *cpu_model, *gpu_model, cpu_opt, gpu_opt,
      [&](Module& m, Device d) { return cross_entropy(m(images.to(d)), labels.to(d)); }, 3);
}

TEST(CudaTraining, CharGptWithDropout) {
  SKIP_WITHOUT_GPU();
  const GPTConfig config{.vocab_size = 30, .block_size = 16, .n_layer = 2, .n_head = 2, .n_embd = 32, .dropout = 0.1};
  Generator cpu_gen(6), gpu_gen(6);
  GPT cpu_model(config, &cpu_gen), gpu_model(config, &gpu_gen);
  gpu_model.to(Device::CUDA);
  AdamW cpu_opt(cpu_model.parameters(), {.lr = 3e-3, .weight_decay = 0.1});
  AdamW gpu_opt(gpu_model.parameters(), {.lr = 3e-3, .weight_decay = 0.1});
  Generator data(7);
  Tensor ids = Tensor::randint(0, 30, {4, 16}, &data), targets = Tensor::randint(0, 30, {4, 16}, &data);
  expect_same_training(
      cpu_model, gpu_model, cpu_opt, gpu_opt,
      [&](Module& m, Device d) { return static_cast<GPT&>(m).loss(ids.to(d), targets.to(d)); }, 3);
}

TEST(CudaTraining, ACheckpointSavedFromTheGpuLoadsOnEitherDevice) {
  SKIP_WITHOUT_GPU();
  const std::string dir = std::string(EMBER_TEST_TMP) + "/cuda_checkpoint";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/model.safetensors";
  Config cfg;
  mnist::add_settings(cfg);
  cfg.set("batchnorm", "true");
  Generator gen(8);
  auto gpu_model = mnist::build_model(cfg, gen);
  gpu_model->to(Device::CUDA);
  auto gpu_opt = mnist::build_optimizer(cfg, *gpu_model);
  Tensor images = Tensor::uniform({4, 1, 28, 28}, 0.0, 1.0, &gen).cuda();
  Tensor labels = Tensor::randint(0, 10, {4}, &gen).cuda();
  cross_entropy((*gpu_model)(images), labels).backward();
  gpu_opt->step();
  save_checkpoint(path, named(*gpu_model), *gpu_opt, 1, gen.state());

  // into a CPU model: the same numbers
  Generator other(9);
  auto cpu_model = mnist::build_model(cfg, other);
  auto cpu_opt = mnist::build_optimizer(cfg, *cpu_model);
  load_checkpoint(path, named(*cpu_model), *cpu_opt);
  const NamedTensors saved = named(*gpu_model), loaded = named(*cpu_model);
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(loaded[i].second.device(), Device::CPU);
    EXPECT_EQ(loaded[i].second.to_vector<double>(), saved[i].second.to_vector<double>()) << saved[i].first;
  }
  // and back into a GPU model, whose optimizer state then lives on the GPU
  auto again = mnist::build_model(cfg, other);
  again->to(Device::CUDA);
  auto again_opt = mnist::build_optimizer(cfg, *again);
  load_checkpoint(path, named(*again), *again_opt);
  for (const auto& [name, t] : again_opt->state_dict().tensors) EXPECT_EQ(t.device(), Device::CUDA) << name;
  const NamedTensors reloaded = named(*again);
  for (size_t i = 0; i < saved.size(); ++i)
    EXPECT_EQ(reloaded[i].second.to_vector<double>(), saved[i].second.to_vector<double>()) << saved[i].first;
}

}  // namespace test_cuda_training
