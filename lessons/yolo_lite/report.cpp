// What the lesson shows: the learning curves (each loss term, and validation mAP per epoch), and
// scenes with their boxes: the true ones in green, the detector's in red with "class score".
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "datasets/image_file.h"
#include "lessons/common/canvas.h"
#include "lessons/common/plot.h"
#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

void save_curves(const std::string& path, const std::string& title, const std::vector<EpochRecord>& history) {
  std::vector<double> epochs, loss, coord, obj, noobj, cls, map50, map50_95;
  for (const EpochRecord& r : history) {
    epochs.push_back(static_cast<double>(r.epoch));
    loss.push_back(r.loss);
    coord.push_back(r.coord);
    obj.push_back(r.obj);
    noobj.push_back(r.noobj);
    cls.push_back(r.cls);
    map50.push_back(r.val_map50);
    map50_95.push_back(r.val_map50_95);
  }
  LinePlot losses("training loss per image", "epoch", "loss");
  losses.set_log_y()
      .add_series("total", epochs, loss)
      .add_series("coord", epochs, coord)
      .add_series("obj", epochs, obj)
      .add_series("noobj", epochs, noobj)
      .add_series("class", epochs, cls);
  LinePlot accuracy("validation mAP", "epoch", "mAP");
  accuracy.add_series("mAP@0.5", epochs, map50).add_series("mAP@[.5:.95]", epochs, map50_95);
  save_learning_curves(path, title, {losses, accuracy});
}

namespace {

const Color kTrue{40, 180, 60}, kPredicted{230, 40, 40};

void draw_box(Canvas& canvas, const Box& b, int scale, Color color) {
  const int x1 = static_cast<int>(std::lround(b.x1 * scale)), y1 = static_cast<int>(std::lround(b.y1 * scale));
  const int x2 = static_cast<int>(std::lround(b.x2 * scale)), y2 = static_cast<int>(std::lround(b.y2 * scale));
  canvas.draw_rect(x1, y1, std::max(1, x2 - x1), std::max(1, y2 - y1), color);
  canvas.draw_rect(x1 + 1, y1 + 1, std::max(1, x2 - x1 - 2), std::max(1, y2 - y1 - 2), color);  // 2 pixels thick
}

std::string caption(const Detection& d, const std::vector<std::string>& class_names) {
  char score[16];
  std::snprintf(score, sizeof score, "%.2f", d.score);
  return class_names.at(static_cast<size_t>(d.class_id)) + " " + score;
}

}  // namespace

Picture draw_detections(const DetectionImage& image, const std::vector<Detection>& predicted,
                        const std::vector<std::string>& class_names, int scale, bool draw_truth) {
  const int channels = static_cast<int>(image.image.size(0)), height = static_cast<int>(image.image.size(1)),
            width = static_cast<int>(image.image.size(2));
  // the image as bytes, interleaved, grey repeated into RGB
  const Tensor f = image.image.to(DType::Float32);
  std::vector<uint8_t> rgb(static_cast<size_t>(height * width * 3));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        const float v = f.data<float>()[(std::min(c, channels - 1) * height + y) * width + x];
        rgb[static_cast<size_t>((y * width + x) * 3 + c)] =
            static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
      }
  Canvas canvas(width * scale, height * scale);
  canvas.draw_image(0, 0, width, height, 3, rgb.data(), scale);
  if (draw_truth)
    for (const LabelledBox& b : image.boxes) draw_box(canvas, Box{b.x1, b.y1, b.x2, b.y2}, scale, kTrue);
  for (const Detection& d : predicted) {
    draw_box(canvas, d.box, scale, kPredicted);
    // the caption above the box, or inside it when the box touches the top
    const int x = std::clamp(static_cast<int>(d.box.x1 * scale), 0, canvas.width() - 1);
    const int y = static_cast<int>(d.box.y1 * scale) >= 10 ? static_cast<int>(d.box.y1 * scale) - 9
                                                           : static_cast<int>(d.box.y1 * scale) + 3;
    canvas.draw_text(x + 1, y, caption(d, class_names), kPredicted);
  }
  return Picture{canvas.width(), canvas.height(), canvas.pixels()};
}

void save_scene_grid(const std::string& path, const DetectionSet& set, const std::vector<Detection>& detections,
                     const std::vector<std::string>& class_names, double draw_threshold, int64_t count,
                     int64_t columns) {
  const int64_t shown = std::min<int64_t>(count, static_cast<int64_t>(set.images.size()));
  if (shown <= 0) return;
  const int scale = 2, gap = 6;
  std::vector<Picture> pictures;
  for (int64_t i = 0; i < shown; ++i) {
    std::vector<Detection> mine;
    for (const Detection& d : detections)
      if (d.image_id == i && d.score >= draw_threshold) mine.push_back(d);
    pictures.push_back(draw_detections(set.images[static_cast<size_t>(i)], mine, class_names, scale, true));
  }
  const int64_t cols = std::min(columns, shown), rows = (shown + cols - 1) / cols;
  int cell_w = 0, cell_h = 0;
  for (const Picture& p : pictures) cell_w = std::max(cell_w, p.width), cell_h = std::max(cell_h, p.height);
  const int legend = 14;
  Canvas grid(static_cast<int>(cols) * (cell_w + gap) + gap, static_cast<int>(rows) * (cell_h + gap) + gap + legend);
  grid.draw_text(gap, 4, "green: true boxes   red: detections (class score)", {0, 0, 0});
  for (int64_t i = 0; i < shown; ++i) {
    const Picture& p = pictures[static_cast<size_t>(i)];
    grid.draw_image(gap + static_cast<int>(i % cols) * (cell_w + gap),
                    legend + gap + static_cast<int>(i / cols) * (cell_h + gap), p.width, p.height, 3,
                    p.pixels.data());
  }
  grid.save_png(path);
}

std::string format_detections(const std::vector<Detection>& detections, const std::vector<std::string>& class_names) {
  std::string text;
  for (const Detection& d : detections) {
    char line[160];
    std::snprintf(line, sizeof line, "%s at (%.1f, %.1f)-(%.1f, %.1f) score %.3f\n",
                  class_names.at(static_cast<size_t>(d.class_id)).c_str(), d.box.x1, d.box.y1, d.box.x2, d.box.y2,
                  d.score);
    text += line;
  }
  return text;
}

}  // namespace ember::yolo
