// Anchor boxes: B box shapes that the predictions of a cell start from (YOLOv2's "dimension
// clusters"). A prediction only has to say how much wider or taller its box is than its anchor, and
// each anchor specialises in the objects of about its shape.
//
// The priors come from the training boxes themselves: k-means clustering of their sizes (w, h),
// with the distance
//
//     d(box, centre) = 1 - IoU(box, centre)      both placed at the same top-left corner
//
// instead of the Euclidean distance, which would let large boxes produce larger errors than small
// ones; IoU is what the detector is judged by, whatever the size.
//
//   1. start: k-means++ (the first centre a random box; each next one a box drawn with probability
//      proportional to its distance to the nearest centre so far), from a seeded generator;
//   2. assign every box to the centre with the smallest distance (the largest IoU);
//   3. move every centre to the mean (w, h) of its boxes (a centre without boxes stays);
//   4. repeat 2-3 until no box changes centre, or `iterations` times.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

double corner_aligned_iou(const Anchor& a, const Anchor& b) {
  const double overlap = std::min(a.w, b.w) * std::min(a.h, b.h);
  const double united = a.w * a.h + b.w * b.h - overlap;
  return united > 0 ? overlap / united : 0.0;
}

namespace {

double distance(const Anchor& box, const Anchor& centre) { return 1.0 - corner_aligned_iou(box, centre); }

// The index of the centre nearest to `box` (the first one on a tie).
size_t nearest_centre(const Anchor& box, const std::vector<Anchor>& centres) {
  size_t best = 0;
  for (size_t c = 1; c < centres.size(); ++c)
    if (distance(box, centres[c]) < distance(box, centres[best])) best = c;
  return best;
}

std::vector<Anchor> kmeans_plus_plus_start(const std::vector<Anchor>& sizes, size_t k, Generator& gen) {
  std::vector<Anchor> centres{sizes[static_cast<size_t>(gen.randint(0, static_cast<int64_t>(sizes.size())))]};
  while (centres.size() < k) {
    std::vector<double> weight(sizes.size());
    double total = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      weight[i] = distance(sizes[i], centres[nearest_centre(sizes[i], centres)]);
      total += weight[i];
    }
    if (total <= 0) {  // every box already sits on a centre: fewer distinct sizes than k
      centres.push_back(centres.back());
      continue;
    }
    double draw = gen.uniform() * total;
    size_t chosen = sizes.size() - 1;
    for (size_t i = 0; i < sizes.size(); ++i) {
      draw -= weight[i];
      if (draw < 0) {
        chosen = i;
        break;
      }
    }
    centres.push_back(sizes[chosen]);
  }
  return centres;
}

}  // namespace

std::vector<Anchor> kmeans_anchors(const std::vector<Anchor>& sizes, int64_t k, uint64_t seed, int64_t iterations) {
  check(k >= 1, "kmeans_anchors: k must be at least 1, got ", k);
  check(!sizes.empty(), "kmeans_anchors: no boxes to cluster (the training set has no labelled objects)");
  for (const Anchor& s : sizes)
    check(s.w > 0 && s.h > 0 && std::isfinite(s.w) && std::isfinite(s.h),
          "kmeans_anchors: a box has size ", s.w, " x ", s.h, "; every box needs a positive width and height");
  Generator gen(seed);
  std::vector<Anchor> centres = kmeans_plus_plus_start(sizes, static_cast<size_t>(k), gen);
  std::vector<size_t> assignment(sizes.size(), centres.size());  // none yet
  for (int64_t round = 0; round < iterations; ++round) {
    bool changed = false;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const size_t c = nearest_centre(sizes[i], centres);
      changed = changed || c != assignment[i];
      assignment[i] = c;
    }
    if (!changed) break;
    std::vector<Anchor> sum(centres.size());
    std::vector<int64_t> count(centres.size(), 0);
    for (size_t i = 0; i < sizes.size(); ++i) {
      sum[assignment[i]].w += sizes[i].w;
      sum[assignment[i]].h += sizes[i].h;
      ++count[assignment[i]];
    }
    for (size_t c = 0; c < centres.size(); ++c)
      if (count[c] > 0) centres[c] = {sum[c].w / static_cast<double>(count[c]), sum[c].h / static_cast<double>(count[c])};
  }
  std::stable_sort(centres.begin(), centres.end(),
                   [](const Anchor& a, const Anchor& b) { return a.w * a.h < b.w * b.h; });
  return centres;
}

std::vector<Anchor> box_sizes(const DetectionSet& set) {
  std::vector<Anchor> sizes;
  for (const DetectionImage& image : set.images) {
    const double height = static_cast<double>(image.image.size(1)), width = static_cast<double>(image.image.size(2));
    for (const LabelledBox& b : image.boxes)
      if (b.x2 > b.x1 && b.y2 > b.y1) sizes.push_back({(b.x2 - b.x1) / width, (b.y2 - b.y1) / height});
  }
  return sizes;
}

double mean_best_iou(const std::vector<Anchor>& sizes, const std::vector<Anchor>& anchors) {
  if (sizes.empty()) return 0.0;
  double sum = 0;
  for (const Anchor& s : sizes) sum += corner_aligned_iou(s, anchors[nearest_centre(s, anchors)]);
  return sum / static_cast<double>(sizes.size());
}

std::string anchors_text(const std::vector<Anchor>& anchors) {
  std::string text;
  for (const Anchor& a : anchors) {
    char item[64];
    std::snprintf(item, sizeof item, "%.17gx%.17g", a.w, a.h);
    if (!text.empty()) text += ' ';
    text += item;
  }
  return text;
}

std::vector<Anchor> parse_anchors(const std::string& text, const std::string& source) {
  std::vector<Anchor> anchors;
  std::istringstream items(text);
  for (std::string item; items >> item;) {
    Anchor a;
    char x = 0, extra = 0;
    std::istringstream parts(item);
    check(static_cast<bool>(parts >> a.w >> x >> a.h) && x == 'x' && !(parts >> extra) && a.w > 0 && a.h > 0 &&
              std::isfinite(a.w) && std::isfinite(a.h),
          source, ": anchor \"", item, "\" should be WIDTHxHEIGHT with two positive numbers (fractions of the image)");
    anchors.push_back(a);
  }
  check(!anchors.empty(), source, ": no anchors in \"", text, "\"");
  return anchors;
}

}  // namespace ember::yolo
