// Scoring, COCO results and drawing for the detection lessons (detection.h).
#include "lessons/common/detection.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "datasets/coco.h"
#include "lessons/common/font5x7.h"
#include "lessons/common/image_io.h"

namespace ember {

// ---- scores ------------------------------------------------------------------------------------

CocoGroundTruthList to_coco_ground_truth(const DetectionSet& set) {
  // One mapping of ids for the whole engine: datasets/detection.h's coco_instances_from.
  const CocoInstances coco = coco_instances_from(set);
  CocoGroundTruthList list;
  for (const CocoImage& image : coco.images) list.image_ids.push_back(image.id);
  for (const CocoCategory& category : coco.categories) list.category_ids.push_back(category.id);
  for (const CocoAnnotation& a : coco.annotations) list.ground_truth.push_back({a.id, a.image_id, a.category_id, a.bbox, a.area, a.iscrowd});
  return list;
}

std::vector<CocoDetection> to_coco_detections(const std::vector<std::vector<Detection>>& found) {
  std::vector<CocoDetection> out;
  for (size_t i = 0; i < found.size(); ++i)
    for (const Detection& d : found[i]) {
      check(d.class_id >= 0, "to_coco_detections: image ", i, " has a detection of class ", d.class_id);
      check(std::isfinite(d.score) && std::isfinite(d.box.x1) && std::isfinite(d.box.y1) && std::isfinite(d.box.x2) &&
                std::isfinite(d.box.y2),
            "to_coco_detections: image ", i, " has a detection with a NaN or infinite box or score");
      out.push_back({int64_t(i) + 1, d.class_id + 1, box_to_xywh(d.box), d.score});
    }
  return out;
}

DetectionScores evaluate_detections(const DetectionSet& set, const std::vector<std::vector<Detection>>& found) {
  check(found.size() == set.images.size(), "evaluate_detections: ", found.size(), " lists of detections for ",
        set.images.size(), " images (one list per image, empty where nothing was found)");
  const CocoGroundTruthList gt = to_coco_ground_truth(set);
  const std::vector<CocoDetection> dt = to_coco_detections(found);

  DetectionScores s;
  s.coco = coco_evaluate(gt.image_ids, gt.category_ids, gt.ground_truth, dt);
  s.map = s.coco.stats[kAP];
  s.map50 = s.coco.stats[kAP50];
  s.map75 = s.coco.stats[kAP75];
  // Per class: AP@[.5:.95] comes with the evaluation; AP@0.5 is the AP50 of the class evaluated alone
  // (COCO's AP50 is the mean over classes of exactly that number).
  for (size_t c = 0; c < set.class_names.size(); ++c) {
    const int64_t category = int64_t(c) + 1;
    const auto at = std::find(s.coco.category_ids.begin(), s.coco.category_ids.end(), category);
    s.ap.push_back(s.coco.category_ap[at - s.coco.category_ids.begin()]);
    s.ap50.push_back(s.ap.back() < 0 ? -1.0 : coco_evaluate(gt.image_ids, {category}, gt.ground_truth, dt).stats[kAP50]);
  }
  return s;
}

std::string detection_scores_text(const DetectionScores& s, const std::vector<std::string>& class_names) {
  auto number = [](double v) {
    char buf[32];
    if (v < 0) return std::string("  -  ");
    std::snprintf(buf, sizeof(buf), "%.3f", v);
    return std::string(buf);
  };
  std::string text = "mAP@0.5 " + number(s.map50) + "  mAP@[.5:.95] " + number(s.map) + "  mAP@0.75 " +
                     number(s.map75) + "\n";
  size_t width = 5;
  for (const std::string& n : class_names) width = std::max(width, n.size());
  text += "class" + std::string(width - 5, ' ') + "  AP@0.5  AP@[.5:.95]\n";
  for (size_t c = 0; c < s.ap.size(); ++c) {
    const std::string name = c < class_names.size() ? class_names[c] : std::to_string(c);
    text += name + std::string(width - std::min(width, name.size()), ' ') + "  " + number(s.ap50[c]) + "   " +
            number(s.ap[c]) + "\n";
  }
  return text;
}

void write_coco_results(const std::string& path, const std::vector<std::vector<Detection>>& found) {
  std::vector<CocoResult> results;
  for (const CocoDetection& d : to_coco_detections(found)) results.push_back({d.image_id, d.category_id, d.bbox, d.score});
  write_coco_results(path, results);
}

// ---- drawing -----------------------------------------------------------------------------------

namespace {

// A box's outline, 2 pixels wide, inside the box's corners enlarged `scale` times.
void draw_box(Canvas& canvas, const Box& b, Color color, int scale) {
  const int x1 = std::clamp<int>(std::lround(b.x1 * scale), 0, canvas.width() - 1);
  const int y1 = std::clamp<int>(std::lround(b.y1 * scale), 0, canvas.height() - 1);
  const int x2 = std::clamp<int>(std::lround(b.x2 * scale), x1 + 1, canvas.width());
  const int y2 = std::clamp<int>(std::lround(b.y2 * scale), y1 + 1, canvas.height());
  canvas.draw_rect(x1, y1, x2 - x1, y2 - y1, color);
  if (x2 - x1 > 2 && y2 - y1 > 2) canvas.draw_rect(x1 + 1, y1 + 1, x2 - x1 - 2, y2 - y1 - 2, color);
}

// "7 0.93" on a strip of the box's colour, just above the box (inside it when there is no room above).
void draw_caption(Canvas& canvas, const Box& b, const std::string& text, Color color, int scale) {
  const int strip_w = text_width(text) + 4, strip_h = text_height() + 2;
  const int x = std::clamp<int>(std::lround(b.x1 * scale), 0, std::max(0, canvas.width() - strip_w));
  const int top = int(std::lround(b.y1 * scale));
  const int y = top - strip_h >= 0 ? top - strip_h : std::min(top + 2, std::max(0, canvas.height() - strip_h));
  canvas.fill_rect(x, y, strip_w, strip_h, color);
  canvas.draw_text(x + 2, y + 1, text, Color{0, 0, 0});
}

std::string class_name(const std::vector<std::string>& names, int64_t id) {
  return id >= 0 && id < int64_t(names.size()) ? names[id] : std::to_string(id);
}

}  // namespace

Canvas draw_detections(const Tensor& image, const std::vector<Detection>& predicted,
                       const std::vector<LabelledBox>& truth, const std::vector<std::string>& class_names,
                       int scale) {
  check(image.defined() && image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3),
        "draw_detections: image must be [C, H, W] with C = 1 or 3, got ",
        image.defined() ? shape_str(image.shape()) : "undefined");
  check(scale >= 1 && scale <= 64, "draw_detections: scale must be in 1..64, got ", scale);
  const Tensor f = image.dtype() == DType::Float32 ? image : image.to(DType::Float32);
  const int c = int(f.size(0)), h = int(f.size(1)), w = int(f.size(2));
  GridTile tile = tile_from_floats(f.data<float>(), c, h, w, "");
  Canvas canvas(w * scale, h * scale, Color{0, 0, 0});
  canvas.draw_image(0, 0, w, h, c, tile.pixels.data(), scale);

