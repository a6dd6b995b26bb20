// Inputs the fuzzers (fuzz/fuzz_coco_json, fuzz/fuzz_yolo_labels) found or would find: each must be
// an ember::Error naming the file, never another exception or a crash.
#include <gtest/gtest.h>

#include "datasets/coco.h"
#include "datasets/detection.h"
#include "tests/test_util.h"

using namespace ember;

// fuzz_coco_json: a number too large for a double made nlohmann::json throw out_of_range (406),
// which is no parse_error, so it escaped as a foreign exception.
TEST(DetectionDataFuzzRegressions, CocoNumberTooLarge) {
  EXPECT_ERROR(parse_coco_results("[1e99999999999999.1]", "dt.json"), "coco: dt.json: not valid JSON");
  EXPECT_ERROR(parse_coco_instances("{\"images\": [{\"id\": 1e400}]}", "gt.json"), "coco: gt.json: not valid JSON");
}

// A YOLO box just past the edge (within the tolerance) but wholly outside clips to nothing: it is
// refused, since it could not be written back (w = 0 is no box).
TEST(DetectionDataFuzzRegressions, YoloBoxClippedToNothing) {
  EXPECT_ERROR(parse_yolo_labels("0 0.5 -0.0004 0.2 0.0004\n", 64, 64, 1, "l.txt"), "l.txt:1: box");
  EXPECT_ERROR(parse_yolo_labels("0 0.5 -0.0004 0.2 0.0004\n", 64, 64, 1, "l.txt"), "has no area inside the image");
}
