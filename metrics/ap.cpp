// Precision/recall curves and the three AP definitions (formulas in ap.h).
#include "metrics/ap.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/error.h"

namespace ember {

PrCurve pr_curve(const std::vector<bool>& is_true_positive, int64_t num_ground_truth) {
  check(num_ground_truth > 0, "pr_curve: num_ground_truth must be > 0 (recall is TP / N_gt), got ",
        num_ground_truth);
  PrCurve curve;
  int64_t tp = 0, fp = 0;
  for (bool hit : is_true_positive) {
    (hit ? tp : fp) += 1;
    curve.precision.push_back(static_cast<double>(tp) / static_cast<double>(tp + fp));
    curve.recall.push_back(static_cast<double>(tp) / static_cast<double>(num_ground_truth));
  }
  return curve;
}

std::vector<double> precision_envelope(const std::vector<double>& precision) {
  std::vector<double> envelope = precision;
  for (size_t k = envelope.size(); k-- > 1;) envelope[k - 1] = std::max(envelope[k - 1], envelope[k]);
  return envelope;
}

namespace {

void check_curve(const PrCurve& curve, const char* who) {
  check(curve.precision.size() == curve.recall.size(), who, ": precision has ", curve.precision.size(),
        " points but recall has ", curve.recall.size());
  for (size_t k = 1; k < curve.recall.size(); ++k)
    check(curve.recall[k] >= curve.recall[k - 1], who, ": recall must not decrease along the curve (point ", k,
          ": ", curve.recall[k], " after ", curve.recall[k - 1], ")");
}

// p_interp(r): the envelope at the first point whose recall is >= r, 0 when none is.
double interpolated_precision(const std::vector<double>& envelope, const std::vector<double>& recall, double r) {
  auto first = std::lower_bound(recall.begin(), recall.end(), r);  // = searchsorted(side='left')
  return first == recall.end() ? 0.0 : envelope[static_cast<size_t>(first - recall.begin())];
}

}  // namespace

double ap_voc07_11point(const PrCurve& curve) {
  check_curve(curve, "ap_voc07_11point");
  std::vector<double> envelope = precision_envelope(curve.precision);
  double sum = 0;
  for (int i = 0; i <= 10; ++i) sum += interpolated_precision(envelope, curve.recall, i / 10.0);
  return sum / 11;
}

double ap_all_point(const PrCurve& curve) {
  check_curve(curve, "ap_all_point");
  std::vector<double> envelope = precision_envelope(curve.precision);
  // Sum of rectangles: each step up in recall, R_n - R_{n-1}, times the envelope at R_n.
  double ap = 0, previous_recall = 0;
  for (size_t k = 0; k < curve.recall.size(); ++k) {
    if (curve.recall[k] > previous_recall) {
      ap += (curve.recall[k] - previous_recall) * envelope[k];
      previous_recall = curve.recall[k];
    }
  }
  return ap;
}

double ap_coco_101point(const PrCurve& curve) {
  check_curve(curve, "ap_coco_101point");
  std::vector<double> envelope = precision_envelope(curve.precision);
  double sum = 0;
  // r = i * 0.01 for i < 100 and exactly 1 at the end: the values of np.linspace(0, 1, 101).
  for (int i = 0; i <= 100; ++i) sum += interpolated_precision(envelope, curve.recall, i == 100 ? 1.0 : i * 0.01);
  return sum / 101;
}

namespace {

double ap_by(const PrCurve& curve, ApMethod method) {
  switch (method) {
    case ApMethod::Voc07ElevenPoint: return ap_voc07_11point(curve);
    case ApMethod::AllPoint: return ap_all_point(curve);
    case ApMethod::Coco101Point: return ap_coco_101point(curve);
  }
  fail("evaluate_voc: unknown AP method");
}

}  // namespace

VocResult evaluate_voc(const std::vector<GroundTruthBox>& ground_truth, const std::vector<Detection>& detections,
                       double iou_threshold, ApMethod method) {
  // Everything per class: the class's ground truth per image, and its detections.
  struct ClassData {
    std::map<int64_t, std::vector<size_t>> gt_of_image;  // image id -> indices into ground_truth
    std::vector<size_t> detections;                      // indices into detections
  };
  std::map<int64_t, ClassData> classes;
  for (size_t i = 0; i < ground_truth.size(); ++i)
    classes[ground_truth[i].class_id].gt_of_image[ground_truth[i].image_id].push_back(i);
  for (size_t i = 0; i < detections.size(); ++i) {
    check(detections[i].score == detections[i].score, "evaluate_voc: detection ", i, " has a NaN score");
    classes[detections[i].class_id].detections.push_back(i);
  }

  VocResult result;
  double ap_sum = 0;
  int64_t classes_with_gt = 0;
  for (auto& [class_id, data] : classes) {
    ClassAp entry;
    entry.class_id = class_id;
    for (const auto& [image, indices] : data.gt_of_image)
      for (size_t g : indices) entry.num_ground_truth += ground_truth[g].difficult ? 0 : 1;

    std::stable_sort(data.detections.begin(), data.detections.end(),
                     [&](size_t a, size_t b) { return detections[a].score > detections[b].score; });
    std::vector<bool> taken(ground_truth.size(), false);
    std::vector<bool> is_tp;
    for (size_t d : data.detections) {
      const Detection& det = detections[d];
      double best_iou = -1;
      size_t best = 0;
      auto it = data.gt_of_image.find(det.image_id);
      if (it != data.gt_of_image.end()) {
        for (size_t g : it->second) {
          double overlap = iou(det.box, ground_truth[g].box);
          if (overlap > best_iou) best_iou = overlap, best = g;  // first of equal IoUs wins (np.argmax)
        }
      }
      if (best_iou > iou_threshold) {
        if (ground_truth[best].difficult) continue;  // neither TP nor FP
        is_tp.push_back(!taken[best]);               // a second hit on a taken box is a duplicate: FP
        taken[best] = true;
      } else {
        is_tp.push_back(false);
      }
    }
    if (entry.num_ground_truth > 0) {
      entry.curve = pr_curve(is_tp, entry.num_ground_truth);
      entry.ap = ap_by(entry.curve, method);
      ap_sum += entry.ap;
      ++classes_with_gt;
    } else {
      entry.ap = -1;
    }
    result.per_class.push_back(std::move(entry));
  }
  result.map = classes_with_gt > 0 ? ap_sum / static_cast<double>(classes_with_gt) : -1;
  return result;
}

}  // namespace ember
