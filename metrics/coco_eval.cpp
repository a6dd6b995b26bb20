// COCO box evaluation with pycocotools' COCOeval rules (described step by step in coco_eval.h).
//
// The floating-point arithmetic follows COCOeval operation for operation (IoU from [x, y, w, h] as
// in its bbIou, the thresholds as np.linspace computes them, precision with its "+ eps"), so that
// a detection exactly at an IoU threshold or a recall point lands on the same side as there. This
// file is compiled with -ffp-contract=off (CMakeLists.txt): a fused multiply-add would round
// differently from numpy.
#include "metrics/coco_eval.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <utility>

#include "core/error.h"

namespace ember {

const std::array<const char*, kNumCocoStats> kCocoStatNames = {
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

namespace {

// ---- the parameters of COCOeval for boxes ---------------------------------------------------------

constexpr int kT = 10;   // IoU thresholds
constexpr int kR = 101;  // recall points
constexpr int kA = 4;    // area ranges
constexpr int kM = 3;    // maxDets settings

// t_i = i * step + 0.5 with step = (0.95 - 0.5) / 9 and the last one exactly 0.95: the values of
// np.linspace(0.5, 0.95, 10). They are not all "round": t_8 is 0.8999999999999999.
std::array<double, kT> iou_thresholds() {
  std::array<double, kT> t{};
  double step = (0.95 - 0.5) / (kT - 1);
  for (int i = 0; i < kT; ++i) {
    double scaled = i * step;
    t[i] = scaled + 0.5;
  }
  t[kT - 1] = 0.95;
  return t;
}

// r_i = i * 0.01 and the last one exactly 1: np.linspace(0, 1, 101).
std::array<double, kR> recall_points() {
  std::array<double, kR> r{};
  for (int i = 0; i < kR; ++i) r[i] = i * 0.01;
  r[kR - 1] = 1.0;
  return r;
}

struct AreaRange {
  const char* label;
  double lo, hi;
};
constexpr std::array<AreaRange, kA> kAreaRanges = {{{"all", 0, 1e10},
                                                    {"small", 0, 32 * 32},
                                                    {"medium", 32 * 32, 96 * 96},
                                                    {"large", 96 * 96, 1e10}}};
constexpr std::array<int, kM> kMaxDets = {1, 10, 100};

bool outside(double area, const AreaRange& range) { return area < range.lo || area > range.hi; }

// IoU of a detection d and a ground truth g, both [x, y, w, h], as pycocotools computes it:
//   overlap width  = min(x_d + w_d, x_g + w_g) - max(x_d, x_g)       (no overlap when <= 0)
//   overlap height = the same in y;   I = width * height
//   IoU = I / (w_d h_d + w_g h_g - I), or I / (w_d h_d) when g is a crowd region.
double coco_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  double w = std::min(d[2] + d[0], g[2] + g[0]) - std::max(d[0], g[0]);
  if (w <= 0) return 0;
  double h = std::min(d[3] + d[1], g[3] + g[1]) - std::max(d[1], g[1]);
  if (h <= 0) return 0;
  double intersection = w * h;
  double area_d = d[2] * d[3];
  double area_g = g[2] * g[3];
  double denominator = crowd ? area_d : (area_d + area_g) - intersection;
  return intersection / denominator;
}

// The outcome for one category, area range and image (COCOeval's evaluateImg), for every threshold.
struct ImageEval {
  std::vector<double> scores;    // the image's detections, highest score first, at most 100
  std::vector<uint8_t> matched;  // [t * D + d]: detection d took a gt at threshold t
  std::vector<uint8_t> ignored;  // [t * D + d]: detection d does not count at threshold t
  int64_t num_gt = 0;            // gts that count (not ignored)
};

// Matches the (score-sorted, cut) detections of one image and category against its gts for one
// area range. `ious[d][g]` uses the gts' original order.
ImageEval evaluate_image(const std::vector<const CocoDetection*>& dets, const std::vector<const CocoGroundTruth*>& gts,
                         const std::vector<std::vector<double>>& ious, const AreaRange& range,
                         const std::array<double, kT>& thresholds) {
  const size_t D = dets.size(), G = gts.size();
  // Ignored gts last, the others before them, each group in its original order (a stable sort).
  std::vector<size_t> order(G);
  std::vector<uint8_t> gt_ignored_orig(G);
  for (size_t g = 0; g < G; ++g) gt_ignored_orig[g] = gts[g]->iscrowd || outside(gts[g]->area, range);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return gt_ignored_orig[a] < gt_ignored_orig[b]; });
  std::vector<uint8_t> gt_ignored(G), gt_crowd(G);
  for (size_t j = 0; j < G; ++j) {
    gt_ignored[j] = gt_ignored_orig[order[j]];
    gt_crowd[j] = gts[order[j]]->iscrowd;
  }

