// Non-max suppression: known survivors, the strict IoU rule, classes and images kept apart, the tie
// rule (input order), the score threshold and the per-image cap.
#include <gtest/gtest.h>

#include <cmath>

#include "metrics/nms.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_metrics_nms {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

Detection det(Box box, double score, int64_t class_id = 0, int64_t image_id = 0) {
  return Detection{image_id, class_id, box, score};
}

TEST(MetricsNms, KeepsTheBestOfOverlappingBoxes) {
  std::vector<Detection> d = {det({1, 0, 11, 10}, 0.8),     // IoU 90/110 = 0.82 with the next: suppressed
                              det({0, 0, 10, 10}, 0.9),
                              det({20, 20, 30, 30}, 0.7)};  // apart: kept
  EXPECT_EQ(nms_indices(d), (std::vector<size_t>{1, 2}));
  std::vector<Detection> kept = nms(d);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].box, (Box{0, 0, 10, 10}));
  EXPECT_DOUBLE_EQ(kept[1].score, 0.7);
}

TEST(MetricsNms, SuppressesOnlyAboveTheThreshold) {
  std::vector<Detection> d = {det({0, 0, 10, 10}, 0.9), det({0, 0, 10, 5}, 0.8)};  // IoU exactly 0.5
  EXPECT_EQ(nms_indices(d, {.iou_threshold = 0.5}), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(nms_indices(d, {.iou_threshold = 0.49}), (std::vector<size_t>{0}));
}

TEST(MetricsNms, IsGreedyASuppressedBoxSuppressesNothing) {
  // A-B IoU 60/140 = 0.43 (B goes), B-C 0.43, A-C 20/180 = 0.11: C stays because B is gone.
  std::vector<Detection> d = {det({0, 0, 10, 10}, 0.9), det({4, 0, 14, 10}, 0.8), det({8, 0, 18, 10}, 0.7)};
  EXPECT_EQ(nms_indices(d, {.iou_threshold = 0.3}), (std::vector<size_t>{0, 2}));
}

TEST(MetricsNms, ClassesAndImagesAreSeparate) {
  std::vector<Detection> d = {det({0, 0, 10, 10}, 0.9, 0, 0), det({0, 0, 10, 10}, 0.8, 1, 0),
                              det({0, 0, 10, 10}, 0.7, 0, 1), det({0, 0, 10, 10}, 0.6, 0, 0)};
  EXPECT_EQ(nms_indices(d), (std::vector<size_t>{0, 1, 2}));
}

TEST(MetricsNms, EqualScoresKeepInputOrder) {
  std::vector<Detection> d = {det({0, 0, 10, 10}, 0.5), det({1, 1, 11, 11}, 0.5), det({50, 50, 60, 60}, 0.5)};
  EXPECT_EQ(nms_indices(d), (std::vector<size_t>{0, 2}));  // the first of the overlapping pair wins
  std::swap(d[0], d[1]);
  EXPECT_EQ(nms_indices(d), (std::vector<size_t>{0, 2}));  // now the other box is first, and wins
  EXPECT_EQ(nms(d)[0].box, (Box{1, 1, 11, 11}));
}

TEST(MetricsNms, ScoreThresholdAndPerImageCap) {
  std::vector<Detection> d;
  for (int i = 0; i < 6; ++i) d.push_back(det({i * 20.0, 0, i * 20.0 + 10, 10}, 0.1 * (i + 1), i % 2));
  d.push_back(det({0, 0, 10, 10}, 0.05, 0, 7));  // another image
  // Scores 0.1, 0.2, ..., 0.6, all apart: a threshold of 0.25 keeps boxes 2..5, best first.
  EXPECT_EQ(nms_indices(d, {.score_threshold = 0.25}), (std::vector<size_t>{5, 4, 3, 2}));
  EXPECT_EQ(nms_indices(d, {.score_threshold = 0.25, .max_detections = 2}), (std::vector<size_t>{5, 4}));
  // The cap counts per image: image 7's box is kept beside image 0's best two.
  EXPECT_EQ(nms_indices(d, {.max_detections = 2}), (std::vector<size_t>{5, 4, 6}));
  EXPECT_TRUE(nms_indices(d, {.max_detections = 0}).empty());
  EXPECT_TRUE(nms_indices({}).empty());
}

TEST(MetricsNms, BadArgumentsAreErrors) {
  std::vector<Detection> d = {det({0, 0, 1, 1}, std::nan(""))};
  EXPECT_TRUE(throws_with([&] { nms_indices(d); }, "nms: detection 0 has a NaN score"));
  EXPECT_TRUE(throws_with([] { nms_indices({}, {.iou_threshold = 1.5}); }, "iou_threshold must be in [0, 1]"));
  EXPECT_TRUE(throws_with([] { nms_indices({}, {.max_detections = -1}); }, "max_detections must be >= 0"));
}

}  // namespace test_metrics_nms
