#pragma once
// COCO box evaluation: the 12 numbers of pycocotools' COCOeval(iouType='bbox').summarize(), with
// the same rules, so that a score printed here is the score the COCO tools would print.
//
// For each category c and image i (separately), for each IoU threshold t in 0.50, 0.55, ..., 0.95
// and each area range:
//   - ground truths (gts) of the image and category; a gt is *ignored* when it is a crowd box
//     (iscrowd = 1) or its `area` field is outside the range; ignored gts are put last;
//   - detections sorted by score, highest first (stable: equal scores keep their file order), at
//     most 100 of them;
//   - each detection in turn takes the gt with the highest IoU >= t that is not yet taken (a crowd
//     gt can be taken again and again), preferring any non-ignored gt to an ignored one; equal IoUs
//     go to the later gt in that order;
//   - a detection matched to an ignored gt is ignored; an unmatched detection whose area w * h is
//     outside the range is ignored; the rest are true (matched) or false (unmatched) positives.
//   IoU with a crowd gt divides by the detection's area instead of the union: a detection that lies
//   inside a crowd region has IoU 1 with it, however large the region.
// Then per category, area range and maxDets (1, 10, 100: the first maxDets detections of each image):
//   - all images' detections sorted by score together (stable, images in id order), TP and FP counted
//     cumulatively: recall = TP / (number of non-ignored gts), precision = TP / (TP + FP + eps);
//   - precision made monotone from the right and read at recall 0, 0.01, ..., 1 (the first detection
//     with recall >= r; 0 past the end): 101 values per threshold; recall = the final recall;
//   - a category with no non-ignored gt in the range has no value (-1) and is left out of the means.
// AP = mean of the 10 x 101 x categories precision values, AR = mean of the 10 x categories recalls
// (each over the values that exist; -1 when none does).
//
// Area ranges use the gt's `area` field (the segmentation's area in COCO, not the box's):
//   all [0, 1e10], small [0, 32^2], medium [32^2, 96^2], large [96^2, 1e10]   (ends included).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

// A ground-truth box as COCO's instances file has it. bbox is [x, y, w, h].
struct CocoGroundTruth {
  int64_t id = 0;  // unique and != 0 (COCOeval stores matches by id and takes 0 for "unmatched")
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};
  double area = 0;  // decides the area range (small / medium / large)
  bool iscrowd = false;
};

// A detection as COCO's results file has it. bbox is [x, y, w, h].
struct CocoDetection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};
  double score = 0;
};

// The order of summarize()'s 12 numbers.
enum CocoStat { kAP, kAP50, kAP75, kAPSmall, kAPMedium, kAPLarge, kAR1, kAR10, kAR100, kARSmall, kARMedium, kARLarge };
inline constexpr int kNumCocoStats = 12;
// "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"
extern const std::array<const char*, kNumCocoStats> kCocoStatNames;

struct CocoEvalResult {
  std::array<double, kNumCocoStats> stats{};  // summarize()'s numbers (-1: nothing to average)
  std::vector<int64_t> category_ids;          // the evaluated categories, ascending
  std::vector<double> category_ap;            // per category: AP@[.5:.95], all areas, 100 dets (-1: no gt)
  int64_t skipped_detections = 0;   // detections whose category is not in the category list (COCOeval drops them)
  int64_t skipped_ground_truth = 0; // gts whose image or category is not listed (COCOeval drops them)
};

// Evaluates `detections` against `ground_truth` over the listed images and categories (the gt
// file's "images" and "categories"; duplicates are fine). A detection for an image that is not
// listed is an error (pycocotools refuses such a results file too), as is a gt id that is 0 or
// repeated (pycocotools would miscount those silently). No detections at all is fine: AP 0.
CocoEvalResult coco_evaluate(const std::vector<int64_t>& image_ids, const std::vector<int64_t>& category_ids,
                             const std::vector<CocoGroundTruth>& ground_truth,
                             const std::vector<CocoDetection>& detections);

// The 12 lines COCOeval.summarize() prints, e.g.
//   " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.512\n"
std::string coco_summary_text(const std::array<double, kNumCocoStats>& stats);

// The same numbers as a JSON object {"AP": ..., "AP50": ..., ...}, each with all its digits.
std::string coco_stats_json(const std::array<double, kNumCocoStats>& stats);

}  // namespace ember
