// Precision/recall and AP: the three AP definitions on one known curve, worked out by hand, and
// VOC-style matching (strict IoU > 0.5, duplicates, difficult objects, mAP over classes).
#include <gtest/gtest.h>

#include "metrics/ap.h"
#include "metrics/coco_eval.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_metrics_ap {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// Detections in score order: TP, FP, TP, FP, FP, TP with 4 objects.
//   precision 1, 1/2, 2/3, 1/2, 2/5, 1/2      recall 1/4, 1/4, 1/2, 1/2, 1/2, 3/4
//   envelope  1, 2/3, 2/3, 1/2, 1/2, 1/2
PrCurve known_curve() { return pr_curve({true, false, true, false, false, true}, 4); }

TEST(MetricsAp, PrecisionRecallCurve) {
  PrCurve c = known_curve();
  std::vector<double> precision = {1, 0.5, 2.0 / 3, 0.5, 0.4, 0.5};
  std::vector<double> recall = {0.25, 0.25, 0.5, 0.5, 0.5, 0.75};
  ASSERT_EQ(c.precision.size(), 6u);
  for (size_t k = 0; k < 6; ++k) {
    EXPECT_DOUBLE_EQ(c.precision[k], precision[k]) << k;
    EXPECT_DOUBLE_EQ(c.recall[k], recall[k]) << k;
  }
  std::vector<double> envelope = precision_envelope(c.precision);
  std::vector<double> expected = {1, 2.0 / 3, 2.0 / 3, 0.5, 0.5, 0.5};
  for (size_t k = 0; k < 6; ++k) EXPECT_DOUBLE_EQ(envelope[k], expected[k]) << k;
}

TEST(MetricsAp, ThreeDefinitionsOnAKnownCurve) {
  PrCurve c = known_curve();
  // All points: steps in recall 0 -> 1/4 -> 1/2 -> 3/4 with envelope 1, 2/3, 1/2.
  EXPECT_NEAR(ap_all_point(c), 0.25 * 1 + 0.25 * (2.0 / 3) + 0.25 * 0.5, 1e-15);  // 13/24 = 0.5417
  // 11 points: r = 0, .1, .2 -> 1;  .3, .4, .5 -> 2/3;  .6, .7 -> 1/2;  .8, .9, 1 -> 0 (never reached).
  EXPECT_NEAR(ap_voc07_11point(c), (3 * 1 + 3 * (2.0 / 3) + 2 * 0.5) / 11, 1e-15);  // 6/11 = 0.5455
  // 101 points: r = 0..0.25 (26 points) -> 1;  0.26..0.50 (25) -> 2/3;  0.51..0.75 (25) -> 1/2;  the last 25 -> 0.
  EXPECT_NEAR(ap_coco_101point(c), (26 * 1 + 25 * (2.0 / 3) + 25 * 0.5) / 101, 1e-15);  // 0.5462
}

TEST(MetricsAp, PerfectAndEmptyCurves) {
  PrCurve perfect = pr_curve({true, true, true}, 3);
  EXPECT_DOUBLE_EQ(ap_all_point(perfect), 1.0);
  EXPECT_DOUBLE_EQ(ap_voc07_11point(perfect), 1.0);
  EXPECT_DOUBLE_EQ(ap_coco_101point(perfect), 1.0);
  PrCurve none = pr_curve({}, 3);  // no detections: nothing found, AP 0
  EXPECT_DOUBLE_EQ(ap_all_point(none), 0.0);
  EXPECT_DOUBLE_EQ(ap_voc07_11point(none), 0.0);
  EXPECT_DOUBLE_EQ(ap_coco_101point(none), 0.0);
  EXPECT_TRUE(throws_with([] { pr_curve({true}, 0); }, "pr_curve: num_ground_truth must be > 0"));
  PrCurve bad{{1, 1}, {0.5, 0.25}};
  EXPECT_TRUE(throws_with([&] { ap_all_point(bad); }, "recall must not decrease"));
}

