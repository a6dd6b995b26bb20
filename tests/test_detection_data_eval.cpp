// lessons/common/detection.h: a DetectionSet scored with the COCO rules (ids, known APs), COCO
// results files, and boxes drawn in their colours.
#include <gtest/gtest.h>

#include <cmath>

#include "core/fs.h"
#include "datasets/coco.h"
#include "datasets/image_file.h"
#include "datasets/mnist.h"
#include "lessons/common/detection.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_detection_data_eval {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

LabelledBox lbox(int64_t c, float x1, float y1, float x2, float y2) { return {c, x1, y1, x2, y2}; }

// Two 50 x 40 images, three classes with boxes, a fourth class without any.
DetectionSet hand_made() {
  DetectionSet set;
  set.class_names = {"zero", "one", "two", "three"};
  set.images.push_back({Tensor::zeros({1, 40, 50}), {lbox(0, 5, 5, 20, 25), lbox(1, 30, 10, 45, 30)}, "a"});
  set.images.push_back({Tensor::zeros({1, 40, 50}), {lbox(0, 0, 0, 10, 10), lbox(2, 20, 20, 40, 38)}, "b"});
  return set;
}

// The set's own boxes as detections, score 0.9.
std::vector<std::vector<Detection>> own_boxes(const DetectionSet& set) {
  std::vector<std::vector<Detection>> found(set.images.size());
  for (size_t i = 0; i < set.images.size(); ++i)
    for (const LabelledBox& b : set.images[i].boxes) found[i].push_back({0, b.class_id, Box{b.x1, b.y1, b.x2, b.y2}, 0.9});
  return found;
}

