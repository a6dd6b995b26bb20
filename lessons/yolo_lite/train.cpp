// The training loop and the evaluation.
//
//   for each batch of scenes (images [N, 1, 96, 96], their true boxes):
//     predictions = model(images)                       [N, B (5 + K), S, S]
//     targets     = build_targets(predictions, boxes)   who is responsible for which box (no graph)
//     loss        = yolo_loss(predictions, targets)     coordinates + objectness + no-object + class
//     zero_grad; loss.backward(); optimizer.step()
//
// Evaluation detects on every scene (decoding, NMS) and scores the detections with COCO's rules
// (metrics/coco_eval.h): mAP@0.5 (PASCAL VOC's threshold) and mAP@[.5:.95] (the mean over the IoU
// thresholds 0.50, 0.55, ..., 0.95, which rewards tight boxes).
#include <chrono>
#include <numeric>

#include "core/ops.h"
#include "lessons/common/device.h"
#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

EpochResult train_one_epoch(Module& model, Optimizer& optimizer, const DetectionSet& train, int64_t batch_size,
                            const TrainContext& context, const std::function<double(int64_t)>& schedule,
                            int64_t& step, int64_t epoch, Generator& gen, LastFiniteLoss& last_finite,
                            Progress& progress) {
  model.train();
  EpochResult result;
  // a new order of the scenes every epoch (Fisher-Yates, from the run's generator)
  std::vector<size_t> order(train.images.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[static_cast<size_t>(gen.randint(0, static_cast<int64_t>(i)))]);
  const Clock::time_point start = Clock::now();
  const int64_t side = train.images.front().image.size(1);
  const Device device = model_device(model);  // --device: the batches go where the model is
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(batch_size));
    DetectionSet batch_set;
    std::vector<std::vector<LabelledBox>> boxes;
    for (size_t i = begin; i < end; ++i) {
      batch_set.images.push_back(train.images[order[i]]);
      boxes.push_back(train.images[order[i]].boxes);
    }
    const Tensor images = stack_images(batch_set, 0, batch_set.images.size()).to(device);

    optimizer.set_lr(schedule(step));
    Tensor predictions = model(images);
    const Targets targets = build_targets(predictions, boxes, *context.anchors, side, context.target_options);
    LossTerms loss = yolo_loss(predictions, targets, context.weights);
    const double loss_value = loss.total.item();
    check_loss_is_finite(loss_value, step, last_finite, "yolo_lite, epoch " + std::to_string(epoch), "--lr",
                         optimizer.lr());
    optimizer.zero_grad();
    loss.total.backward();
    optimizer.step();
    ++step;

    const int64_t n = static_cast<int64_t>(end - begin);
    const double weight = static_cast<double>(n);
    result.loss += loss_value * weight;
    result.coord += loss.coord * weight;
    result.obj += loss.obj * weight;
    result.noobj += loss.noobj * weight;
    result.cls += loss.cls * weight;
    result.images += n;
    const double seen = static_cast<double>(result.images);
    progress.step(n, {{"loss", result.loss / seen},
                      {"coord", result.coord / seen},
                      {"obj", result.obj / seen},
                      {"noobj", result.noobj / seen},
                      {"cls", result.cls / seen},
                      {"lr", optimizer.lr()}});
  }
  result.step_seconds = seconds_since(start);
  const double seen = static_cast<double>(result.images);
  result.loss /= seen, result.coord /= seen, result.obj /= seen, result.noobj /= seen, result.cls /= seen;
  return result;
}

Evaluation evaluate(Module& model, const DetectionSet& set, const std::vector<Anchor>& anchors,
                    double score_threshold, double nms_iou, int64_t batch_size) {
  check(!set.images.empty(), "yolo_lite: nothing to evaluate on (a set without images)");
  Evaluation result;
  const Clock::time_point start = Clock::now();
  result.found = detections_per_image(detect(model, set, anchors, score_threshold, nms_iou, batch_size),
                                      set.images.size());
  result.seconds = seconds_since(start);
  result.scores = evaluate_detections(set, result.found);
  return result;
}

}  // namespace ember::yolo
