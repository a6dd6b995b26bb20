// COCO JSON files (datasets/coco.h): reading what the format allows, writing and reading back
// exactly, and errors that name the file, the entry and the field.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/fs.h"
#include "datasets/coco.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_detection_files {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = std::string(EMBER_TEST_TMP) + "/detection/" + info->test_suite_name() + "." + info->name();
  std::filesystem::remove_all(dir);
  make_dirs(dir);
  return dir;
}

const char* kInstances = R"({
  "info": {"description": "ignored"},
  "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}, {"id": 2}],
  "annotations": [
    {"id": 10, "image_id": 1, "category_id": 3, "bbox": [1.5, 2, 10, 20.25], "area": 150.5, "iscrowd": 0,
     "segmentation": [[0, 0, 1, 1]]},
    {"id": 11, "image_id": 2, "category_id": 3, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": true}
  ],
  "categories": [{"id": 3, "name": "three", "supercategory": "digit"}]
})";

// The message of the error parsing `text` as an instances file called "gt.json" throws.
std::string instances_error(const std::string& text) {
  return error_of([&] { parse_coco_instances(text, "gt.json"); });
}

std::string results_error(const std::string& text) {
  return error_of([&] { parse_coco_results(text, "dt.json"); });
}

TEST(DetectionFiles, ReadsInstances) {
  CocoInstances c = parse_coco_instances(kInstances, "gt.json");
  ASSERT_EQ(c.images.size(), 2u);
  EXPECT_EQ(c.images[0].file_name, "a.png");
  EXPECT_EQ(c.images[0].width, 64);
  EXPECT_EQ(c.images[1].id, 2);
  EXPECT_EQ(c.images[1].file_name, "");  // optional fields
  ASSERT_EQ(c.annotations.size(), 2u);
  const CocoAnnotation& a = c.annotations[0];
  EXPECT_EQ(a.id, 10);
  EXPECT_EQ(a.image_id, 1);
  EXPECT_EQ(a.category_id, 3);
  EXPECT_EQ(a.bbox, (std::array<double, 4>{1.5, 2, 10, 20.25}));
  EXPECT_DOUBLE_EQ(a.area, 150.5);
  EXPECT_FALSE(a.iscrowd);
  EXPECT_TRUE(c.annotations[1].iscrowd);
  ASSERT_EQ(c.categories.size(), 1u);
  EXPECT_EQ(c.categories[0].name, "three");
  EXPECT_EQ(c.categories[0].supercategory, "digit");
}

TEST(DetectionFiles, ReadsResults) {
  auto r = parse_coco_results(R"([{"image_id": 4, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.25},
                                  {"image_id": 5, "category_id": 2, "bbox": [0.5, 0, 1e3, 4], "score": 1}])",
                              "dt.json");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].image_id, 4);
  EXPECT_DOUBLE_EQ(r[0].score, 0.25);
  EXPECT_EQ(r[1].bbox, (std::array<double, 4>{0.5, 0, 1000, 4}));
  EXPECT_DOUBLE_EQ(r[1].score, 1.0);
  EXPECT_TRUE(parse_coco_results("[]", "dt.json").empty());
}

TEST(DetectionFiles, WriteThenReadIsExact) {
  std::string dir = scratch_dir();
  CocoInstances c;
  c.images = {{7, "img 7.png", 640, 480}};
  c.categories = {{1, "cat \"one\"", ""}, {2, "two", "numbers"}};
  c.annotations = {{1, 7, 2, {0.1, 0.2, 0.1 + 0.2, 1.0 / 3}, (0.1 + 0.2) * (1.0 / 3), true}};
  write_coco_instances(dir + "/gt.json", c);
  CocoInstances back = read_coco_instances(dir + "/gt.json");
  ASSERT_EQ(back.annotations.size(), 1u);
  EXPECT_EQ(back.annotations[0].bbox, c.annotations[0].bbox);  // every bit of 0.1 + 0.2 and 1/3
  EXPECT_EQ(back.annotations[0].area, c.annotations[0].area);
  EXPECT_TRUE(back.annotations[0].iscrowd);
  EXPECT_EQ(back.images[0].file_name, "img 7.png");
  EXPECT_EQ(back.categories[0].name, "cat \"one\"");
  EXPECT_EQ(back.categories[1].supercategory, "numbers");

  std::vector<CocoResult> results = {{7, 2, {1, 2, 3, 4}, 0.1 + 0.7}, {7, 1, {1e-7, 2, 3e5, 4}, 1.0 / 7}};
  write_coco_results(dir + "/dt.json", results);
  std::vector<CocoResult> rback = read_coco_results(dir + "/dt.json");
  ASSERT_EQ(rback.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(rback[i].image_id, results[i].image_id);
    EXPECT_EQ(rback[i].category_id, results[i].category_id);
    EXPECT_EQ(rback[i].bbox, results[i].bbox);
    EXPECT_EQ(rback[i].score, results[i].score);
  }
  EXPECT_TRUE(throws_with([] { coco_results_json({{1, 1, {0, 0, 1, 1}, std::nan("")}}); }, "cannot store"));
}

