#pragma once
// Non-maximum suppression (NMS): a detector fires several overlapping boxes on one object; keep the
// most confident and drop the boxes that overlap it too much.
//
// Greedy NMS, for each image and each class separately:
//   1. drop the detections with score < score_threshold;
//   2. sort the rest by score, highest first;
//   3. take the first remaining box, keep it, and remove every remaining box whose
//      IoU with it is > iou_threshold; repeat until none remain.
// Then, per image, at most max_detections of the kept boxes (the highest scores, over all classes).
//
// Ties: detections with equal scores keep their input order (a stable sort), so of two equal-score
// boxes that overlap, the one that came first in the input survives. The result is therefore the
// same on every run and every machine.
//
//   std::vector<Detection> kept = nms(detections, {.iou_threshold = 0.45, .score_threshold = 0.25});
#include <cstddef>
#include <vector>

#include "metrics/boxes.h"

namespace ember {

struct NmsOptions {
  double iou_threshold = 0.5;    // suppress a box whose IoU with a kept box is > this
  double score_threshold = 0.0;  // drop boxes with score < this before suppressing
  int max_detections = 100;      // keep at most this many boxes per image (over all its classes)
};

// The indices (into `detections`) of the boxes NMS keeps, highest score first (ties: input order).
std::vector<size_t> nms_indices(const std::vector<Detection>& detections, const NmsOptions& options = {});

// The kept detections themselves, in the order of nms_indices.
std::vector<Detection> nms(const std::vector<Detection>& detections, const NmsOptions& options = {});

}  // namespace ember
