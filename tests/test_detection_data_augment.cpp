// Detection augmentation (datasets/detection_transforms.cpp): boxes move with the pixels (known
// values for flip, zoom and shift), are clipped and dropped at the edge, and the ink of the scenes
// stays inside its moved box.
#include <gtest/gtest.h>

#include <cmath>

#include "datasets/detection.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_detection_data_augment {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

LabelledBox lbox(int64_t c, float x1, float y1, float x2, float y2) { return {c, x1, y1, x2, y2}; }

void expect_box(const LabelledBox& b, double x1, double y1, double x2, double y2) {
  expect_all_near({b.x1, b.y1, b.x2, b.y2}, {x1, y1, x2, y2}, 1e-4, "box");
}

DetectionImage blank(int64_t w, int64_t h, std::vector<LabelledBox> boxes) {
  return {Tensor::zeros({1, h, w}), std::move(boxes), "img"};
}

float at(const DetectionImage& d, int64_t x, int64_t y) { return d.image.data<float>()[y * d.image.size(2) + x]; }

// Scenes of made-up strokes with tight boxes (generate_digit_scenes, no overlap).
DetectionSet stroke_scenes(int64_t count, uint64_t seed) {
  const int64_t n = 12;
  Tensor images = Tensor::zeros({n, 1, 12, 12});
  Tensor labels = Tensor::zeros({n}, DType::Int64);
  for (int64_t i = 0; i < n; ++i) {
    float* p = images.data<float>() + i * 144;
    for (int64_t y = 1 + i % 3; y < 11; ++y) p[y * 12 + 2 + i % 5] = p[y * 12 + 3 + i % 5] = 1.0f;
    for (int64_t x = 2; x < 10 - i % 4; ++x) p[(2 + i % 6) * 12 + x] = 1.0f;
    labels.data<int64_t>()[i] = i % 3;
  }
  SceneOptions opt;
  opt.canvas_min = 48, opt.canvas_max = 64, opt.objects_max = 3, opt.max_overlap = 0, opt.scale_min = 0.8;
  Generator gen(seed);
  return generate_digit_scenes(images, labels, {"a", "b", "c"}, count, opt, gen);
}

TEST(DetectionDataAugment, KnownMoves) {
  const DetectionImage in = blank(100, 100, {lbox(3, 10, 20, 30, 40)});
  DetectionMove flip;
  flip.flip = true;
  DetectionImage out = move_detection(in, flip);
  ASSERT_EQ(out.boxes.size(), 1u);
  EXPECT_EQ(out.boxes[0].class_id, 3);
  expect_box(out.boxes[0], 70, 20, 90, 40);

  DetectionMove shift;
  shift.dx = 5, shift.dy = -3;
  expect_box(move_detection(in, shift).boxes.at(0), 15, 17, 35, 37);

  DetectionMove zoom;
  zoom.scale = 2;
  expect_box(move_detection(blank(100, 100, {lbox(0, 40, 40, 60, 60)}), zoom).boxes.at(0), 30, 30, 70, 70);
  zoom.scale = 0.5;  // zoom out on a 100 x 60 image: about (50, 30)
  expect_box(move_detection(blank(100, 60, {lbox(0, 0, 0, 100, 60)}), zoom).boxes.at(0), 25, 15, 75, 45);

  // all three: flip [70, 20, 90, 40], zoom 2 about (50, 50) -> [90, -10, 130, 30], shift -40, +10
  // -> [50, 0, 90, 40] (clipped at the top: 3/4 of it visible, kept)
  DetectionMove all{true, 2.0, -40, 10};
  expect_box(move_detection(in, all).boxes.at(0), 50, 0, 90, 40);
}

