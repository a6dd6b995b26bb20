// --compare_sliding=CLASSIFIER (with --eval=CHECKPOINT): how much faster one pass of the detector is
// than sliding a classifier over the scene, on the same scenes with the same threads.
//
// The sliding-window lesson (lessons/sliding_window) cuts out every 28x28 window at a stride of a
// few pixels, at several scales, and classifies each: about 500 windows for a 96x96 scene at its
// defaults (stride 4, scales 1, 0.75, 0.5), each a whole forward pass of its classifier. The
// detector looks at the scene once and its S x S x B predictions share every convolution.
//
// Timed for each detector: everything from the scene's pixels to the boxes kept by NMS (the
// sliding window: cutting windows, classifying, thresholds, NMS; the detector: the forward pass,
// decoding, NMS), one scene at a time, as a camera would deliver them; the detector also in batches
// of --eval_batch_size. Scored with the same COCO evaluator (lessons/common/detection.h). The
// sliding window runs with the settings its checkpoint was trained with (scales, stride, score
// threshold, NMS IoU) and its per-class box shapes.
#include <chrono>
#include <ctime>
#include <iostream>

#include "core/parallel.h"
#include "core/safetensors.h"
#include "lessons/common/detection.h"
#include "lessons/common/number_format.h"
#include "lessons/common/saved_metadata.h"
#include "lessons/sliding_window/lesson.h"
#include "lessons/yolo_lite/lesson.h"
#include "optim/checkpoint.h"

namespace ember::yolo {

namespace {

using Clock = std::chrono::steady_clock;

// Both clocks: the wall clock (what a user waits) and the process's CPU time (what the work costs;
// on a machine busy with other programs the wall clock also counts their turns, the CPU time does
// not). With one thread, images per CPU second is the images/s of an idle machine.
struct Timer {
  Clock::time_point wall = Clock::now();
  std::clock_t cpu = std::clock();
  double wall_seconds() const { return std::chrono::duration<double>(Clock::now() - wall).count(); }
  double cpu_seconds() const { return static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC; }
};

SpeedRow row(const std::string& name, const DetectionSet& scenes, const std::vector<std::vector<Detection>>& found,
             const Timer& timer) {
  const double wall = timer.wall_seconds(), cpu = timer.cpu_seconds();  // before scoring
  const DetectionScores scores = evaluate_detections(scenes, found);
  const double n = static_cast<double>(scenes.images.size());
  return {name, scores.map50, scores.map, n / wall, n / cpu};
}

}  // namespace

std::vector<SpeedRow> compare_with_sliding_window(Module& detector, const std::vector<Anchor>& anchors,
                                                  const DetectionSet& scenes, double score_threshold, double nms_iou,
                                                  int64_t batch_size, const std::string& classifier_path) {
  check(!scenes.images.empty(), "yolo_lite: --compare_sliding: no scenes to compare on");
  // the classifier and the settings the sliding-window lesson saved with it
  const Metadata metadata = load_safetensors(classifier_path).metadata;
  check(metadata.count("lesson") && metadata.at("lesson") == "sliding_window", "yolo_lite: --compare_sliding=",
        classifier_path, " is not a checkpoint of the sliding_window lesson (./run.sh sliding_window writes one)");
  Config sliding_cfg;
  sliding_window::add_settings(sliding_cfg);
  sliding_cfg.parse_text(saved_text(metadata, "config", classifier_path, "yolo_lite"),
                         classifier_path + " (the settings saved with the classifier)");
  Generator gen(0);
  std::shared_ptr<Sequential> classifier = sliding_window::build_classifier(gen);
  StateDict state = classifier->state_dict();
  load_model_from_checkpoint(classifier_path, NamedTensors(state.begin(), state.end()));
  const sliding_window::BoxShapes box_shapes = sliding_window::parse_box_shapes(
      saved_text(metadata, "box_shapes", classifier_path, "yolo_lite"), classifier_path);
  const sliding_window::DetectOptions options{.scales = sliding_window::parse_scales(sliding_cfg.get_string("scales")),
                                              .stride = sliding_cfg.get_int("stride"),
                                              .score_threshold = sliding_cfg.get_float("score_threshold"),
                                              .nms_iou = sliding_cfg.get_float("nms_iou")};
  const size_t n = scenes.images.size();
  std::vector<SpeedRow> rows;

  // 1. the sliding window, one scene at a time
  classifier->eval();
  std::vector<std::vector<Detection>> found;
  Timer timer;
  for (size_t i = 0; i < n; ++i)
    found.push_back(sliding_window::detect(*classifier, 0, scenes.images[i].image, static_cast<int64_t>(i), options,
                                           box_shapes));
  rows.push_back(row("sliding window", scenes, found, timer));

  // 2. the detector, one scene at a time: one forward pass each
  found.assign(n, {});
  timer = Timer();
  for (size_t i = 0; i < n; ++i) {
    DetectionSet one;
    one.class_names = scenes.class_names;
    one.images.push_back(scenes.images[i]);
    found[i] = detect(detector, one, anchors, score_threshold, nms_iou, 1);
  }
  rows.push_back(row("YOLO-lite, 1 scene per pass", scenes, found, timer));

  // 3. the detector in batches
  timer = Timer();
  const std::vector<Detection> batched = detect(detector, scenes, anchors, score_threshold, nms_iou, batch_size);
  rows.push_back(row(format_line("YOLO-lite, %lld scenes per pass", static_cast<long long>(batch_size)), scenes,
                     detections_per_image(batched, n), timer));
  return rows;
}

std::string speed_table(const std::vector<SpeedRow>& rows) {
  std::string text = format_line("%-30s %8s %13s %10s %9s %16s %9s\n", "detector", "mAP@0.5", "mAP@[.5:.95]",
                                 "images/s", "speed-up", "images/CPU-s", "speed-up");
  for (const SpeedRow& r : rows)
    text += format_line("%-30s %8.4f %13.4f %10.1f %8.1fx %16.1f %8.1fx\n", r.name.c_str(), r.map50, r.map50_95,
                        r.images_per_second, r.images_per_second / rows.front().images_per_second,
                        r.images_per_cpu_second, r.images_per_cpu_second / rows.front().images_per_cpu_second);
  return text;
}

}  // namespace ember::yolo
