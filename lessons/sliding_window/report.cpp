// What the lesson shows: the detectors' mAP, their boxes on the test scenes, the score map, and the
// classifier's learning curves.
//
// mAP comes from COCO's evaluator (metrics/coco_eval.h, pycocotools' rules): a detection is right
// when its class is right and its IoU with a true box not yet taken is >= t. mAP@0.5 takes t = 0.5,
// mAP@[.5:.95] averages t = 0.50, 0.55, ..., 0.95 (a window-sized box rarely fits a digit tightly,
// so the second number is much lower).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "lessons/common/canvas.h"
#include "lessons/common/plot.h"
#include "lessons/sliding_window/lesson.h"
#include "metrics/coco_eval.h"

namespace ember::sliding_window {

DetectionScores score_detections(const DetectionSet& scenes, const std::vector<Detection>& detections) {
  // COCO numbers its categories from 1: category k + 1 is class k. Image ids are scene indices.
  std::vector<int64_t> image_ids, category_ids;
  for (size_t i = 0; i < scenes.images.size(); ++i) image_ids.push_back(static_cast<int64_t>(i));
  for (int64_t k = 0; k < kNumDigits; ++k) category_ids.push_back(k + 1);
  std::vector<CocoGroundTruth> truth;
  for (size_t i = 0; i < scenes.images.size(); ++i)
    for (const LabelledBox& b : scenes.images[i].boxes) {
      const Box box{b.x1, b.y1, b.x2, b.y2};
      truth.push_back({.id = static_cast<int64_t>(truth.size()) + 1, .image_id = static_cast<int64_t>(i),
                       .category_id = b.class_id + 1, .bbox = box_to_xywh(box), .area = area(box)});
    }
  std::vector<CocoDetection> found;
  for (const Detection& d : detections)
    found.push_back({.image_id = d.image_id, .category_id = d.class_id + 1, .bbox = box_to_xywh(d.box),
                     .score = d.score});
  const CocoEvalResult result = coco_evaluate(image_ids, category_ids, truth, found);
  // -1 means "nothing to average" (no true boxes at all): no objects found is a score of 0 here.
  return {std::max(0.0, result.stats[kAP50]), std::max(0.0, result.stats[kAP])};
}

namespace {

constexpr Color kTrueColor{40, 200, 60}, kPredictedColor{235, 50, 40};

// A grey [1, H, W] image into the canvas at (left, top), each pixel a scale x scale square.
void draw_grey(Canvas& canvas, const Tensor& image, int left, int top, int scale) {
  const int height = static_cast<int>(image.size(1)), width = static_cast<int>(image.size(2));
  std::vector<uint8_t> bytes(static_cast<size_t>(height) * width);
  const float* pixels = image.data<float>();
  for (size_t p = 0; p < bytes.size(); ++p)
    bytes[p] = static_cast<uint8_t>(std::lround(std::clamp(pixels[p], 0.0f, 1.0f) * 255.0f));
  canvas.draw_image(left, top, width, height, 1, bytes.data(), scale);
}

// A box outline two pixels thick, in scene pixels scaled to the canvas.
void draw_box(Canvas& canvas, const Box& box, int left, int top, int scale, Color color) {
  const int x = left + static_cast<int>(std::lround(box.x1 * scale)), y = top + static_cast<int>(std::lround(box.y1 * scale));
  const int w = static_cast<int>(std::lround(box.width() * scale)), h = static_cast<int>(std::lround(box.height() * scale));
  canvas.draw_rect(x, y, w, h, color);
  canvas.draw_rect(x + 1, y + 1, w - 2, h - 2, color);
}

// A colour for a value in [0, 1]: black, purple, red, orange, yellow (a heat map's scale).
Color heat_color(double v) {
  static const Color stops[] = {{0, 0, 0}, {90, 20, 130}, {200, 40, 70}, {245, 140, 30}, {252, 250, 150}};
  v = std::clamp(v, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(v));
  const double f = v - i;
  auto mix = [f](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + (b - a) * f)); };
  return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g), mix(stops[i].b, stops[i + 1].b)};
}

}  // namespace