TEST(DetectionDataAugment, PixelsMoveWithTheBoxes) {
  DetectionImage in = blank(20, 10, {});
  in.image.data<float>()[4 * 20 + 6] = 0.75f;  // pixel (6, 4)
  DetectionMove m;
  m.flip = true;
  EXPECT_EQ(at(move_detection(in, m), 13, 4), 0.75f);  // 20 - 1 - 6
  m = {};
  m.dx = 3, m.dy = -2;
  const DetectionImage shifted = move_detection(in, m);
  EXPECT_EQ(at(shifted, 9, 2), 0.75f);
  EXPECT_EQ(shifted.image.sum().item(), 0.75);  // an exact copy, nothing blurred
  // zoom 2 about (10, 5): pixel (6, 4) = [6, 7) x [4, 5) lands on [2, 4) x [3, 5); bilinear puts the
  // full value at the point (3, 4), between the four pixels around it
  m = {};
  m.scale = 2;
  const DetectionImage zoomed = move_detection(in, m);
  EXPECT_NEAR(at(zoomed, 2, 3), 0.75 * 0.75 * 0.75, 1e-6);  // centre (2.5, 3.5): 1/4 pixel off in x and y
  EXPECT_EQ(at(zoomed, 0, 0), 0.0f);
}

TEST(DetectionDataAugment, ClipsAndDrops) {
  const DetectionImage in = blank(100, 100, {lbox(0, 0, 0, 20, 20), lbox(1, 50, 50, 60, 60)});
  DetectionMove m;
  m.dx = -10;  // the first box: half of it leaves the image
  DetectionImage out = move_detection(in, m, 0.5);
  ASSERT_EQ(out.boxes.size(), 2u);
  expect_box(out.boxes[0], 0, 0, 10, 20);
  out = move_detection(in, m, 0.6);
  ASSERT_EQ(out.boxes.size(), 1u);
  EXPECT_EQ(out.boxes[0].class_id, 1);
  m.dx = -200;  // everything leaves: even min_visible 0 drops boxes with nothing left
  EXPECT_TRUE(move_detection(in, m, 0.0).boxes.empty());
  // zoom 2: [10, 20, 30, 40] -> [-30, -10, 10, 30]; 10 x 30 of 40 x 40 visible (0.1875)
  DetectionMove z;
  z.scale = 2;
  EXPECT_TRUE(move_detection(blank(100, 100, {lbox(0, 10, 20, 30, 40)}), z).boxes.empty());
  expect_box(move_detection(blank(100, 100, {lbox(0, 10, 20, 30, 40)}), z, 0.1).boxes.at(0), 0, 0, 10, 30);
}

TEST(DetectionDataAugment, RandomDrawsAreSeededAndInRange) {
  const DetectionImage in = blank(64, 64, {lbox(0, 22, 22, 42, 42)});  // centred: zoom and flip keep it there
  DetectionAugment aug;
  aug.flip_probability = 0.5, aug.scale_min = 0.8, aug.scale_max = 1.25, aug.translate = 0.1;
  Generator a(1), b(1);
  for (int k = 0; k < 200; ++k) {
    const DetectionImage p = augment_detection(in, aug, a), q = augment_detection(in, aug, b);
    ASSERT_EQ(p.boxes.size(), q.boxes.size());
    ASSERT_EQ(p.boxes.size(), 1u);  // a 20-pixel box in the middle never leaves a 64-pixel image here
    EXPECT_EQ(p.boxes[0].x1, q.boxes[0].x1);
    const double side = p.boxes[0].x2 - p.boxes[0].x1;
    EXPECT_GE(side, 20 * 0.8 - 1e-4);
    EXPECT_LE(side, 20 * 1.25 + 1e-4);
    const double centre = (p.boxes[0].x1 + p.boxes[0].x2) / 2 - 32;  // 0 before the move
    EXPECT_LE(std::abs(centre), 0.1 * 64 + 1e-4);
  }
  // flip_probability 0.5 flips about half the time (an off-centre box shows it)
  DetectionAugment flip_only;
  flip_only.flip_probability = 0.5;
  int flips = 0;
  for (int k = 0; k < 400; ++k) flips += augment_detection(blank(64, 64, {lbox(0, 0, 0, 10, 10)}), flip_only, a).boxes.at(0).x1 > 0;
  EXPECT_GT(flips, 150);
  EXPECT_LT(flips, 250);
  aug.flip_probability = 1;
  const DetectionImage off = blank(64, 64, {lbox(0, 0, 0, 10, 10)});
  aug.scale_min = aug.scale_max = 1, aug.translate = 0;
  expect_box(augment_detection(off, aug, a).boxes.at(0), 54, 0, 64, 10);
  aug.flip_probability = 0;
  expect_box(augment_detection(off, aug, a).boxes.at(0), 0, 0, 10, 10);

  aug.scale_min = 0;
  EXPECT_ERROR(augment_detection(in, aug, a), "scale range must satisfy 0 < scale_min <= scale_max");
  aug.scale_min = 1, aug.flip_probability = 1.5;
  EXPECT_ERROR(augment_detection(in, aug, a), "flip_probability must be in [0, 1]");
  EXPECT_ERROR(move_detection(in, DetectionMove{}, 1.5), "min_visible must be in [0, 1]");
}

