#pragma once
// COCO's JSON files for object detection: the ground truth ("instances") and a detector's results.
//
// instances.json:
//   {"images":      [{"id": 1, "file_name": "000001.png", "width": 64, "height": 64}, ...],
//    "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [x, y, w, h],
//                     "area": 420.0, "iscrowd": 0}, ...],
//    "categories":  [{"id": 3, "name": "three"}, ...]}
//
// results.json (what a detector writes for the evaluation; one entry per box):
//   [{"image_id": 1, "category_id": 3, "bbox": [x, y, w, h], "score": 0.93}, ...]
//
// bbox is the top-left corner and the size in pixels. `area` is the object's area (in COCO the area
// of its segmentation mask, which is what the small/medium/large ranges of the evaluation use; for
// a dataset without masks, w * h). iscrowd = 1 marks a region of many objects (a crowd) that the
// evaluation neither requires nor penalises.
//
// Reading checks every field it needs: bad JSON, or a field that is missing or of the wrong type,
// is an ember::Error naming the file, the list, the index of the entry and the field, e.g.
//   "coco: data/instances.json: annotations[7]: field 'bbox' must be an array of 4 numbers"
// Other fields (segmentation, licenses, info, ...) are ignored.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;  // optional in the file ("" when absent)
  int64_t width = 0;      // optional (0 when absent)
  int64_t height = 0;     // optional (0 when absent)
};

struct CocoAnnotation {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, w, h
  double area = 0;
  bool iscrowd = false;  // 0 or 1 (or false/true) in the file
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;           // optional ("" when absent)
  std::string supercategory;  // optional ("" when absent)
};

struct CocoInstances {
  std::vector<CocoImage> images;
  std::vector<CocoAnnotation> annotations;
  std::vector<CocoCategory> categories;
};

struct CocoResult {
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, w, h
  double score = 0;
};

// Read a file (`path` names it in errors).
CocoInstances read_coco_instances(const std::string& path);
std::vector<CocoResult> read_coco_results(const std::string& path);

// The same from JSON text already in memory; `source` is what errors call it (a file name).
CocoInstances parse_coco_instances(const std::string& json_text, const std::string& source);
std::vector<CocoResult> parse_coco_results(const std::string& json_text, const std::string& source);

// JSON text in the layouts above, and files of it (written atomically: core/fs.h). Numbers are
// written with enough digits to read back exactly.
std::string coco_instances_json(const CocoInstances& instances);
std::string coco_results_json(const std::vector<CocoResult>& results);
void write_coco_instances(const std::string& path, const CocoInstances& instances);
void write_coco_results(const std::string& path, const std::vector<CocoResult>& results);

}  // namespace ember
