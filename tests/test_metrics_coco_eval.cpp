// COCO box evaluation against the real pycocotools: every case in tests/data/coco/ (made by
// scripts/make_coco_eval_cases.py, which runs pycocotools' COCOeval and stores its numbers in
// expected.json) must give the same 12 summarize() numbers and per-category APs to 1e-12. The
// differences that remain (a few 1e-15) come from the order of additions in the final means (numpy
// sums pairwise); every comparison, threshold and recall point is decided as in pycocotools.
// Then a case worked out by hand, and the errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "datasets/coco.h"
#include "metrics/coco_eval.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_metrics_coco_eval {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

const std::string kCaseDir = std::string(EMBER_SOURCE_DIR) + "/tests/data/coco/";

CocoEvalResult evaluate_files(const std::string& gt_path, const std::string& dt_path) {
  CocoInstances gt = read_coco_instances(gt_path);
  std::vector<CocoResult> dt = read_coco_results(dt_path);
  std::vector<int64_t> images, categories;
  for (const auto& i : gt.images) images.push_back(i.id);
  for (const auto& c : gt.categories) categories.push_back(c.id);
  std::vector<CocoGroundTruth> gts;
  for (const auto& a : gt.annotations) gts.push_back({a.id, a.image_id, a.category_id, a.bbox, a.area, a.iscrowd});
  std::vector<CocoDetection> dets;
  for (const auto& r : dt) dets.push_back({r.image_id, r.category_id, r.bbox, r.score});
  return coco_evaluate(images, categories, gts, dets);
}

nlohmann::json expected_cases() { return nlohmann::json::parse(read_file(kCaseDir + "expected.json"))["cases"]; }

TEST(MetricsCocoEval, MatchesPycocotoolsOnEveryCase) {
  nlohmann::json cases = expected_cases();
  ASSERT_GE(cases.size(), 10u);
  for (const auto& [name, expected] : cases.items()) {
    SCOPED_TRACE("case " + name);
    CocoEvalResult r = evaluate_files(kCaseDir + name + "_gt.json", kCaseDir + name + "_dt.json");
    ASSERT_EQ(expected["stats"].size(), static_cast<size_t>(kNumCocoStats));
    for (int i = 0; i < kNumCocoStats; ++i)
      EXPECT_NEAR(r.stats[i], expected["stats"][i].get<double>(), 1e-12) << kCocoStatNames[i];
    ASSERT_EQ(r.category_ids.size(), expected["category_ap"].size());
    for (size_t k = 0; k < r.category_ids.size(); ++k)
      EXPECT_NEAR(r.category_ap[k], expected["category_ap"][std::to_string(r.category_ids[k])].get<double>(), 1e-12)
          << "category " << r.category_ids[k];
    if (expected.contains("summary")) {
      EXPECT_EQ(coco_summary_text(r.stats), expected["summary"].get<std::string>());
    }
  }
}

