// From the head's numbers to boxes (YOLOv2's parametrisation), then non-max suppression.
//
// For the prediction of anchor (aw, ah) at cell (row, col) of an S x S grid over an image of side P:
//
//   cx = (col + sigmoid(tx)) / S * P        the centre stays inside its cell
//   cy = (row + sigmoid(ty)) / S * P
//   w  = aw exp(tw) P                       a multiple of the anchor, always positive
//   h  = ah exp(th) P
//   score(class k) = sigmoid(to) * softmax(c)_k      P(object) x IoU x P(class | object)
//
// Every cell predicts B boxes, so one digit is usually found by several predictions (neighbouring
// cells, other anchors): NMS (metrics/nms.h) keeps the best of each cluster.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/ops.h"
#include "lessons/common/device.h"
#include "lessons/yolo_lite/lesson.h"
#include "metrics/nms.h"

namespace ember::yolo {

namespace {

double sigmoid_of(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

Box decode_box(double tx, double ty, double tw, double th, int64_t cell_row, int64_t cell_col, int64_t grid,
               const Anchor& anchor, int64_t image_side) {
  const double side = static_cast<double>(image_side), s = static_cast<double>(grid);
  const double cx = (static_cast<double>(cell_col) + sigmoid_of(tx)) / s * side;
  const double cy = (static_cast<double>(cell_row) + sigmoid_of(ty)) / s * side;
  // exp of a wild early prediction would overflow to inf: a box larger than e^10 anchors is as wrong
  // as an infinite one, and keeps IoU finite
  const double w = anchor.w * std::exp(std::min(tw, 10.0)) * side;
  const double h = anchor.h * std::exp(std::min(th, 10.0)) * side;
  return box_from_cxcywh(cx, cy, w, h);
}

std::vector<Detection> decode_predictions(const Tensor& predictions, const std::vector<Anchor>& anchors,
                                          int64_t image_side, double score_threshold, int64_t first_image_id) {
  const int64_t n_anchors = static_cast<int64_t>(anchors.size());
  // [N S S B, 5 + K], read on the CPU: with --device=cuda the predictions come from the GPU
  const Tensor rows = predictions_as_rows(predictions.detach().cpu(), n_anchors).to(DType::Float64);
  const int64_t grid = predictions.size(2), features = rows.size(1), classes = features - 5;
  const double* p = rows.data<double>();
  std::vector<Detection> detections;
  std::vector<double> probability(static_cast<size_t>(classes));
  for (int64_t r = 0; r < rows.size(0); ++r) {
    const double* row = p + r * features;
    const double objectness = sigmoid_of(row[4]);
    if (objectness < score_threshold) continue;  // no class can reach the threshold (P(class) <= 1)
    // softmax of the class scores, shifted by their maximum against overflow
    const double largest = *std::max_element(row + 5, row + features);
    double total = 0;
    for (int64_t k = 0; k < classes; ++k) total += probability[k] = std::exp(row[5 + k] - largest);
    const int64_t a = r % n_anchors, cell = r / n_anchors;
    const int64_t col = cell % grid, cell_row = (cell / grid) % grid, image = cell / (grid * grid);
    const Box box = decode_box(row[0], row[1], row[2], row[3], cell_row, col, grid, anchors[a], image_side);
    for (int64_t k = 0; k < classes; ++k) {
      const double score = objectness * probability[k] / total;
      if (score >= score_threshold) detections.push_back({first_image_id + image, k, box, score});
    }
  }
  return detections;
}

std::vector<Detection> detect(Module& model, const DetectionSet& set, const std::vector<Anchor>& anchors,
                              double score_threshold, double nms_iou, int64_t batch_size) {
  model.eval();
  NoGradGuard no_grad;
  const Device device = model_device(model);  // --device: the scenes go where the model is
  std::vector<Detection> kept;
  for (size_t begin = 0; begin < set.images.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(set.images.size(), begin + static_cast<size_t>(batch_size));
    const Tensor images = stack_images(set, begin, end).to(device);
    const std::vector<Detection> raw = decode_predictions(model(images), anchors, images.size(2), score_threshold,
                                                          static_cast<int64_t>(begin));
    // per image and class; COCO scores at most 100 detections per image, so keep 100
    const std::vector<Detection> batch_kept =
        nms(raw, {.iou_threshold = nms_iou, .score_threshold = score_threshold, .max_detections = 100});
    kept.insert(kept.end(), batch_kept.begin(), batch_kept.end());
  }
  return kept;
}

std::vector<std::vector<Detection>> detections_per_image(const std::vector<Detection>& detections, size_t images) {
  std::vector<std::vector<Detection>> found(images);
  for (const Detection& d : detections) {
    check(d.image_id >= 0 && static_cast<size_t>(d.image_id) < images, "detections_per_image: image id ", d.image_id,
          " of a set of ", images, " images");
    found[static_cast<size_t>(d.image_id)].push_back(d);
  }
  return found;
}

}  // namespace ember::yolo
