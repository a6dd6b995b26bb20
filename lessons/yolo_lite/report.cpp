// What the lesson shows: the learning curves (each loss term, and validation mAP per epoch), and
// the boxes found as text. The scenes with their boxes are drawn by lessons/common/detection.h
// (save_detection_grid, draw_detections), as in the sliding-window lesson.
#include <cstdio>

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
