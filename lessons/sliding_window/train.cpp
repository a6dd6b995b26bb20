// Training the patch classifier: the MNIST lesson's loop, on patches with 11 classes.
//
//   for each batch (patches [B, 1, 28, 28], labels [B] in 0..10):
//     logits = model(patches)                  [B, 11]
//     loss   = cross_entropy(logits, labels)
//     zero_grad; loss.backward(); optimizer.step()
#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/ops.h"
#include "lessons/common/device.h"
#include "lessons/sliding_window/lesson.h"

namespace ember::sliding_window {

namespace {

using Clock = std::chrono::steady_clock;

// `logits` where the model is, `labels` on the CPU: the predictions are counted on the CPU.
int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  const std::vector<int64_t> predicted = argmax(logits.detach(), 1).cpu().to_vector<int64_t>();
  const int64_t* truth = labels.data<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == truth[i];
  return correct;
}

}  // namespace

EpochResult train_one_epoch(Module& model, Optimizer& optimizer, const Patches& patches, int64_t batch_size,
                            Generator& gen, int64_t epoch, LastFiniteLoss& last_finite, Progress& progress,
                            int64_t& step) {
  model.train();
  const int64_t n = patches.labels.numel();
  // A new order every epoch (Fisher-Yates with the lesson's generator).
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.randint(0, i + 1)]);

  EpochResult result;
  double loss_sum = 0.0;
  int64_t correct = 0;
  const Device device = model_device(model);  // --device: the batches go where the model is
  const Clock::time_point start = Clock::now();
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    const Tensor index = Tensor::from_vector(std::vector<int64_t>(order.begin() + begin, order.begin() + end),
                                             {end - begin});
    const Tensor images = index_select(patches.images, index), labels = index_select(patches.labels, index);
    Tensor logits = model(images.to(device));  // [B, 11]
    Tensor loss = cross_entropy(logits, labels.to(device));
    const double loss_value = loss.item();
    check_loss_is_finite(loss_value, step, last_finite, "sliding_window, epoch " + std::to_string(epoch), "--lr",
                         optimizer.lr());
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    ++step;

    loss_sum += loss_value * static_cast<double>(end - begin);
    correct += count_correct(logits, labels);
    result.images += end - begin;
    const double seen = static_cast<double>(result.images);
    progress.step(end - begin, {{"loss", loss_sum / seen}, {"acc", correct / seen}});
  }
  result.step_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.loss = loss_sum / static_cast<double>(result.images);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(result.images);
  return result;
}

PatchEvaluation evaluate_patches(Module& model, const Patches& patches, int64_t batch_size) {
  const int64_t n = patches.labels.numel();
  check(n > 0, "sliding_window: there are no patches to evaluate on");
  model.eval();
  NoGradGuard no_grad;
  double loss_sum = 0.0;
  int64_t correct = 0;
  const Device device = model_device(model);
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    Tensor logits = model(patches.images.slice(0, begin, end).to(device));
    Tensor labels = patches.labels.slice(0, begin, end);
    loss_sum += cross_entropy(logits, labels.to(device), Reduction::Sum).item();
    correct += count_correct(logits, labels);
  }
  return {loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n)};
}

}  // namespace ember::sliding_window