  ImageEval e;
  for (size_t j = 0; j < G; ++j) e.num_gt += gt_ignored[j] ? 0 : 1;
  for (const CocoDetection* d : dets) e.scores.push_back(d->score);
  e.matched.assign(kT * D, 0);
  e.ignored.assign(kT * D, 0);

  for (int t = 0; t < kT; ++t) {
    std::vector<uint8_t> gt_taken(G, 0);
    for (size_t d = 0; d < D; ++d) {
      double best = std::min(thresholds[t], 1 - 1e-10);  // the IoU to beat (>=) so far
      long m = -1;                                        // the gt taken, in the sorted order
      for (size_t j = 0; j < G; ++j) {
        if (gt_taken[j] && !gt_crowd[j]) continue;  // taken, and not a crowd region
        // Already holding a counted gt: the ignored ones (all after it) cannot replace it.
        if (m > -1 && !gt_ignored[m] && gt_ignored[j]) break;
        double overlap = ious[d][order[j]];
        if (overlap < best) continue;
        best = overlap;  // equal IoU: the later gt replaces the earlier one
        m = static_cast<long>(j);
      }
      if (m == -1) continue;
      e.matched[t * D + d] = 1;
      e.ignored[t * D + d] = gt_ignored[m];
      gt_taken[m] = 1;
    }
    for (size_t d = 0; d < D; ++d) {
      const auto& b = dets[d]->bbox;
      if (!e.matched[t * D + d] && outside(b[2] * b[3], range)) e.ignored[t * D + d] = 1;
    }
  }
  return e;
}

// Mean of the values > -1; -1 when there are none (np.mean(s[s > -1])).
double mean_of_existing(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (double v : values)
    if (v > -1) sum += v, ++n;
  return n == 0 ? -1.0 : sum / static_cast<double>(n);
}

}  // namespace