TEST(DetectionFiles, ReadsEveryCommittedCase) {
  std::string dir = std::string(EMBER_SOURCE_DIR) + "/tests/data/coco/";
  CocoInstances crowd = read_coco_instances(dir + "crowd_gt.json");
  EXPECT_EQ(crowd.annotations.size(), 5u);
  EXPECT_TRUE(crowd.annotations[0].iscrowd);
  EXPECT_DOUBLE_EQ(crowd.annotations[0].area, 30000);
  EXPECT_EQ(read_coco_results(dir + "hand_dt.json").size(), 4u);
}

TEST(DetectionFiles, BadJsonNamesTheFile) {
  std::string e = instances_error("{\"images\": [");
  EXPECT_NE(e.find("coco: gt.json: not valid JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("parse error"), std::string::npos) << e;
  EXPECT_NE(results_error("[1, 2,]").find("coco: dt.json: not valid JSON"), std::string::npos);
  std::string missing = error_of([] { read_coco_instances("/nonexistent/instances.json"); });
  EXPECT_NE(missing.find("/nonexistent/instances.json"), std::string::npos) << missing;
}

TEST(DetectionFiles, ErrorsNameTheEntryAndTheField) {
  auto instances_with_annotation = [](const std::string& annotation) {
    return std::string(R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [)"
                       R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}, )") +
           annotation + "]}";
  };
  EXPECT_EQ(instances_error(instances_with_annotation(
                R"({"id": 2, "image_id": 1, "category_id": 1, "area": 1, "iscrowd": 0})")),
            "coco: gt.json: annotations[1]: missing field 'bbox'");
  EXPECT_EQ(instances_error(instances_with_annotation(
                R"({"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "area": 1, "iscrowd": 0})")),
            "coco: gt.json: annotations[1]: field 'bbox' must be an array of 4 numbers [x, y, w, h], got [0,0,1]");
  EXPECT_EQ(instances_error(instances_with_annotation(
                R"({"id": 2, "image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0})")),
            "coco: gt.json: annotations[1]: field 'image_id' must be an integer, got \"1\"");
  EXPECT_EQ(instances_error(instances_with_annotation(
                R"({"id": 2.5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0})")),
            "coco: gt.json: annotations[1]: field 'id' must be an integer, got 2.5");
  EXPECT_EQ(instances_error(instances_with_annotation(
                R"({"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": null, "iscrowd": 0})")),
            "coco: gt.json: annotations[1]: field 'area' must be a number, got null");
  EXPECT_EQ(instances_error(instances_with_annotation(
                R"({"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 2})")),
            "coco: gt.json: annotations[1]: field 'iscrowd' must be 0 or 1, got 2");
  EXPECT_EQ(instances_error(instances_with_annotation("7")), "coco: gt.json: annotations[1] must be an object, got number");
  EXPECT_EQ(instances_error(R"({"images": [], "annotations": []})"), "coco: gt.json: missing the list 'categories'");
  EXPECT_EQ(instances_error(R"({"images": {}, "annotations": [], "categories": []})"),
            "coco: gt.json: 'images' must be a list, got object");
  EXPECT_EQ(instances_error(R"({"images": [{"id": 1, "file_name": 3}], "annotations": [], "categories": []})"),
            "coco: gt.json: images[0]: field 'file_name' must be a string, got 3");
  EXPECT_EQ(instances_error(R"({"images": [], "annotations": [], "categories": [{"name": "x"}]})"),
            "coco: gt.json: categories[0]: missing field 'id'");
  EXPECT_NE(instances_error("[]").find("an instances file is a JSON object"), std::string::npos);

  EXPECT_EQ(results_error(R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5},
                              {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}])"),
            "coco: dt.json: results[1]: missing field 'score'");
  EXPECT_EQ(results_error(R"([{"image_id": 1, "category_id": 1, "bbox": [0, "0", 1, 1], "score": 0.5}])"),
            "coco: dt.json: results[0]: field 'bbox' must be an array of 4 numbers [x, y, w, h], got [0,\"0\",1,1]");
  EXPECT_NE(results_error(R"({"image_id": 1})").find("a results file is a JSON list"), std::string::npos);
}

}  // namespace test_detection_files
