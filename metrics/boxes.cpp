// Box layouts, area and IoU (formulas in boxes.h).
#include "metrics/boxes.h"

#include <algorithm>

namespace ember {

Box box_from_cxcywh(double cx, double cy, double w, double h) {
  return Box{cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
}

Box box_from_xywh(double x, double y, double w, double h) { return Box{x, y, x + w, y + h}; }

std::array<double, 4> box_to_cxcywh(const Box& b) {
  return {(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2, b.width(), b.height()};
}

std::array<double, 4> box_to_xywh(const Box& b) { return {b.x1, b.y1, b.width(), b.height()}; }

double area(const Box& b) {
  double w = b.width(), h = b.height();
  return (w <= 0 || h <= 0) ? 0.0 : w * h;
}

Box intersection(const Box& a, const Box& b) {
  Box overlap{std::max(a.x1, b.x1), std::max(a.y1, b.y1), std::min(a.x2, b.x2), std::min(a.y2, b.y2)};
  if (overlap.width() <= 0 || overlap.height() <= 0) return Box{};
  return overlap;
}

double iou(const Box& a, const Box& b) {
  double inter = area(intersection(a, b));
  double uni = area(a) + area(b) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

std::vector<std::vector<double>> iou_matrix(const std::vector<Box>& a, const std::vector<Box>& b) {
  std::vector<std::vector<double>> result(a.size(), std::vector<double>(b.size()));
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < b.size(); ++j) result[i][j] = iou(a[i], b[j]);
  return result;
}

}  // namespace ember