void save_detections_grid(const std::string& path, const DetectionSet& scenes,
                          const std::vector<Detection>& detections, int64_t count) {
  const int64_t shown = std::min<int64_t>(count, static_cast<int64_t>(scenes.images.size()));
  if (shown == 0) return;
  const int scale = 2, columns = static_cast<int>(std::min<int64_t>(4, shown)), margin = 12;
  int cell_w = 0, cell_h = 0;
  for (int64_t i = 0; i < shown; ++i) {
    cell_w = std::max(cell_w, static_cast<int>(scenes.images[i].image.size(2)) * scale + margin);
    cell_h = std::max(cell_h, static_cast<int>(scenes.images[i].image.size(1)) * scale + margin + 10);
  }
  const int rows = static_cast<int>((shown + columns - 1) / columns);
  Canvas canvas(columns * cell_w + margin, rows * cell_h + margin + 14);
  canvas.draw_text(margin, 4, "green: true boxes   red: detections (class score)", Color{0, 0, 0});
  for (int64_t i = 0; i < shown; ++i) {
    const DetectionImage& scene = scenes.images[i];
    const int left = margin + static_cast<int>(i % columns) * cell_w;
    const int top = margin + 14 + static_cast<int>(i / columns) * cell_h;
    draw_grey(canvas, scene.image, left, top, scale);
    for (const LabelledBox& b : scene.boxes) draw_box(canvas, {b.x1, b.y1, b.x2, b.y2}, left, top, scale, kTrueColor);
    for (const Detection& d : detections) {
      if (d.image_id != i) continue;
      draw_box(canvas, d.box, left, top, scale, kPredictedColor);
      char caption[32];
      std::snprintf(caption, sizeof caption, "%s %.2f", scenes.class_names.at(d.class_id).c_str(), d.score);
      canvas.draw_text(left + static_cast<int>(std::lround(d.box.x1 * scale)) + 3,
                       top + static_cast<int>(std::lround(d.box.y1 * scale)) + 3, caption, kPredictedColor);
    }
  }
  canvas.save_png(path);
}

void save_score_map(const std::string& path, const Tensor& scene, const std::vector<ScoreGrid>& grids) {
  const int scale = 2, margin = 12, height = static_cast<int>(scene.size(1)), width = static_cast<int>(scene.size(2));
  const int panel_w = width * scale + margin;
  Canvas canvas(static_cast<int>(grids.size() + 1) * panel_w + margin, height * scale + 2 * margin + 36);
  canvas.draw_text(margin, 4, "highest digit probability of the window centred at each pixel (black 0, yellow 1)",
                   Color{0, 0, 0});
  const int top = margin + 14;
  draw_grey(canvas, scene, margin, top, scale);
  canvas.draw_text(margin, top + height * scale + 4, "scene", Color{0, 0, 0});
  for (size_t g = 0; g < grids.size(); ++g) {
    const ScoreGrid& grid = grids[g];
    // Each window paints the stride x stride block of (resized) pixels around its centre.
    std::vector<uint8_t> rgb(static_cast<size_t>(height) * width * 3, 0);
    const float* p = grid.probabilities.data<float>();
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const double rx = (x + 0.5) / grid.pixels_per_x, ry = (y + 0.5) / grid.pixels_per_y;  // resized pixels
        const int64_t j = static_cast<int64_t>(std::floor((rx - kPatch / 2.0) / grid.stride + 0.5));
        const int64_t i = static_cast<int64_t>(std::floor((ry - kPatch / 2.0) / grid.stride + 0.5));
        double value = 0.0;
        if (i >= 0 && i < grid.rows && j >= 0 && j < grid.cols) {
          const float* scores = p + (i * grid.cols + j) * kNumOutputs;
          value = *std::max_element(scores, scores + kNumDigits);
        }
        const Color c = heat_color(value);
        uint8_t* out = rgb.data() + (static_cast<size_t>(y) * width + x) * 3;
        out[0] = c.r;
        out[1] = c.g;
        out[2] = c.b;
      }
    const int left = margin + static_cast<int>(g + 1) * panel_w;
    canvas.draw_image(left, top, width, height, 3, rgb.data(), scale);
    char caption[64];
    std::snprintf(caption, sizeof caption, "scale %.3g: %.0f px windows", grid.scale, kPatch / grid.scale);
    canvas.draw_text(left, top + height * scale + 4, caption, Color{0, 0, 0});
  }
  canvas.save_png(path);
}

void save_curves(const std::string& path, const std::string& title, const std::vector<EpochRecord>& history) {
  std::vector<double> epochs, train_loss, val_loss, train_accuracy, val_accuracy;
  for (const EpochRecord& r : history) {
    epochs.push_back(static_cast<double>(r.epoch));
    train_loss.push_back(r.train_loss);
    val_loss.push_back(r.val_loss);
    train_accuracy.push_back(r.train_accuracy);
    val_accuracy.push_back(r.val_accuracy);
  }
  LinePlot loss("loss", "epoch", "cross-entropy");
  loss.add_series("train", epochs, train_loss).add_series("validation", epochs, val_loss);
  LinePlot accuracy("patch accuracy", "epoch", "fraction right");
  accuracy.add_series("train", epochs, train_accuracy).add_series("validation", epochs, val_accuracy);
  save_learning_curves(path, title, {loss, accuracy});
}

}  // namespace ember::sliding_window