bool same(Color a, Color b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

TEST(DetectionDataEval, GroundTruthIds) {
  const CocoGroundTruthList gt = to_coco_ground_truth(hand_made());
  EXPECT_EQ(gt.image_ids, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(gt.category_ids, (std::vector<int64_t>{1, 2, 3, 4}));
  ASSERT_EQ(gt.ground_truth.size(), 4u);
  const CocoGroundTruth& g = gt.ground_truth[3];
  EXPECT_EQ(g.id, 4);
  EXPECT_EQ(g.image_id, 2);
  EXPECT_EQ(g.category_id, 3);
  EXPECT_EQ(g.bbox, (std::array<double, 4>{20, 20, 20, 18}));
  EXPECT_EQ(g.area, 360);
  EXPECT_FALSE(g.iscrowd);
}

TEST(DetectionDataEval, OwnBoxesScoreOne) {
  const DetectionSet set = hand_made();
  const DetectionScores s = evaluate_detections(set, own_boxes(set));
  // (1 to rounding: a mean of 1010 ones)
  EXPECT_NEAR(s.map, 1.0, 1e-12);
  EXPECT_NEAR(s.map50, 1.0, 1e-12);
  EXPECT_NEAR(s.map75, 1.0, 1e-12);
  expect_all_near(s.ap, {1, 1, 1, -1}, 1e-12, "ap");  // "three" has no box: -1, left out of the mean
  expect_all_near(s.ap50, {1, 1, 1, -1}, 1e-12, "ap50");
  EXPECT_NE(detection_scores_text(s, set.class_names).find("mAP@0.5 1.000  mAP@[.5:.95] 1.000  mAP@0.75 1.000"),
            std::string::npos)
      << detection_scores_text(s, set.class_names);
}

TEST(DetectionDataEval, OneBoxMissing) {
  const DetectionSet set = hand_made();
  // Class "zero" has two boxes; finding only the one in image "a" is recall 1/2 at precision 1:
  // COCO's 101 recall points 0, 0.01, ..., 0.50 have precision 1, the other 50 have 0.
  auto found = own_boxes(set);
  found[1].erase(found[1].begin());
  DetectionScores s = evaluate_detections(set, found);
  EXPECT_NEAR(s.ap[0], 51.0 / 101.0, 1e-12);
  EXPECT_NEAR(s.ap50[0], 51.0 / 101.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.ap[1], 1.0);
  EXPECT_NEAR(s.map50, (51.0 / 101.0 + 2.0) / 3.0, 1e-12);
  EXPECT_NEAR(s.map, (51.0 / 101.0 + 2.0) / 3.0, 1e-12);

  // A box shifted so that IoU = 2/3 counts at 0.5 but not at 0.75: class "two" [20,20,40,38] moved
  // right by 4 overlaps 16 x 18 of a 20 x 18 box: IoU = 288 / (360 + 360 - 288) = 0.667.
  found = own_boxes(set);
  found[1][1].box.x1 += 4, found[1][1].box.x2 += 4;
  s = evaluate_detections(set, found);
  EXPECT_DOUBLE_EQ(s.ap50[2], 1.0);
  EXPECT_NEAR(s.ap[2], 0.4, 1e-12);  // found at the thresholds 0.50, 0.55, 0.60, 0.65 of ten: 4/10
  EXPECT_NEAR(s.map75, 2.0 / 3.0, 1e-12);
  EXPECT_ERROR(evaluate_detections(set, {{}}), "1 lists of detections for 2 images");
}

TEST(DetectionDataEval, WritesCocoResults) {
  const DetectionSet set = hand_made();
  auto found = own_boxes(set);
  found[1][1].score = 0.25;
  const std::string path = scratch_dir("detection_data") + "/detections.json";
  write_coco_results(path, found);
  const std::vector<CocoResult> r = read_coco_results(path);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[3].image_id, 2);
  EXPECT_EQ(r[3].category_id, 3);
  EXPECT_EQ(r[3].bbox, (std::array<double, 4>{20, 20, 20, 18}));
  EXPECT_EQ(r[3].score, 0.25);
}

TEST(DetectionDataEval, DrawsBoxesInTheirColours) {
  Tensor image = Tensor::zeros({1, 10, 40});
  image.data<float>()[5 * 40 + 4] = 1.0f;  // one white pixel inside the true box
  const std::vector<LabelledBox> truth = {lbox(0, 2, 2, 8, 8)};
  const std::vector<Detection> predicted = {{0, 1, Box{10, 1, 18, 9}, 0.93}};
  const Canvas c = draw_detections(image, predicted, truth, {"zero", "seven"}, 3);
  ASSERT_EQ(c.width(), 120);
  ASSERT_EQ(c.height(), 30);
  // true box [2, 8) x [2, 8) -> canvas columns 6..23: its edges are 2 pixels wide, inside
  EXPECT_TRUE(same(c.pixel(6, 15), kTrueBoxColor));
  EXPECT_TRUE(same(c.pixel(7, 15), kTrueBoxColor));
  EXPECT_TRUE(same(c.pixel(23, 15), kTrueBoxColor));
  EXPECT_TRUE(same(c.pixel(15, 23), kTrueBoxColor));
  EXPECT_TRUE(same(c.pixel(5, 15), Color{0, 0, 0}));      // just outside
  EXPECT_TRUE(same(c.pixel(13, 16), Color{255, 255, 255}));  // the image, enlarged 3 times
  // predicted box [10, 18) x [1, 9) -> columns 30..53, rows 3..26 (bottom edge below the caption)
  EXPECT_TRUE(same(c.pixel(53, 20), kPredictedBoxColor));
  EXPECT_TRUE(same(c.pixel(40, 26), kPredictedBoxColor));
  EXPECT_TRUE(same(c.pixel(40, 25), kPredictedBoxColor));
  // The caption "seven 0.93" sits on a strip of the box colour (inside the box: no room above),
  // black text on it.
  int strip = 0, text = 0;
  for (int y = 5; y < 5 + 11; ++y)
    for (int x = 30; x < 30 + 60 && x < c.width(); ++x) {
      strip += same(c.pixel(x, y), kPredictedBoxColor);
      text += same(c.pixel(x, y), Color{0, 0, 0});
    }
  EXPECT_GT(strip, 100);
  EXPECT_GT(text, 20);
  EXPECT_ERROR(draw_detections(Tensor::zeros({2, 4, 4}), {}, {}, {}, 3), "C = 1 or 3");
}

TEST(DetectionDataEval, SavesAGridOfScenes) {
  DetectionSet set;
  SceneSources src{Tensor::zeros({3, 1, 12, 12}), Tensor::from_vector(std::vector<int64_t>{0, 1, 2}, {3})};
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t y = 2; y < 10; ++y) src.images.data<float>()[i * 144 + y * 12 + 3 + i] = 1.0f;
  SceneOptions opt;
  opt.objects_max = 3;
  Generator gen(0);
  set = generate_digit_scenes(src.images, src.labels, {"0", "1", "2"}, 6, opt, gen);
  auto found = own_boxes(set);
  const std::string path = scratch_dir("detection_data") + "/grid.png";
  save_detection_grid(path, set, found, 3, 2);
  const Image png = load_image(path);
  EXPECT_GT(png.width, 3 * 96 * 2);
  EXPECT_GT(png.height, 2 * 96 * 2);
  save_detection_grid(path, set, {}, 3, 2, 2);  // true boxes only, the first two scenes
  EXPECT_EQ(load_image(path).width, 6 + 2 * (96 * 2 + 6));
}

// A picture to look at: Fashion-MNIST scenes with their true boxes and made-up detections
// (shifted true boxes), in the build's scratch folder. Skipped without the Debian package.
TEST(DetectionDataEval, RealScenesPicture) {
  if (!file_exists(std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed in " << kFashionMnistDir;
  const MnistData items = load_fashion_mnist(Split::Test);
  SceneOptions opt;
  opt.canvas_min = 96, opt.canvas_max = 128, opt.objects_max = 3, opt.scale_min = 0.8, opt.scale_max = 2.0;
  opt.noise = 0.05, opt.clutter = 2;
  Generator gen(1);
  const DetectionSet set =
      generate_digit_scenes(items.images.slice(0, 0, 1000), items.labels.slice(0, 0, 1000), items.class_names, 8, opt, gen);
  auto found = own_boxes(set);
  for (auto& list : found)
    for (Detection& d : list) d.box.x1 += 2, d.box.x2 += 2, d.score = 0.5 + 0.06 * double(d.class_id);
  const std::string path = scratch_dir("detection_data") + "/fashion_scenes.png";
  save_detection_grid(path, set, found, 4, 2, 8);
  EXPECT_TRUE(file_exists(path));
}

}  // namespace test_detection_data_eval
