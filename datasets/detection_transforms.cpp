// Augmentation for detection: the pixels and the boxes move together (detection.h).
//
// The move, as a map from a point (x, y) of the input to the output (W x H image, centre W/2, H/2):
//   flip:    x -> W - x
//   zoom:    x -> (x - W/2) * scale + W/2,  y -> (y - H/2) * scale + H/2
//   shift:   x -> x + dx,                   y -> y + dy
// Boxes go forward through the map (their corners do). Pixels go backward: output pixel (i, j) has
// its centre at (i + 0.5, j + 0.5); undoing the map gives the point of the input it shows, which is
// read bilinearly from the four nearest input pixel centres (0 outside the image).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "datasets/detection.h"

namespace ember {

namespace {

// Where each output column (or row) reads from: input index `lo` with weight 1 - t, lo + 1 with t.
struct Tap {
  int64_t lo = 0;
  double t = 0;
};

// The input coordinate seen by output pixel centre c, undoing shift, zoom and (for x) the flip.
std::vector<Tap> taps(int64_t size, double scale, double shift, bool flip) {
  std::vector<Tap> out(size);
  const double centre = size / 2.0;
  for (int64_t i = 0; i < size; ++i) {
    double x = (i + 0.5 - shift - centre) / scale + centre;
    if (flip) x = size - x;
    const double f = x - 0.5;  // in pixel indices: pixel k has its centre at k + 0.5
    out[i].lo = int64_t(std::floor(f));
    out[i].t = f - std::floor(f);
  }
  return out;
}

// The forward map of one coordinate.
double move_x(double x, double size, double scale, double shift) { return (x - size / 2) * scale + size / 2 + shift; }

}  // namespace

DetectionImage move_detection(const DetectionImage& in, const DetectionMove& move, double min_visible) {
  check(in.image.defined() && in.image.dim() == 3 && in.image.size(1) > 0 && in.image.size(2) > 0,
        "move_detection: image '", in.name, "' must be [C, H, W], got ",
        in.image.defined() ? shape_str(in.image.shape()) : "undefined");
  check(move.scale > 0 && std::isfinite(move.scale), "move_detection: scale must be > 0, got ", move.scale);
  check(std::isfinite(move.dx) && std::isfinite(move.dy), "move_detection: shift must be finite, got ", move.dx,
        ", ", move.dy);
  check(min_visible >= 0 && min_visible <= 1, "move_detection: min_visible must be in [0, 1], got ", min_visible);

  const Tensor src = in.image.dtype() == DType::Float32 ? in.image : in.image.to(DType::Float32);
  const int64_t channels = src.size(0), h = src.size(1), w = src.size(2);
  const std::vector<Tap> xs = taps(w, move.scale, move.dx, move.flip);
  const std::vector<Tap> ys = taps(h, move.scale, move.dy, false);

  DetectionImage out;
  out.name = in.name;
  out.image = Tensor::zeros({channels, h, w});
  const float* s = src.data<float>();
  float* d = out.image.data<float>();
  auto read = [&](const float* plane, int64_t x, int64_t y) -> double {
    return x >= 0 && x < w && y >= 0 && y < h ? plane[y * w + x] : 0.0;
  };
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = s + c * h * w;
    for (int64_t j = 0; j < h; ++j) {
      const Tap ty = ys[j];
      for (int64_t i = 0; i < w; ++i) {
        const Tap tx = xs[i];
        const double top = read(plane, tx.lo, ty.lo) * (1 - tx.t) + read(plane, tx.lo + 1, ty.lo) * tx.t;
        const double bottom = read(plane, tx.lo, ty.lo + 1) * (1 - tx.t) + read(plane, tx.lo + 1, ty.lo + 1) * tx.t;
        d[c * h * w + j * w + i] = float(top * (1 - ty.t) + bottom * ty.t);
      }
    }
  }

  for (const LabelledBox& b : in.boxes) {
    double x1 = b.x1, x2 = b.x2;
    if (move.flip) x1 = w - b.x2, x2 = w - b.x1;
    x1 = move_x(x1, w, move.scale, move.dx), x2 = move_x(x2, w, move.scale, move.dx);
    const double y1 = move_x(b.y1, h, move.scale, move.dy), y2 = move_x(b.y2, h, move.scale, move.dy);
    const double full = (x2 - x1) * (y2 - y1);
    const double cx1 = std::clamp(x1, 0.0, double(w)), cx2 = std::clamp(x2, 0.0, double(w));
    const double cy1 = std::clamp(y1, 0.0, double(h)), cy2 = std::clamp(y2, 0.0, double(h));
    const double visible = (cx2 - cx1) * (cy2 - cy1);
    if (full <= 0 || visible <= 0 || visible < min_visible * full) continue;
    out.boxes.push_back({b.class_id, float(cx1), float(cy1), float(cx2), float(cy2)});
  }
  return out;
}

DetectionImage augment_detection(const DetectionImage& in, const DetectionAugment& aug, Generator& gen) {
  check(aug.flip_probability >= 0 && aug.flip_probability <= 1,
        "augment_detection: flip_probability must be in [0, 1], got ", aug.flip_probability);
  check(aug.scale_min > 0 && aug.scale_min <= aug.scale_max && std::isfinite(aug.scale_max),
        "augment_detection: scale range must satisfy 0 < scale_min <= scale_max, got [", aug.scale_min, ", ",
        aug.scale_max, "]");
  check(aug.translate >= 0 && aug.translate <= 1, "augment_detection: translate must be in [0, 1], got ",
        aug.translate);
  check(in.image.defined() && in.image.dim() == 3, "augment_detection: image '", in.name, "' must be [C, H, W], got ",
        in.image.defined() ? shape_str(in.image.shape()) : "undefined");
  DetectionMove move;
  move.flip = gen.uniform() < aug.flip_probability;
  move.scale = gen.uniform(aug.scale_min, aug.scale_max);
  move.dx = std::round(gen.uniform(-aug.translate, aug.translate) * double(in.image.size(2)));
  move.dy = std::round(gen.uniform(-aug.translate, aug.translate) * double(in.image.size(1)));
  return move_detection(in, move, aug.min_visible);
}

}  // namespace ember
