// The YOLO loss, written with differentiable engine ops only: the forward below records a graph,
// and loss.backward() gives the gradient of every term (tests/test_yolo_loss.cpp checks it against
// finite differences in float64). The targets (targets.cpp) are constants: computed without a
// graph, like labels.
//
// With p a prediction row (tx, ty, tw, th, to, c_1..K), sigma the sigmoid, BCE(z, t) =
// -t log sigma(z) - (1 - t) log(1 - sigma(z)) (the engine's binary_cross_entropy_with_logits) and
// 1obj / 1noobj the responsible rows and the rows of the no-object mask:
//
//   coord = lambda_coord  sum_1obj  (2 - w h) [ (sigma(tx) - x)^2 + (sigma(ty) - y)^2 + (tw - tw*)^2 + (th - th*)^2 ]
//   obj   = lambda_obj    sum_1obj  BCE(to, IoU(predicted box, true box))
//   noobj = lambda_noobj  sum_1noobj BCE(to, 0)
//   class = lambda_class  sum_1obj  -log softmax(c)_true class
//   loss  = (coord + obj + noobj + class) / N
//
// Choices, and why (lessons/yolo_lite/README.md has them next to the lecture's slide):
//   - squared error on sigma(tx) and on tw, not on pixels: the offsets live in [0, 1] and the log
//     sizes are scale-free, so a small digit's box counts as much as a large one's; (2 - w h) adds
//     weight to small boxes on top (YOLOv2's scale), where a pixel off costs more IoU;
//   - objectness with binary cross-entropy on the logit instead of YOLOv2's squared error on the
//     sigmoid: the gradient is sigma(to) - target, which does not vanish when the sigmoid saturates;
//   - the objectness target is the IoU of the predicted box with the true box (the slide's
//     confidence = P(object) x IoU), so a better-placed box gets a higher score: NMS keeps it, and
//     the ranking of detections by score is the ranking by quality that mAP@[.5:.95] rewards;
//   - the classes of a responsible prediction through softmax and cross-entropy (YOLOv2: one
//     distribution per anchor, not per cell);
//   - summed over predictions and divided by the number of images, so the weight of one object does
//     not depend on how many other objects share the batch.
#include "core/ops.h"
#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

Tensor predictions_as_rows(const Tensor& predictions, int64_t anchors) {
  check(predictions.dim() == 4 && predictions.size(1) % anchors == 0, "predictions_as_rows: expected [N, ", anchors,
        " (5 + K), S, S], got ", shape_str(predictions.shape()));
  const int64_t n = predictions.size(0), per_anchor = predictions.size(1) / anchors;
  const int64_t rows = predictions.size(2), cols = predictions.size(3);
  // [N, B, 5 + K, S, S] -> [N, S, S, B, 5 + K] -> [N S S B, 5 + K]
  return predictions.reshape({n, anchors, per_anchor, rows, cols}).permute({0, 3, 4, 1, 2}).reshape({-1, per_anchor});
}

namespace {

// The targets are made on the CPU (targets.cpp); the loss needs them where the predictions are (--device).
Tensor constant(const std::vector<double>& values, DType dtype, Device device) {
  return Tensor::from_vector(values, {static_cast<int64_t>(values.size())}).to(dtype).to(device);
}

// Column `c` of rows [R, F] as a vector [R].
Tensor column(const Tensor& rows, int64_t c) { return rows.slice(1, c, c + 1).reshape({-1}); }

}  // namespace

LossTerms yolo_loss(const Tensor& predictions, const Targets& targets, const LossWeights& weights) {
  const Tensor rows = predictions_as_rows(predictions, targets.anchors);  // [M, 5 + K]
  check(rows.size(0) == static_cast<int64_t>(targets.noobj_mask.size()), "yolo_loss: ", rows.size(0),
        " predictions but targets for ", targets.noobj_mask.size(), " (were the targets built for another batch?)");
  const DType dtype = predictions.dtype();
  const Device device = predictions.device();  // every input of the loss goes there
  const double images = static_cast<double>(predictions.size(0));
  LossTerms terms;

  // no object: every row of the mask, objectness towards 0
  Tensor noobj = sum(mul(binary_cross_entropy_with_logits(column(rows, 4), Tensor::zeros({rows.size(0)}, dtype, device),
                                                          Reduction::None),
                         constant(targets.noobj_mask, dtype, device))) *
                 weights.noobj;
  Tensor total = noobj;
  terms.noobj = noobj.item() / images;

  if (!targets.rows.empty()) {
    const Tensor index = Tensor::from_vector(targets.rows, {static_cast<int64_t>(targets.rows.size())}).to(device);
    const Tensor responsible = index_select(rows, index);  // [R, 5 + K]
    const Tensor squared_errors = pow(sigmoid(column(responsible, 0)) - constant(targets.x, dtype, device), 2.0) +
                                  pow(sigmoid(column(responsible, 1)) - constant(targets.y, dtype, device), 2.0) +
                                  pow(column(responsible, 2) - constant(targets.tw, dtype, device), 2.0) +
                                  pow(column(responsible, 3) - constant(targets.th, dtype, device), 2.0);
    Tensor coord = sum(mul(squared_errors, constant(targets.coord_weight, dtype, device))) * weights.coord;
    Tensor obj = binary_cross_entropy_with_logits(column(responsible, 4), constant(targets.objectness, dtype, device),
                                                  Reduction::Sum) *
                 weights.obj;
    const Tensor class_logits = responsible.slice(1, 5, responsible.size(1));
    const Tensor classes =
        Tensor::from_vector(targets.classes, {static_cast<int64_t>(targets.classes.size())}).to(device);
    Tensor cls = cross_entropy(class_logits, classes, Reduction::Sum) * weights.cls;
    terms.coord = coord.item() / images;
    terms.obj = obj.item() / images;
    terms.cls = cls.item() / images;
    total = total + coord + obj + cls;
  }
  terms.total = total / images;
  return terms;
}

}  // namespace ember::yolo
