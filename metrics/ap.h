#pragma once
// Precision, recall and average precision (AP) of one class.
//
// Sort a class's detections by score, highest first, and call each one a true positive (TP: it
// matches a ground-truth box not matched before) or a false positive (FP). After the first k
// detections:
//
//   precision_k = TP_k / (TP_k + FP_k)     how many of the boxes so far are right
//   recall_k    = TP_k / N_gt              how many of the objects have been found so far
//
// Lowering the score threshold walks along this precision/recall curve. AP summarises the curve in
// one number, the area under it, after making precision monotone: the interpolated precision at
// recall r is the best precision at any recall >= r,
//
//   p_interp(r) = max over k with recall_k >= r of precision_k      (0 when no such k)
//
// Three ways of taking the area, side by side:
//
//   VOC07, 11-point    AP = 1/11  * sum over r in {0, 0.1, ..., 1}    of p_interp(r)
//   VOC (2010+), all   AP = sum over n of (R_n - R_{n-1}) * p_interp(R_n), R_n = each distinct recall
//                      reached (the exact area under the monotone envelope, R_0 = 0)
//   COCO, 101-point    AP = 1/101 * sum over r in {0, 0.01, ..., 1}   of p(r), where p(r) is the
//                      envelope at the first detection whose recall is >= r (numpy's
//                      searchsorted(side='left')), 0 when recall never reaches r
//
// What counts as a match also differs: PASCAL VOC needs IoU > 0.5 (strictly greater) with the
// ground-truth box of highest IoU (even one already taken: then the detection is a duplicate, an
// FP); COCO needs IoU >= t with the best box not yet taken (coco_eval.h), at t = 0.50, 0.55, ..., 0.95.
//
// mAP is the mean of AP over classes: mAP@0.5 is VOC's number (IoU 0.5), mAP@[.5:.95] is COCO's
// (mean over classes and over the ten IoU thresholds; coco_eval.h).
#include <cstdint>
#include <vector>

#include "metrics/boxes.h"

namespace ember {

// The curve, one point per detection in score order.
struct PrCurve {
  std::vector<double> precision;
  std::vector<double> recall;
};

// From the TP (true) / FP (false) flags of a class's detections sorted by score, and the number of
// ground-truth boxes of that class (> 0).
PrCurve pr_curve(const std::vector<bool>& is_true_positive, int64_t num_ground_truth);

// The monotone envelope: precision[k] = max(precision[k..]) (made non-increasing from the right).
std::vector<double> precision_envelope(const std::vector<double>& precision);

// The three AP definitions above. An empty curve (no detections) has AP 0.
double ap_voc07_11point(const PrCurve& curve);
double ap_all_point(const PrCurve& curve);
double ap_coco_101point(const PrCurve& curve);

// ---- VOC-style evaluation of a set of detections (mAP@0.5) -------------------------------------

enum class ApMethod { Voc07ElevenPoint, AllPoint, Coco101Point };

struct GroundTruthBox {
  int64_t image_id = 0;
  int64_t class_id = 0;
  Box box;
  bool difficult = false;  // VOC's "difficult" objects: neither found nor missed (not counted)
};

struct ClassAp {
  int64_t class_id = 0;
  int64_t num_ground_truth = 0;  // not counting the difficult ones
  double ap = 0;                 // -1 when the class has no (non-difficult) ground truth
  PrCurve curve;
};

struct VocResult {
  std::vector<ClassAp> per_class;  // every class that has a ground truth or a detection, by class id
  double map = -1;                 // mean AP over the classes with ground truth (-1: no such class)
};

// PASCAL VOC matching, class by class: detections in score order (ties: input order); each is
// matched to the ground-truth box of its image and class with the highest IoU; when that IoU is
// > iou_threshold (strictly) the detection is a TP if the box is not difficult and not yet taken,
// an FP if it was taken (a duplicate), and neither if it is difficult; otherwise it is an FP.
// Boxes are continuous coordinates (no "+1 pixel" of the original VOC devkit).
VocResult evaluate_voc(const std::vector<GroundTruthBox>& ground_truth, const std::vector<Detection>& detections,
                       double iou_threshold = 0.5, ApMethod method = ApMethod::AllPoint);

}  // namespace ember
