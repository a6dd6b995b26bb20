// The training loop and evaluation, as in the MNIST lesson, plus three things a CIFAR recipe adds:
//
//   label smoothing   the loss's targets are not one-hot but 1 - eps + eps/K for the true class and
//                     eps/K for the others: the net is never pushed to infinite confidence, which
//                     keeps its logits small and helps on photos whose label is debatable
//   EMA               an average of the weights over the last ~1/(1 - decay) steps, evaluated
//                     instead of the last weights (WeightAverage in model.cpp)
//   TTA               at test time, the logits of each image and of its mirror image are averaged:
//                     two looks at the photo, the same augmentation the net was trained with
#include <chrono>
#include <iostream>

#include "core/ops.h"
#include "datasets/transforms.h"
#include "distributed/distributed.h"
#include "lessons/cifar/lesson.h"
#include "lessons/common/device.h"

namespace ember::cifar {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<int64_t> predicted_classes(const Tensor& logits) { return argmax(logits.detach(), 1).to_vector<int64_t>(); }

int64_t count_correct(const std::vector<int64_t>& predictions, const Tensor& labels) {
  const int64_t* truth = labels.data<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < predictions.size(); ++i) correct += predictions[i] == truth[i];
  return correct;
}

}  // namespace

Tensor smoothed_cross_entropy(const Tensor& logits, const Tensor& labels, double eps) {
  check(logits.dim() == 2, "smoothed_cross_entropy: expected logits [N, K], got ", shape_str(logits.shape()));
  check(eps >= 0.0 && eps < 1.0, "smoothed_cross_entropy: label_smoothing must be in [0, 1), got ", eps);
  Tensor hard = cross_entropy(logits, labels);  // mean over N of -log p[label]
  if (eps == 0.0) return hard;
  // The target's eps/K on every class: mean over N and K of -log p[k] (log_softmax along K).
  Tensor uniform = neg(mean(log_softmax(logits, 1)));
  return hard * (1.0 - eps) + uniform * eps;
}

EpochResult train_one_epoch(Module& model, Optimizer& optimizer, DataLoader& loader,
                            const std::function<double(int64_t)>& schedule, double label_smoothing,
                            WeightAverage* ema, int64_t& step, int64_t epoch, LastFiniteLoss& last_finite,
                            Progress& progress) {
  model.train();
  EpochResult result;
  double loss_sum = 0.0;
  int64_t correct = 0;
  const Clock::time_point start = Clock::now();
  const Device device = model_device(model);  // --device: the batches go where the model is
  Batch batch;
  while (loader.next(batch)) {
    optimizer.set_lr(schedule(step));
    Tensor logits = model(batch.images.to(device));  // [B, K]
    Tensor loss = smoothed_cross_entropy(logits, batch.labels.to(device), label_smoothing);
    const double loss_value = loss.item();
    check_loss_is_finite(loss_value, step, last_finite, "cifar, epoch " + std::to_string(epoch), "--lr",
                         optimizer.lr());
    optimizer.zero_grad();
    loss.backward();
    // Under mpirun: average the gradients of all processes' slices (weighted by their images).
    if (world_size() > 1) allreduce_gradients(model.parameters(), batch.labels.numel(), batch.global_size);
    optimizer.step();
    if (ema != nullptr) ema->update();
    ++step;

    const int64_t images = batch.labels.numel();
    loss_sum += loss_value * static_cast<double>(images);
    correct += count_correct(predicted_classes(logits), batch.labels);
    result.images += images;
    const double seen = static_cast<double>(result.images);
    progress.step(batch.global_size, {{"loss", loss_sum / seen}, {"acc", correct / seen}, {"lr", optimizer.lr()}});
  }
  if (world_size() > 1) {
    loss_sum = allreduce_sum(loss_sum);
    correct = allreduce_sum(correct);
    result.images = allreduce_sum(result.images);
  }
  result.step_seconds = seconds_since(start);
  result.loss = loss_sum / static_cast<double>(result.images);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(result.images);
  return result;
}

Evaluation evaluate(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size, bool tta,
                    const std::string& set_name) {
  const int64_t n = images.size(0);
  check(n > 0, "cifar: the ", set_name, " set has no images: there is nothing to evaluate on");
  model.eval();
  NoGradGuard no_grad;
  Evaluation result;
  double loss_sum = 0.0;
  const Device device = model_device(model);
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, n);
    const Tensor batch = images.slice(0, begin, end);
    Tensor logits = model(batch.to(device));
    // TTA: the mirror image is as likely a photo as the image itself (that is why training flips)
    if (tta) logits = (logits + model(hflip(batch).to(device))) * 0.5;
    Tensor batch_labels = labels.slice(0, begin, end).to(device);
    loss_sum += cross_entropy(logits, batch_labels, Reduction::Sum).item();
    std::vector<int64_t> predictions = predicted_classes(logits);
    result.predictions.insert(result.predictions.end(), predictions.begin(), predictions.end());
  }
  result.loss = loss_sum / static_cast<double>(n);
  result.accuracy = static_cast<double>(count_correct(result.predictions, labels)) / static_cast<double>(n);
  return result;
}

}  // namespace ember::cifar
