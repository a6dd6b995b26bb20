// Training one regime for a fixed number of steps, and scoring it.
//
//   for each step (a batch of labelled target images [B, 1, 28, 28]):
//     logits = head(backbone(images))            [B, 10]
//     loss = cross_entropy(logits, labels)
//     backward; optimizer step (only the parameter groups it was given)
//
// Every regime gets the same number of steps, so the comparison is at equal compute; with few shots
// a step sees the same images again and again (many epochs), with all of them each image once or twice.
#include <cmath>
#include <iostream>

#include "core/ops.h"
#include "datasets/dataloader.h"
#include "lessons/common/device.h"
#include "lessons/common/progress.h"
#include "lessons/transfer/lesson.h"

namespace ember::transfer {

std::vector<CurvePoint> train_steps(TransferNet& net, Optimizer& optimizer, const LabelledImages& train, const LabelledImages& val,
                                    const Transform& transform, const TrainOptions& options) {
  const int64_t n = train.images.size(0);
  check(n > 0, "transfer: ", options.label, ": no training images");
  TensorDataset dataset(train.images, train.labels);
  DataLoader loader(dataset, std::min(options.batch_size, n), /*shuffle=*/true, options.seed, /*drop_last=*/false,
                    transform);
  std::vector<double> base_lr;  // each group's starting learning rate: the cosine scales them all alike
  for (const ParamGroup& g : optimizer.param_groups()) base_lr.push_back(*g.lr);

  std::vector<CurvePoint> curve;
  Progress progress(options.steps, options.print_every);
  progress.set_prefix(options.label);
  double loss_sum = 0.0;
  int64_t losses = 0, next_point = 1;
  Batch batch;
  const Device device = model_device(net);  // --device: the batches go where the model is
  for (int64_t step = 0; step < options.steps;) {
    if (!loader.next(batch)) continue;  // the pass is over: the next call starts a new, reshuffled one
    net.train();
    if (options.frozen_backbone) net.backbone->eval();  // running statistics stay the pretrained ones
    const double factor = 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(options.steps)));
    for (size_t g = 0; g < base_lr.size(); ++g) optimizer.param_groups()[g].lr = base_lr[g] * factor;
    Tensor loss = cross_entropy(net(batch.images.to(device)), batch.labels.to(device));
    const double value = loss.item();
    check(std::isfinite(value), "transfer: ", options.label, ": the loss became ", value, " at step ", step,
          " (try a smaller --lr)");
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    ++step;
    loss_sum += value;
    ++losses;
    progress.step(batch.labels.numel(), {{"loss", loss_sum / static_cast<double>(losses)}});
    // validation points at steps/curve_points, 2 steps/curve_points, ..., steps
    if (step * options.curve_points >= next_point * options.steps) {
      curve.push_back({step, loss_sum / static_cast<double>(losses), accuracy(net, val.images, val.labels)});
      loss_sum = 0.0;
      losses = 0;
      ++next_point;
    }
  }
  return curve;
}

double accuracy(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size) {
  const int64_t n = images.size(0);
  check(n > 0, "transfer: no images to score on");
  model.eval();
  NoGradGuard no_grad;
  int64_t correct = 0;
  const Device device = model_device(model);  // the images go where the model is
  const Tensor cpu_labels = labels.cpu();     // counted on the CPU
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, n);
    const Tensor logits = model(images.slice(0, begin, end).to(device));  // [B, 10]
    const std::vector<int64_t> predicted = argmax(logits, 1).cpu().to_vector<int64_t>();
    const int64_t* truth = cpu_labels.data<int64_t>() + begin;
    for (int64_t i = 0; i < end - begin; ++i) correct += predicted[i] == truth[i];
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace ember::transfer