TEST(MetricsAp, VocNeedsIouAboveHalfCocoAtLeastHalf) {
  // One object and one detection with IoU exactly 0.5 (50 / 100).
  std::vector<GroundTruthBox> gt = {{1, 0, Box{0, 0, 10, 10}}};
  std::vector<Detection> dt = {{1, 0, Box{0, 0, 10, 5}, 0.9}};
  EXPECT_DOUBLE_EQ(evaluate_voc(gt, dt, 0.5).map, 0.0);    // VOC: IoU > 0.5 needed, a miss
  EXPECT_DOUBLE_EQ(evaluate_voc(gt, dt, 0.49).map, 1.0);
  CocoEvalResult coco = coco_evaluate({1}, {0}, {{1, 1, 0, {0, 0, 10, 10}, 100, false}},
                                      {{1, 0, {0, 0, 10, 5}, 0.9}});
  EXPECT_DOUBLE_EQ(coco.stats[kAP50], 1.0);                // COCO: IoU >= 0.5, a hit
}

TEST(MetricsAp, VocDuplicateOfATakenBoxIsAFalsePositive) {
  // Objects A [0,10] and B [3,13]; detection 2 overlaps A by 0.82 (taken) and B by 0.67.
  std::vector<GroundTruthBox> gt = {{1, 0, Box{0, 0, 10, 10}}, {1, 0, Box{3, 0, 13, 10}}};
  std::vector<Detection> dt = {{1, 0, Box{0, 0, 10, 10}, 0.9}, {1, 0, Box{1, 0, 11, 10}, 0.8}};
  VocResult voc = evaluate_voc(gt, dt);
  ASSERT_EQ(voc.per_class.size(), 1u);
  // VOC compares with the best-overlapping object only: it is taken, so TP, FP: AP 1/2.
  EXPECT_DOUBLE_EQ(voc.per_class[0].ap, 0.5);
  EXPECT_EQ(voc.per_class[0].num_ground_truth, 2);
  // COCO takes the best object not yet taken (B): TP, TP.
  CocoEvalResult coco = coco_evaluate({1}, {0}, {{1, 1, 0, {0, 0, 10, 10}, 100, false}, {2, 1, 0, {3, 0, 10, 10}, 100, false}},
                                      {{1, 0, {0, 0, 10, 10}, 0.9}, {1, 0, {1, 0, 10, 10}, 0.8}});
  EXPECT_DOUBLE_EQ(coco.stats[kAP50], 1.0);
}

TEST(MetricsAp, VocDifficultObjectsAndMeanOverClasses) {
  std::vector<GroundTruthBox> gt = {{1, 0, Box{0, 0, 10, 10}},
                                    {1, 0, Box{50, 50, 60, 60}, true},  // difficult
                                    {1, 1, Box{0, 0, 10, 10}},
                                    {2, 1, Box{0, 0, 10, 10}}};
  std::vector<Detection> dt = {{1, 0, Box{50, 50, 60, 60}, 0.95},  // on the difficult one: not counted
                               {1, 0, Box{0, 0, 10, 10}, 0.9},
                               {1, 1, Box{0, 0, 10, 10}, 0.8},
                               {2, 1, Box{30, 30, 40, 40}, 0.85},  // a miss, scored above the hit
                               {1, 2, Box{0, 0, 10, 10}, 0.7}};    // class 2 has no objects
  VocResult voc = evaluate_voc(gt, dt);
  ASSERT_EQ(voc.per_class.size(), 3u);
  EXPECT_EQ(voc.per_class[0].num_ground_truth, 1);
  EXPECT_DOUBLE_EQ(voc.per_class[0].ap, 1.0);
  // class 1: FP (0.85), TP (0.8) of 2 objects: precision 0, 1/2 at recall 0, 1/2 -> AP 1/4.
  EXPECT_DOUBLE_EQ(voc.per_class[1].ap, 0.25);
  EXPECT_DOUBLE_EQ(voc.per_class[2].ap, -1.0);
  EXPECT_DOUBLE_EQ(voc.map, (1.0 + 0.25) / 2);  // mAP@0.5 over the classes with objects
  EXPECT_DOUBLE_EQ(evaluate_voc(gt, dt, 0.5, ApMethod::Voc07ElevenPoint).per_class[1].ap,
                   6 * 0.5 / 11);  // r = 0 .. 0.5 -> 1/2, the rest 0
  EXPECT_DOUBLE_EQ(evaluate_voc({}, {}).map, -1.0);
}

}  // namespace test_metrics_ap