CocoEvalResult coco_evaluate(const std::vector<int64_t>& image_ids, const std::vector<int64_t>& category_ids,
                             const std::vector<CocoGroundTruth>& ground_truth,
                             const std::vector<CocoDetection>& detections) {
  const std::set<int64_t> images(image_ids.begin(), image_ids.end());
  const std::set<int64_t> categories(category_ids.begin(), category_ids.end());
  CocoEvalResult result;
  result.category_ids.assign(categories.begin(), categories.end());

  // The gts and detections of each (category, image), in their input order. The map's order,
  // category then image id ascending, is the order COCOeval concatenates images in.
  using Key = std::pair<int64_t, int64_t>;
  std::map<Key, std::vector<const CocoGroundTruth*>> gts_of;
  std::map<Key, std::vector<const CocoDetection*>> dets_of;
  std::set<int64_t> gt_ids;
  for (size_t i = 0; i < ground_truth.size(); ++i) {
    const CocoGroundTruth& g = ground_truth[i];
    check(g.id != 0, "coco_evaluate: ground truth ", i, " has id 0; COCO annotation ids must be non-zero "
          "(COCOeval records a match by the gt's id and reads 0 as 'no match')");
    check(gt_ids.insert(g.id).second, "coco_evaluate: ground truth ", i, " repeats the id ", g.id,
          "; COCO annotation ids must be unique");
    if (!images.count(g.image_id) || !categories.count(g.category_id)) {
      ++result.skipped_ground_truth;
      continue;
    }
    gts_of[{g.category_id, g.image_id}].push_back(&g);
  }
  for (size_t i = 0; i < detections.size(); ++i) {
    const CocoDetection& d = detections[i];
    check(images.count(d.image_id) > 0, "coco_evaluate: detection ", i, " is for image_id ", d.image_id,
          ", which is not among the ground truth's images");
    check(d.score == d.score, "coco_evaluate: detection ", i, " has a NaN score");
    if (!categories.count(d.category_id)) {
      ++result.skipped_detections;
      continue;
    }
    dets_of[{d.category_id, d.image_id}].push_back(&d);
  }
  std::set<Key> pairs;  // every (category, image) with a gt or a detection
  for (const auto& [key, list] : gts_of) pairs.insert(key);
  for (const auto& [key, list] : dets_of) pairs.insert(key);

  const std::array<double, kT> thresholds = iou_thresholds();
  const std::array<double, kR> recalls = recall_points();
  const size_t K = categories.size();
  std::map<int64_t, size_t> category_index;
  for (size_t k = 0; k < K; ++k) category_index[result.category_ids[k]] = k;

  // evals[k][a]: the outcomes of category k's images (ascending id) in area range a.
  std::vector<std::array<std::vector<ImageEval>, kA>> evals(K);
  const std::vector<const CocoGroundTruth*> no_gts;
  const std::vector<const CocoDetection*> no_dets;
  for (const Key& key : pairs) {
    auto git = gts_of.find(key);
    auto dit = dets_of.find(key);
    const auto& gts = git == gts_of.end() ? no_gts : git->second;
    std::vector<const CocoDetection*> dets = dit == dets_of.end() ? no_dets : dit->second;
    std::stable_sort(dets.begin(), dets.end(),
                     [](const CocoDetection* a, const CocoDetection* b) { return a->score > b->score; });
    if (dets.size() > static_cast<size_t>(kMaxDets[kM - 1])) dets.resize(kMaxDets[kM - 1]);

    std::vector<std::vector<double>> ious(dets.size(), std::vector<double>(gts.size()));
    for (size_t d = 0; d < dets.size(); ++d)
      for (size_t g = 0; g < gts.size(); ++g) ious[d][g] = coco_iou(dets[d]->bbox, gts[g]->bbox, gts[g]->iscrowd);

    size_t k = category_index.at(key.first);
    for (int a = 0; a < kA; ++a) evals[k][a].push_back(evaluate_image(dets, gts, ious, kAreaRanges[a], thresholds));
  }

  // precision[((t * kR + r) * K + k) * kA * kM + a * kM + m] and recall[((t * K + k) * kA + a) * kM + m],
  // -1 where a category has no gt that counts.
  std::vector<double> precision(static_cast<size_t>(kT) * kR * K * kA * kM, -1.0);
  std::vector<double> recall(static_cast<size_t>(kT) * K * kA * kM, -1.0);
  auto p_at = [&](int t, int r, size_t k, int a, int m) -> double& {
    return precision[((static_cast<size_t>(t) * kR + r) * K + k) * kA * kM + a * kM + m];
  };
  auto r_at = [&](int t, size_t k, int a, int m) -> double& {
    return recall[((static_cast<size_t>(t) * K + k) * kA + a) * kM + m];
  };

  // COCOeval's accumulate: per category and area range, all images' outcomes together.
  const double eps = std::numeric_limits<double>::epsilon();  // np.spacing(1)
  for (size_t k = 0; k < K; ++k) {
    for (int a = 0; a < kA; ++a) {
      const std::vector<ImageEval>& image_evals = evals[k][a];
      if (image_evals.empty()) continue;
      int64_t num_gt = 0;
      for (const ImageEval& e : image_evals) num_gt += e.num_gt;
      if (num_gt == 0) continue;
      for (int m = 0; m < kM; ++m) {
        // The first maxDets detections of every image, images in id order, then sorted by score
        // (stable): (image, detection) pairs.
        std::vector<std::pair<size_t, size_t>> order;
        for (size_t i = 0; i < image_evals.size(); ++i) {
          size_t n = std::min(image_evals[i].scores.size(), static_cast<size_t>(kMaxDets[m]));
          for (size_t d = 0; d < n; ++d) order.emplace_back(i, d);
        }
        std::stable_sort(order.begin(), order.end(), [&](const auto& x, const auto& y) {
          return image_evals[x.first].scores[x.second] > image_evals[y.first].scores[y.second];
        });
        const size_t n = order.size();
        for (int t = 0; t < kT; ++t) {
          std::vector<double> rc(n), pr(n);
          double tp = 0, fp = 0;
          for (size_t j = 0; j < n; ++j) {
            const ImageEval& e = image_evals[order[j].first];
            size_t D = e.scores.size(), d = order[j].second;
            bool matched = e.matched[t * D + d], ignored = e.ignored[t * D + d];
            if (!ignored) (matched ? tp : fp) += 1;
            rc[j] = tp / static_cast<double>(num_gt);
            pr[j] = tp / ((fp + tp) + eps);
          }
          r_at(t, k, a, m) = n > 0 ? rc[n - 1] : 0.0;
          for (size_t j = n; j-- > 1;) pr[j - 1] = std::max(pr[j - 1], pr[j]);  // monotone from the right
          for (int r = 0; r < kR; ++r) {
            size_t first = static_cast<size_t>(std::lower_bound(rc.begin(), rc.end(), recalls[r]) - rc.begin());
            p_at(t, r, k, a, m) = first < n ? pr[first] : 0.0;
          }
        }
      }
    }
  }

  // summarize(): means over the thresholds (or the one named), recall points and categories.
  auto threshold_index = [&](double value) {
    for (int t = 0; t < kT; ++t)
      if (thresholds[t] == value) return t;
    return -1;
  };
  auto average_precision = [&](int only_t, int a, int m) {
    std::vector<double> values;
    for (int t = 0; t < kT; ++t) {
      if (only_t != -2 && t != only_t) continue;
      for (int r = 0; r < kR; ++r)
        for (size_t k = 0; k < K; ++k) values.push_back(p_at(t, r, k, a, m));
    }
    return mean_of_existing(values);
  };
  auto average_recall = [&](int a, int m) {
    std::vector<double> values;
    for (int t = 0; t < kT; ++t)
      for (size_t k = 0; k < K; ++k) values.push_back(r_at(t, k, a, m));
    return mean_of_existing(values);
  };
  constexpr int kAll = -2, kAllArea = 0, kSmall = 1, kMedium = 2, kLarge = 3, k100 = 2;
  auto& s = result.stats;
  s[kAP] = average_precision(kAll, kAllArea, k100);
  s[kAP50] = average_precision(threshold_index(0.5), kAllArea, k100);
  s[kAP75] = average_precision(threshold_index(0.75), kAllArea, k100);
  s[kAPSmall] = average_precision(kAll, kSmall, k100);
  s[kAPMedium] = average_precision(kAll, kMedium, k100);
  s[kAPLarge] = average_precision(kAll, kLarge, k100);
  s[kAR1] = average_recall(kAllArea, 0);
  s[kAR10] = average_recall(kAllArea, 1);
  s[kAR100] = average_recall(kAllArea, k100);
  s[kARSmall] = average_recall(kSmall, k100);
  s[kARMedium] = average_recall(kMedium, k100);
  s[kARLarge] = average_recall(kLarge, k100);

  for (size_t k = 0; k < K; ++k) {
    std::vector<double> values;
    for (int t = 0; t < kT; ++t)
      for (int r = 0; r < kR; ++r) values.push_back(p_at(t, r, k, kAllArea, k100));
    result.category_ap.push_back(mean_of_existing(values));
  }
  return result;
}

