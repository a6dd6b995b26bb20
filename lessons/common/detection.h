#pragma once
// What the detection lessons (sliding window, YOLO-lite) share: scoring a detector on a
// DetectionSet with the COCO rules (metrics/coco_eval.h), writing its boxes as a COCO results file,
// and drawing boxes onto the scenes.
//
//   DetectionSet test = ...;                                   // datasets/detection.h
//   std::vector<std::vector<Detection>> found(test.images.size());
//   for (size_t i = 0; i < test.images.size(); ++i) found[i] = nms(detector(test.images[i].image));
//   DetectionScores s = evaluate_detections(test, found);
//   std::cout << detection_scores_text(s, test.class_names);  // mAP@0.5 0.912  mAP@[.5:.95] 0.634 ...
//   write_coco_results("runs/yolo/detections.json", found);    // for metrics/programs/coco_eval
//   save_detection_grid("runs/yolo/test_scenes.png", test, found, 4);
//
// Ids, the same as datasets/detection.h's coco_instances_from (so the files agree with these numbers):
//   image id = index in set.images + 1,  category id = class id + 1.
// found[i] holds the boxes for set.images[i]; Detection::image_id is not read (the index decides),
// Detection::class_id is the class index, Detection::box is in pixels of that image.
#include <string>
#include <vector>

#include "datasets/detection.h"
#include "lessons/common/canvas.h"
#include "metrics/boxes.h"
#include "metrics/coco_eval.h"

namespace ember {

// ---- scores ------------------------------------------------------------------------------------

// The ground truth of `set` in the form coco_evaluate takes.
struct CocoGroundTruthList {
  std::vector<int64_t> image_ids;              // 1 .. N
  std::vector<int64_t> category_ids;           // 1 .. number of classes
  std::vector<CocoGroundTruth> ground_truth;   // one per box, ids 1, 2, ...; area = box area
};
CocoGroundTruthList to_coco_ground_truth(const DetectionSet& set);

// found[i] (the boxes for set.images[i]) as COCO detections, bbox [x1, y1, x2 - x1, y2 - y1].
std::vector<CocoDetection> to_coco_detections(const std::vector<std::vector<Detection>>& found);

struct DetectionScores {
  CocoEvalResult coco;       // all 12 COCO numbers (coco.stats[kAP], ...) and per-category AP
  double map = -1;           // mAP@[.5:.95]: AP averaged over IoU 0.50, 0.55, ..., 0.95 and the classes
  double map50 = -1;         // mAP@0.5 (PASCAL VOC's threshold, COCO's 101-point AP)
  double map75 = -1;         // mAP@0.75 (strict localisation)
  std::vector<double> ap;    // per class id: AP@[.5:.95]; -1 for a class with no box in the set
  std::vector<double> ap50;  // per class id: AP@0.5; -1 likewise
};
// Scores found[i] against set.images[i]'s boxes (found.size() must be set.images.size()). A class
// with no ground-truth box has -1 and is left out of the means, as in COCO.
DetectionScores evaluate_detections(const DetectionSet& set, const std::vector<std::vector<Detection>>& found);

// A few lines for the console: the three means, then one line per class with its two APs.
std::string detection_scores_text(const DetectionScores& scores, const std::vector<std::string>& class_names);

// A COCO results file of found (datasets/coco.h's layout, ids as above).
void write_coco_results(const std::string& path, const std::vector<std::vector<Detection>>& found);

// ---- drawing -----------------------------------------------------------------------------------

inline constexpr Color kTrueBoxColor{40, 200, 60};        // green: the ground truth
inline constexpr Color kPredictedBoxColor{255, 70, 40};   // red-orange: what the detector found

// The image ([C, H, W] in [0, 1], C = 1 or 3) enlarged `scale` times, the true boxes drawn in
// kTrueBoxColor and the predicted ones in kPredictedBoxColor, each predicted box captioned with
// its class name and score ("7 0.93") on a strip of its colour. Box edges are 2 pixels wide and lie
// just inside the box: the left edge covers canvas columns round(x1 * scale) and the one after.
Canvas draw_detections(const Tensor& image, const std::vector<Detection>& predicted,
                       const std::vector<LabelledBox>& truth, const std::vector<std::string>& class_names,
                       int scale = 3);

// The first `max_images` scenes of `set` drawn as above (found may be empty: true boxes only;
// otherwise one entry per image), in a grid of `columns`, each captioned with its name and how many
// boxes it has and were found; saved as a PNG.
void save_detection_grid(const std::string& path, const DetectionSet& set,
                         const std::vector<std::vector<Detection>>& found, int columns = 4, int scale = 3,
                         int max_images = 16);

}  // namespace ember