TEST(MetricsCocoEval, CasesCoverWhatTheyClaim) {
  // Guards against a regenerated case losing the situation it is there for.
  EXPECT_EQ(read_coco_results(kCaseDir + "no_detections_dt.json").size(), 0u);
  EXPECT_GT(read_coco_results(kCaseDir + "max_dets_dt.json").size(), 100u);
  CocoEvalResult empty = evaluate_files(kCaseDir + "empty_categories_gt.json", kCaseDir + "empty_categories_dt.json");
  EXPECT_EQ(empty.category_ids, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(empty.category_ap[1], -1.0);  // detections but no gt
  EXPECT_DOUBLE_EQ(empty.category_ap[2], 0.0);   // gt but no detections
  EXPECT_DOUBLE_EQ(empty.category_ap[3], -1.0);  // nothing at all
  EXPECT_EQ(empty.skipped_detections, 1);        // category 9 is not listed
}

TEST(MetricsCocoEval, HandWorkedCase) {
  // Objects 1 and 2 are 100 x 100 (large), object 3 is 50 x 50 (medium). Detections by score:
  //   0.9 = object 1 (IoU 1), 0.8 hits nothing, 0.7 lies inside object 2 (IoU 6000/10000 = 0.6),
  //   0.6 = object 3 (IoU 1).
  // t in {0.50, 0.55, 0.60}: TP FP TP TP, precision 1 1/2 2/3 3/4 -> envelope 1 3/4 3/4 3/4 at recall
  //   1/3 1/3 2/3 1: recall points 0..0.33 (34 of them) read 1, the other 67 read 3/4: AP_t = 84.25/101.
  // the other 7 thresholds: TP FP FP TP: envelope 1 1/2 1/2 1/2 at recall 1/3 1/3 1/3 2/3:
  //   34 points read 1, 0.34..0.66 (33) read 1/2, the rest 0: AP_t = 50.5/101.
  std::vector<CocoGroundTruth> gt = {{1, 1, 1, {0, 0, 100, 100}, 10000, false},
                                     {2, 1, 1, {200, 0, 100, 100}, 10000, false},
                                     {3, 1, 1, {0, 200, 50, 50}, 2500, false}};
  std::vector<CocoDetection> dt = {{1, 1, {0, 0, 100, 100}, 0.9}, {1, 1, {400, 400, 20, 20}, 0.8},
                                   {1, 1, {200, 0, 100, 60}, 0.7}, {1, 1, {0, 200, 50, 50}, 0.6}};
  CocoEvalResult r = coco_evaluate({1}, {1}, gt, dt);
  const double tol = 1e-12;
  EXPECT_NEAR(r.stats[kAP], (3 * 84.25 + 7 * 50.5) / 1010, tol);
  EXPECT_NEAR(r.stats[kAP50], 84.25 / 101, tol);
  EXPECT_NEAR(r.stats[kAP75], 50.5 / 101, tol);
  EXPECT_DOUBLE_EQ(r.stats[kAPSmall], -1.0);  // no small object: nothing to average
  // medium: only object 3 counts; detections on objects 1 and 2 are ignored, and so is the 0.8 miss
  // (20 x 20 is not medium). The 0.7 box (100 x 60 = 6000, medium) is an FP above t = 0.60:
  // AP_t = 1 for three thresholds, 1/2 (FP then TP) for seven.
  EXPECT_NEAR(r.stats[kAPMedium], (3 * 1.0 + 7 * 0.5) / 10, tol);
  // large: objects 1 and 2; above t = 0.60 only object 1 is found, by the first detection, and the
  // rest are ignored: precision 1 up to recall 1/2 (51 points), AP_t = 51/101.
  EXPECT_NEAR(r.stats[kAPLarge], (3 * 1.0 + 7 * 51.0 / 101) / 10, tol);
  EXPECT_NEAR(r.stats[kAR1], 1.0 / 3, tol);            // the first detection finds 1 of 3
  EXPECT_NEAR(r.stats[kAR100], (3 * 1.0 + 7 * 2.0 / 3) / 10, tol);
  EXPECT_NEAR(r.stats[kARMedium], 1.0, tol);           // object 3 is found at every threshold
  EXPECT_NEAR(r.stats[kARLarge], (3 * 1.0 + 7 * 0.5) / 10, tol);
}

TEST(MetricsCocoEval, MaxDetsCutsEachImage) {
  // Two objects in one image; the hit for object 2 is the 2nd detection: AR@1 = 1/2, AR@10 = 1.
  std::vector<CocoGroundTruth> gt = {{1, 1, 1, {0, 0, 40, 40}, 1600, false}, {2, 1, 1, {100, 0, 40, 40}, 1600, false}};
  std::vector<CocoDetection> dt = {{1, 1, {0, 0, 40, 40}, 0.9}, {1, 1, {100, 0, 40, 40}, 0.8}};
  CocoEvalResult r = coco_evaluate({1}, {1}, gt, dt);
  EXPECT_DOUBLE_EQ(r.stats[kAR1], 0.5);
  EXPECT_DOUBLE_EQ(r.stats[kAR10], 1.0);
  // No detections at all: AP 0 and AR 0 where there are objects, -1 where there are none.
  CocoEvalResult none = coco_evaluate({1}, {1}, gt, {});
  EXPECT_DOUBLE_EQ(none.stats[kAP], 0.0);
  EXPECT_DOUBLE_EQ(none.stats[kAR100], 0.0);
  EXPECT_DOUBLE_EQ(none.stats[kAPSmall], -1.0);
  EXPECT_DOUBLE_EQ(none.stats[kAPMedium], 0.0);
}

TEST(MetricsCocoEval, ErrorsNameTheEntry) {
  std::vector<CocoGroundTruth> gt = {{1, 1, 1, {0, 0, 4, 4}, 16, false}};
  EXPECT_TRUE(throws_with([&] { coco_evaluate({1}, {1}, gt, {{5, 1, {0, 0, 4, 4}, 0.5}}); },
                          "coco_evaluate: detection 0 is for image_id 5, which is not among the ground truth's images"));
  EXPECT_TRUE(throws_with([] { coco_evaluate({1}, {1}, {{0, 1, 1, {0, 0, 4, 4}, 16, false}}, {}); },
                          "ground truth 0 has id 0"));
  EXPECT_TRUE(throws_with([&] { coco_evaluate({1}, {1}, {gt[0], gt[0]}, {}); }, "ground truth 1 repeats the id 1"));
}

TEST(MetricsCocoEval, SummaryLayoutAndJson) {
  std::array<double, kNumCocoStats> stats{};
  stats.fill(-1);
  stats[kAP] = 0.5125;
  std::string text = coco_summary_text(stats);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.512");  // %.3f of 0.5125
  EXPECT_NE(text.find(" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = -1.000\n"),
            std::string::npos);
  nlohmann::json j = nlohmann::json::parse(coco_stats_json(stats));
  EXPECT_DOUBLE_EQ(j["AP"].get<double>(), 0.5125);
  EXPECT_DOUBLE_EQ(j["ARl"].get<double>(), -1.0);
}

TEST(MetricsCocoEval, ProgramPrintsTheSummary) {
  std::string program = std::string(EMBER_BIN_DIR) + "/coco_eval";
  if (!std::filesystem::exists(program)) GTEST_SKIP() << program << " is not built (cmake --build ... --target coco_eval)";
  std::string out_dir = std::string(EMBER_TEST_TMP) + "/coco_eval";
  make_dirs(out_dir);
  std::string json_path = out_dir + "/stats.json";
  std::string command = program + " --gt=" + kCaseDir + "hand_gt.json --dt=" + kCaseDir + "hand_dt.json --json=" +
                        json_path + " 2>/dev/null";
  std::FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe)) output += buffer;
  ASSERT_EQ(pclose(pipe), 0);
  nlohmann::json cases = expected_cases();
  EXPECT_EQ(output, cases["hand"]["summary"].get<std::string>());
  nlohmann::json written = nlohmann::json::parse(read_file(json_path));
  for (int i = 0; i < kNumCocoStats; ++i)
    EXPECT_NEAR(written[kCocoStatNames[i]].get<double>(), cases["hand"]["stats"][i].get<double>(), 1e-12);
}

}  // namespace test_metrics_coco_eval
