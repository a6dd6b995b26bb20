// Greedy per-class non-maximum suppression (the algorithm and the tie rule are in nms.h).
#include "metrics/nms.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <utility>

#include "core/error.h"

namespace ember {

std::vector<size_t> nms_indices(const std::vector<Detection>& detections, const NmsOptions& options) {
  check(options.iou_threshold >= 0 && options.iou_threshold <= 1, "nms: iou_threshold must be in [0, 1], got ",
        options.iou_threshold);
  check(options.max_detections >= 0, "nms: max_detections must be >= 0, got ", options.max_detections);
  for (size_t i = 0; i < detections.size(); ++i)
    check(detections[i].score == detections[i].score, "nms: detection ", i, " has a NaN score");

  // Highest score first; std::stable_sort keeps the input order among equal scores (the tie rule).
  std::vector<size_t> order(detections.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return detections[a].score > detections[b].score; });

  // Walking the boxes in that order, a box survives when no box kept before it, of the same image
  // and class, overlaps it by more than the threshold. This is the greedy loop of nms.h done for
  // all (image, class) groups at once: each box is compared only with the kept boxes of its group.
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> kept_in_group;
  std::map<int64_t, int> kept_per_image;
  std::vector<size_t> kept;
  for (size_t index : order) {
    const Detection& d = detections[index];
    if (d.score < options.score_threshold) continue;
    std::vector<size_t>& group = kept_in_group[{d.image_id, d.class_id}];
    bool suppressed = std::any_of(group.begin(), group.end(), [&](size_t k) {
      return iou(detections[k].box, d.box) > options.iou_threshold;
    });
    if (suppressed) continue;
    group.push_back(index);
    // The per-image cap: boxes come highest score first, so the first max_detections kept boxes of
    // an image are its best ones.
    int& count = kept_per_image[d.image_id];
    if (count < options.max_detections) kept.push_back(index);
    ++count;
  }
  return kept;
}

std::vector<Detection> nms(const std::vector<Detection>& detections, const NmsOptions& options) {
  std::vector<Detection> result;
  for (size_t index : nms_indices(detections, options)) result.push_back(detections[index]);
  return result;
}

}  // namespace ember
