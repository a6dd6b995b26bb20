// What the lesson draws besides the detections (lessons/common/detection.h draws those): the score
// map of the fully convolutional net, and the classifier's learning curves.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "lessons/common/canvas.h"
#include "lessons/common/plot.h"
#include "lessons/sliding_window/lesson.h"

namespace ember::sliding_window {

namespace {

// A grey [1, H, W] image into the canvas at (left, top), each pixel a scale x scale square.
void draw_grey(Canvas& canvas, const Tensor& image, int left, int top, int scale) {
  const int height = static_cast<int>(image.size(1)), width = static_cast<int>(image.size(2));
  std::vector<uint8_t> bytes(static_cast<size_t>(height) * width);
  const float* pixels = image.data<float>();
  for (size_t p = 0; p < bytes.size(); ++p)
    bytes[p] = static_cast<uint8_t>(std::lround(std::clamp(pixels[p], 0.0f, 1.0f) * 255.0f));
  canvas.draw_image(left, top, width, height, 1, bytes.data(), scale);
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
