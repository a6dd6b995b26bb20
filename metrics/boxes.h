#pragma once
// Boxes and the overlap measure every detection metric is built on.
//
// A Box is stored by its corners (x1, y1) top-left and (x2, y2) bottom-right, in pixels, with x to
// the right and y downwards. Detectors and files use two other layouts of the same four numbers:
//
//   xyxy     (x1, y1, x2, y2)      corners: what IoU and NMS work with (this struct)
//   cxcywh   (cx, cy, w, h)        centre and size: what YOLO predicts (cx = (x1 + x2) / 2, w = x2 - x1)
//   xywh     (x, y, w, h)          top-left corner and size: COCO's "bbox" field (x = x1, w = x2 - x1)
//
// IoU (intersection over union, the Jaccard index) of two boxes A and B:
//
//   IoU(A, B) = area(A ∩ B) / area(A ∪ B) = area(A ∩ B) / (area(A) + area(B) - area(A ∩ B))
//
// in [0, 1]: 0 when they do not overlap (or only touch along an edge), 1 when they are the same box.
// The intersection of two boxes is again a box: (max(x1), max(y1)) to (min(x2), min(y2)), empty
// when its width or height is <= 0.
#include <array>
#include <cstdint>
#include <vector>

namespace ember {

struct Box {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;

  double width() const { return x2 - x1; }
  double height() const { return y2 - y1; }
  bool operator==(const Box&) const = default;
};

// One scored box a detector produced for one image.
struct Detection {
  int64_t image_id = 0;
  int64_t class_id = 0;
  Box box;
  double score = 0;
};

// Conversions between the layouts above ({a, b, c, d} in the order the layout names them).
Box box_from_cxcywh(double cx, double cy, double w, double h);
Box box_from_xywh(double x, double y, double w, double h);
std::array<double, 4> box_to_cxcywh(const Box& b);
std::array<double, 4> box_to_xywh(const Box& b);

// width * height, and 0 for a box whose width or height is <= 0 (an empty box has no area).
double area(const Box& b);

// The overlap of a and b (empty: all corners 0 and area 0 when they do not overlap).
Box intersection(const Box& a, const Box& b);

// area(a ∩ b) / area(a ∪ b). Two empty boxes (union 0) have IoU 0, not 0/0.
double iou(const Box& a, const Box& b);

// The IoU of every pair: result[i][j] = iou(a[i], b[j]), a.size() rows of b.size() columns.
std::vector<std::vector<double>> iou_matrix(const std::vector<Box>& a, const std::vector<Box>& b);

}  // namespace ember
