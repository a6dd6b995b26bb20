// The training loop and evaluation: the part of the lesson every later lesson repeats.
//
//   for each batch (images [B, 1, 28, 28], labels [B]):
//     logits = model(images)                 [B, 10]   one score per class
//     loss   = cross_entropy(logits, labels)           -log softmax(logits)[label], mean over B
//     zero_grad; loss.backward()                       d loss / d every weight
//     optimizer.step()                                 move every weight a little downhill
#include <chrono>
#include <iostream>

#include "core/graph_dump.h"
#include "core/ops.h"
#include "distributed/distributed.h"
#include "lessons/common/device.h"
#include "lessons/mnist/lesson.h"

namespace ember::mnist {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The predicted class of each row of logits [B, K]: the one with the highest score.
std::vector<int64_t> predicted_classes(const Tensor& logits) {
  return argmax(logits.detach(), 1).to_vector<int64_t>();
}

int64_t count_correct(const std::vector<int64_t>& predictions, const Tensor& labels) {
  const int64_t* truth = labels.data<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < predictions.size(); ++i) correct += predictions[i] == truth[i];
  return correct;
}

}  // namespace

EpochResult train_one_epoch(Module& model, Optimizer& optimizer, DataLoader& loader,
                            const std::function<double(int64_t)>& schedule, int64_t& step, int64_t epoch,
                            LastFiniteLoss& last_finite, Progress& progress, const std::string& graph_path) {
  model.train();  // dropout drops, batch norm uses (and updates) the batch statistics
  EpochResult result;
  double loss_sum = 0.0;  // summed over images, so a smaller last batch counts by its size
  int64_t correct = 0;
  const Clock::time_point start = Clock::now();
  const Device device = model_device(model);  // --device: the batches go where the model is
  Batch batch;
  while (loader.next(batch)) {
    optimizer.set_lr(schedule(step));
    Tensor logits = model(batch.images.to(device));  // [B, 10]
    Tensor loss = cross_entropy(logits, batch.labels.to(device));
    if (!graph_path.empty() && result.images == 0)  // --graph: this step's graph, before backward() frees it
      std::cout << dump_graph(loss, graph_path, graph_names(model)).message << std::endl;
    // A NaN loss would make every weight NaN at this step's update: stop before it.
    const double loss_value = loss.item();
    check_loss_is_finite(loss_value, step, last_finite, "mnist, epoch " + std::to_string(epoch), "--lr",
                         optimizer.lr());
    optimizer.zero_grad();
    loss.backward();
    // Under mpirun every process has its slice of the batch: average the gradients over all of
    // them, weighted by their images, so that each takes the same step (distributed/distributed.h).
    if (world_size() > 1) allreduce_gradients(model.parameters(), batch.labels.numel(), batch.global_size);
    optimizer.step();
    ++step;

    const int64_t images = batch.labels.numel();
    loss_sum += loss_value * static_cast<double>(images);
    correct += count_correct(predicted_classes(logits), batch.labels);
    result.images += images;
    const double seen = static_cast<double>(result.images);
    // the throughput counts every process's images; loss and accuracy are this process's
    progress.step(batch.global_size, {{"loss", loss_sum / seen}, {"acc", correct / seen}, {"lr", optimizer.lr()}});
  }
  if (world_size() > 1) {  // the epoch's figures over all processes
    loss_sum = allreduce_sum(loss_sum);
    correct = allreduce_sum(correct);
    result.images = allreduce_sum(result.images);
  }
  result.step_seconds = seconds_since(start);
  result.loss = loss_sum / static_cast<double>(result.images);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(result.images);
  return result;
}

Evaluation evaluate(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size,
                    const std::string& set_name) {
  const int64_t n = images.size(0);
  // 0 correct out of 0 is no accuracy at all (0/0 would print as a score of nan)
  check(n > 0, "mnist: the ", set_name, " set has no images: there is nothing to evaluate on");
  model.eval();         // no dropout; batch norm uses its running statistics
  NoGradGuard no_grad;  // nothing will be differentiated: record no graph
  Evaluation result;
  double loss_sum = 0.0;
  const Device device = model_device(model);
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, n);
    Tensor logits = model(images.slice(0, begin, end).to(device));
    Tensor batch_labels = labels.slice(0, begin, end).to(device);
    loss_sum += cross_entropy(logits, batch_labels, Reduction::Sum).item();
    std::vector<int64_t> predictions = predicted_classes(logits);
    result.predictions.insert(result.predictions.end(), predictions.begin(), predictions.end());
  }
  result.loss = loss_sum / static_cast<double>(n);
  result.accuracy = static_cast<double>(count_correct(result.predictions, labels)) / static_cast<double>(n);
  return result;
}

}  // namespace ember::mnist
