// Target assignment: which prediction has to find which true box, and what it should output.
//
// For a true box with centre (cx, cy) and size (w, h) in an image of side P (pixels):
//
//   cell       col = floor(cx / P * S), row = floor(cy / P * S)          the cell holding the centre
//   anchor     the a with the largest IoU(anchor_a, (w/P, h/P)), both at the same corner (shape only)
//   x, y       cx / P * S - col, cy / P * S - row  in [0, 1)            what sigmoid(tx), sigmoid(ty) should be
//   tw, th     log(w / (P anchor_w)), log(h / (P anchor_h))             what tw, th should be
//
// Exactly one prediction is responsible for each box (YOLOv2). Every other prediction should say
// "no object", except one whose predicted box already overlaps a true box by more than ignore_iou:
// it found an object, just not as the responsible one, and punishing it would teach the network to
// hide good boxes (YOLOv2 skips the no-object term there).
#include <algorithm>
#include <cmath>

#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

Responsible responsible_for(const LabelledBox& box, const std::vector<Anchor>& anchors, int64_t grid,
                            int64_t image_side) {
  Responsible r;
  const double side = static_cast<double>(image_side);
  const double cx = (box.x1 + box.x2) / 2.0 / side, cy = (box.y1 + box.y2) / 2.0 / side;  // [0, 1]
  if (!(cx >= 0 && cx < 1 && cy >= 0 && cy < 1) || box.x2 <= box.x1 || box.y2 <= box.y1) return r;
  r.col = std::min(static_cast<int64_t>(cx * static_cast<double>(grid)), grid - 1);
  r.row = std::min(static_cast<int64_t>(cy * static_cast<double>(grid)), grid - 1);
  const Anchor size{(box.x2 - box.x1) / side, (box.y2 - box.y1) / side};
  double best = -1;
  for (size_t a = 0; a < anchors.size(); ++a) {
    const double overlap = corner_aligned_iou(size, anchors[a]);
    if (overlap > best) best = overlap, r.anchor = static_cast<int64_t>(a);
  }
  return r;
}

Targets build_targets(const Tensor& predictions, const std::vector<std::vector<LabelledBox>>& boxes,
                      const std::vector<Anchor>& anchors, int64_t image_side, const TargetOptions& options) {
  check(predictions.dim() == 4 && predictions.size(2) == predictions.size(3), "build_targets: predictions should be ",
        "[N, B (5 + K), S, S], got ", shape_str(predictions.shape()));
  const int64_t n_images = predictions.size(0), grid = predictions.size(2);
  const int64_t n_anchors = static_cast<int64_t>(anchors.size());
  check(n_anchors >= 1 && predictions.size(1) % n_anchors == 0 && predictions.size(1) / n_anchors > 5,
        "build_targets: ", predictions.size(1), " channels are not ", n_anchors, " anchors x (5 + classes)");
  check(static_cast<int64_t>(boxes.size()) == n_images, "build_targets: ", boxes.size(), " lists of boxes for ",
        n_images, " images");
  const int64_t per_anchor = predictions.size(1) / n_anchors;
  const int64_t cells = grid * grid;
  const Tensor p64 = predictions.detach().cpu().to(DType::Float64);  // read on the CPU (--device=cuda too)
  const double* p = p64.data<double>();
  // feature f of anchor a at cell (row, col) of image n
  auto value = [&](int64_t n, int64_t a, int64_t f, int64_t row, int64_t col) {
    return p[((n * n_anchors + a) * per_anchor + f) * cells + row * grid + col];
  };
  auto predicted_box = [&](int64_t n, int64_t a, int64_t row, int64_t col) {
    return decode_box(value(n, a, 0, row, col), value(n, a, 1, row, col), value(n, a, 2, row, col),
                      value(n, a, 3, row, col), row, col, grid, anchors[a], image_side);
  };

  Targets t;
  t.images = n_images, t.grid = grid, t.anchors = n_anchors;
  t.noobj_mask.assign(static_cast<size_t>(n_images * cells * n_anchors), 1.0);
  const double side = static_cast<double>(image_side), s = static_cast<double>(grid);
  for (int64_t n = 0; n < n_images; ++n) {
    // the ignore mask: predictions that already overlap a true box well
    for (int64_t row = 0; row < grid; ++row)
      for (int64_t col = 0; col < grid; ++col)
        for (int64_t a = 0; a < n_anchors; ++a) {
          const Box pred = predicted_box(n, a, row, col);
          for (const LabelledBox& b : boxes[n])
            if (iou(pred, Box{b.x1, b.y1, b.x2, b.y2}) > options.ignore_iou)
              t.noobj_mask[static_cast<size_t>(((n * grid + row) * grid + col) * n_anchors + a)] = 0.0;
        }
    // the responsible prediction of every box
    std::vector<bool> taken(static_cast<size_t>(cells * n_anchors), false);
    for (const LabelledBox& b : boxes[n]) {
      Responsible r = responsible_for(b, anchors, grid, image_side);
      if (r.anchor < 0) continue;
      const Anchor size{(b.x2 - b.x1) / side, (b.y2 - b.y1) / side};
      const int64_t cell = r.row * grid + r.col;
      if (taken[static_cast<size_t>(cell * n_anchors + r.anchor)]) {
        // the next-best anchor of the cell that is still free
        r.anchor = -1;
        double best = -1;
        for (int64_t a = 0; a < n_anchors; ++a) {
          const double overlap = corner_aligned_iou(size, anchors[a]);
          if (!taken[static_cast<size_t>(cell * n_anchors + a)] && overlap > best) best = overlap, r.anchor = a;
        }
        if (r.anchor < 0) continue;
      }
      taken[static_cast<size_t>(cell * n_anchors + r.anchor)] = true;
      const int64_t row_index = (n * cells + cell) * n_anchors + r.anchor;
      const Anchor& anchor = anchors[r.anchor];
      t.rows.push_back(row_index);
      t.x.push_back((b.x1 + b.x2) / 2.0 / side * s - static_cast<double>(r.col));
      t.y.push_back((b.y1 + b.y2) / 2.0 / side * s - static_cast<double>(r.row));
      t.tw.push_back(std::log(size.w / anchor.w));
      t.th.push_back(std::log(size.h / anchor.h));
      t.coord_weight.push_back(2.0 - size.w * size.h);
      t.objectness.push_back(options.rescore ? iou(predicted_box(n, r.anchor, r.row, r.col), Box{b.x1, b.y1, b.x2, b.y2})
                                             : 1.0);
      t.classes.push_back(b.class_id);
      t.noobj_mask[static_cast<size_t>(row_index)] = 0.0;  // it has an object: the object term applies instead
    }
  }
  return t;
}

}  // namespace ember::yolo
