// One training step of the MNIST lesson's models (lessons/mnist/model.cpp): forward, cross-entropy,
// backward and an AdamW update, on a batch of 64 images [64, 1, 28, 28].
//
//   build/bin/bench_mnist --benchmark_min_time=2
//   /usr/bin/python3 bench/torch_mnist.py          # the same steps in PyTorch, same machine
//
// The "images/s" counter is what the lesson's progress line shows (without data loading). Each
// benchmark runs with 1 and 2 threads ("threads:N" in the name).
//
//   cnn: conv(1->32, 3x3, pad 1) relu maxpool2 conv(32->64) relu maxpool2 fc(3136->128) relu
//        dropout(0.25) fc(128->10)                                              421,642 weights
//   mlp: fc(784->256) relu fc(256->128) relu dropout(0.25) fc(128->10)          235,146 weights
#include <benchmark/benchmark.h>

#include <memory>

#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "layers/layers.h"
#include "optim/optim.h"

using namespace ember;

namespace {

constexpr int64_t kBatch = 64;

std::shared_ptr<Sequential> cnn(Generator& gen) {
  return std::make_shared<Sequential>(
      std::make_shared<Conv2d>(1, 32, 3, Conv2dLayerOptions{.padding = 1}, &gen), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2), std::make_shared<Conv2d>(32, 64, 3, Conv2dLayerOptions{.padding = 1}, &gen),
      std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2), std::make_shared<Flatten>(),
      std::make_shared<Linear>(64 * 7 * 7, 128, true, &gen), std::make_shared<ReLU>(),
      std::make_shared<Dropout>(0.25, &gen), std::make_shared<Linear>(128, 10, true, &gen));
}

std::shared_ptr<Sequential> mlp(Generator& gen) {
  return std::make_shared<Sequential>(std::make_shared<Flatten>(), std::make_shared<Linear>(28 * 28, 256, true, &gen),
                                      std::make_shared<ReLU>(), std::make_shared<Linear>(256, 128, true, &gen),
                                      std::make_shared<ReLU>(), std::make_shared<Dropout>(0.25, &gen),
                                      std::make_shared<Linear>(128, 10, true, &gen));
}

void train_step(benchmark::State& state, std::shared_ptr<Sequential> (*build)(Generator&)) {
  set_num_threads(static_cast<int>(state.range(0)));
  Generator gen(0);
  std::shared_ptr<Sequential> model = build(gen);
  model->train();
  AdamW optimizer(model->parameters(), {.lr = 1e-3});
  // pixels normalised as the lesson does: roughly mean 0, std 1
  Tensor images = (Tensor::rand({kBatch, 1, 28, 28}, &gen) - 0.13) / 0.31;
  Tensor labels = Tensor::randint(0, 10, {kBatch}, &gen);
  for (auto _ : state) {
    optimizer.zero_grad();
    Tensor loss = cross_entropy((*model)(images), labels);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.raw_data());
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
  set_num_threads(0);
}

void mnist_cnn_train_step_b64(benchmark::State& state) { train_step(state, cnn); }
void mnist_mlp_train_step_b64(benchmark::State& state) { train_step(state, mlp); }

}  // namespace

BENCHMARK(mnist_cnn_train_step_b64)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(mnist_mlp_train_step_b64)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