  for (const LabelledBox& t : truth) draw_box(canvas, Box{t.x1, t.y1, t.x2, t.y2}, kTrueBoxColor, scale);
  for (const Detection& d : predicted) draw_box(canvas, d.box, kPredictedBoxColor, scale);
  // Captions last, so no box is drawn over one.
  for (const Detection& d : predicted) {
    char score[16];
    std::snprintf(score, sizeof(score), "%.2f", d.score);
    draw_caption(canvas, d.box, class_name(class_names, d.class_id) + " " + score, kPredictedBoxColor, scale);
  }
  return canvas;
}

void save_detection_grid(const std::string& path, const DetectionSet& set,
                         const std::vector<std::vector<Detection>>& found, int columns, int scale, int max_images) {
  check(found.empty() || found.size() == set.images.size(), "save_detection_grid: ", found.size(),
        " lists of detections for ", set.images.size(), " images (pass none, or one per image)");
  check(max_images >= 1, "save_detection_grid: max_images must be at least 1, got ", max_images);
  std::vector<GridTile> tiles;
  const size_t n = std::min(set.images.size(), size_t(max_images));
  for (size_t i = 0; i < n; ++i) {
    const DetectionImage& item = set.images[i];
    const std::vector<Detection> none;
    const std::vector<Detection>& mine = found.empty() ? none : found[i];
    const Canvas canvas = draw_detections(item.image, mine, item.boxes, set.class_names, scale);
    std::string caption = item.name + ": " + std::to_string(item.boxes.size()) + " true";
    if (!found.empty()) caption += ", " + std::to_string(mine.size()) + " found";
    tiles.push_back(GridTile{canvas.width(), canvas.height(), 3, canvas.pixels(), caption});
  }
  save_image_grid(path, tiles, columns, 1);
}

}  // namespace ember