std::string coco_summary_text(const std::array<double, kNumCocoStats>& stats) {
  struct Line {
    bool ap;
    const char* iou;
    const char* area;
    int max_dets;
  };
  const std::array<Line, kNumCocoStats> lines = {{{true, "0.50:0.95", "all", 100},
                                                  {true, "0.50", "all", 100},
                                                  {true, "0.75", "all", 100},
                                                  {true, "0.50:0.95", "small", 100},
                                                  {true, "0.50:0.95", "medium", 100},
                                                  {true, "0.50:0.95", "large", 100},
                                                  {false, "0.50:0.95", "all", 1},
                                                  {false, "0.50:0.95", "all", 10},
                                                  {false, "0.50:0.95", "all", 100},
                                                  {false, "0.50:0.95", "small", 100},
                                                  {false, "0.50:0.95", "medium", 100},
                                                  {false, "0.50:0.95", "large", 100}}};
  std::string text;
  char buffer[160];
  for (int i = 0; i < kNumCocoStats; ++i) {
    const Line& l = lines[i];
    std::snprintf(buffer, sizeof(buffer), " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  l.ap ? "Average Precision" : "Average Recall", l.ap ? "(AP)" : "(AR)", l.iou, l.area, l.max_dets,
                  stats[i]);
    text += buffer;
  }
  return text;
}

std::string coco_stats_json(const std::array<double, kNumCocoStats>& stats) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (int i = 0; i < kNumCocoStats; ++i) j[kCocoStatNames[i]] = stats[i];
  return j.dump(2) + "\n";
}

}  // namespace ember