// The property the lessons rely on: after any move, every ink pixel of a scene lies in a moved box
// (boxes clipped, none dropped: min_visible 0). With whole-pixel shifts and flips the pixels are
// copied, so the boxes also stay tight (each edge touches ink). With a zoom by s, bilinear reading
// spreads an ink pixel's footprint by up to s/2 output pixels past the box (the box edge is half an
// input pixel from the centre of its outermost ink pixel), so the check allows that margin.
TEST(DetectionDataAugment, InkStaysInsideTheMovedBoxes) {
  const DetectionSet set = stroke_scenes(20, 5);
  Generator gen(8);
  const double threshold = 0.25;
  for (int round = 0; round < 2; ++round) {
    DetectionAugment aug;
    aug.flip_probability = 0.5, aug.translate = 0.3, aug.min_visible = 0.0;
    if (round == 1) aug.scale_min = 0.6, aug.scale_max = 1.8;
    for (const DetectionImage& scene : set.images) {
      DetectionMove move;  // drawn the way augment_detection draws, to know the scale
      move.flip = gen.uniform() < aug.flip_probability;
      move.scale = gen.uniform(aug.scale_min, aug.scale_max);
      move.dx = std::round(gen.uniform(-aug.translate, aug.translate) * double(scene.image.size(2)));
      move.dy = std::round(gen.uniform(-aug.translate, aug.translate) * double(scene.image.size(1)));
      const DetectionImage out = move_detection(scene, move, 0.0);
      const double margin = round == 0 ? 0.0 : move.scale / 2 + 1e-6;
      for (int64_t y = 0; y < out.image.size(1); ++y)
        for (int64_t x = 0; x < out.image.size(2); ++x) {
          if (at(out, x, y) <= threshold) continue;
          bool inside = false;
          for (const LabelledBox& b : out.boxes)
            inside = inside || (x + 0.5 >= b.x1 - margin && x + 0.5 <= b.x2 + margin && y + 0.5 >= b.y1 - margin &&
                                y + 0.5 <= b.y2 + margin);
          ASSERT_TRUE(inside) << scene.name << " round " << round << ": ink at (" << x << ", " << y
                              << ") outside every moved box (scale " << move.scale << ")";
        }
      if (round == 1) continue;
      for (const LabelledBox& b : out.boxes) {  // whole-pixel moves: tight boxes stay tight
        // (not a box clipped at the image border: the cut may have taken the ink of its other edges)
        const int64_t w = out.image.size(2), h = out.image.size(1);
        if (b.x1 == 0 || b.y1 == 0 || b.x2 == w || b.y2 == h) continue;
        bool left = false, right = false, top = false, bottom = false;
        for (int64_t y = int64_t(b.y1); y < int64_t(b.y2); ++y)
          left = left || at(out, int64_t(b.x1), y) > threshold, right = right || at(out, int64_t(b.x2) - 1, y) > threshold;
        for (int64_t x = int64_t(b.x1); x < int64_t(b.x2); ++x)
          top = top || at(out, x, int64_t(b.y1)) > threshold, bottom = bottom || at(out, x, int64_t(b.y2) - 1) > threshold;
        EXPECT_TRUE(left && right && top && bottom) << scene.name << ": a moved box lost its tight edge";
      }
    }
  }
}

}  // namespace test_detection_data_augment
