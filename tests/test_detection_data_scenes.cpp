// The digit-scene generator (datasets/digit_scenes.cpp): boxes hold exactly their object's ink,
// the same seed gives the same scenes, the overlap limit holds, classes come from the source
// labels, and split_sources keeps the splits' sources apart.
//
// The sources are made up: source i is a few strokes of one grey value of its own, value(i), so a
// box's brightest pixel tells which source (and so which label) it was pasted from.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/fs.h"
#include "datasets/coco.h"
#include "datasets/detection.h"
#include "datasets/mnist.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_detection_data_scenes {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

constexpr int64_t kSide = 12;

double value_of(int64_t i, int64_t n) { return 0.4 + 0.55 * double(i + 1) / double(n + 1); }

// n sources [n, 1, 12, 12]: a filled block (at least 4 x 4, so shrinking keeps some pixels at the
// full value) and a vertical stroke, both of value_of(i); labels i % classes.
SceneSources strokes(int64_t n, int64_t classes) {
  SceneSources s{Tensor::zeros({n, 1, kSide, kSide}), Tensor::zeros({n}, DType::Int64)};
  for (int64_t i = 0; i < n; ++i) {
    float* p = s.images.data<float>() + i * kSide * kSide;
    const float v = float(value_of(i, n));
    const int64_t bx = 1 + i % 4, by = 2 + i % 3, bw = 4 + i % 3, bh = 4 + i % 4;
    for (int64_t y = by; y < by + bh; ++y)
      for (int64_t x = bx; x < bx + bw; ++x) p[y * kSide + x] = v;
    const int64_t sx = 9 + i % 2;
    for (int64_t y = 1; y < 11; ++y) p[y * kSide + sx] = v;
    s.labels.data<int64_t>()[i] = i % classes;
  }
  return s;
}

std::vector<std::string> names(int64_t classes) {
  std::vector<std::string> out;
  for (int64_t k = 0; k < classes; ++k) out.push_back("c" + std::to_string(k));
  return out;
}

float pixel(const DetectionImage& s, int64_t x, int64_t y) {
  const int64_t w = s.image.size(2), h = s.image.size(1);
  return s.image.data<float>()[0 * h * w + y * w + x];
}

bool inside(const LabelledBox& b, int64_t x, int64_t y) { return x >= b.x1 && x < b.x2 && y >= b.y1 && y < b.y2; }

double box_iou(const LabelledBox& a, const LabelledBox& b) {
  const double iw = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const double ih = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const double inter = iw * ih;
  const double uni = double(a.x2 - a.x1) * (a.y2 - a.y1) + double(b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

// Each edge row and column of the box holds a pixel above the threshold.
void expect_edges_touch_ink(const DetectionImage& s, const LabelledBox& b, double thr) {
  bool top = false, bottom = false, left = false, right = false;
  for (int64_t x = int64_t(b.x1); x < int64_t(b.x2); ++x) {
    top = top || pixel(s, x, int64_t(b.y1)) > thr;
    bottom = bottom || pixel(s, x, int64_t(b.y2) - 1) > thr;
  }
  for (int64_t y = int64_t(b.y1); y < int64_t(b.y2); ++y) {
    left = left || pixel(s, int64_t(b.x1), y) > thr;
    right = right || pixel(s, int64_t(b.x2) - 1, y) > thr;
  }
  EXPECT_TRUE(top && bottom && left && right)
      << s.name << " box [" << b.x1 << ", " << b.y1 << ", " << b.x2 << ", " << b.y2 << "]: an edge misses the ink (top "
      << top << " bottom " << bottom << " left " << left << " right " << right << ")";
}

// The brightest pixel in the box, mapped back to the source it came from (-1 when none is close).
int64_t source_in_box(const DetectionImage& s, const LabelledBox& b, int64_t n) {
  float best = 0;
  for (int64_t y = int64_t(b.y1); y < int64_t(b.y2); ++y)
    for (int64_t x = int64_t(b.x1); x < int64_t(b.x2); ++x) best = std::max(best, pixel(s, x, y));
  for (int64_t i = 0; i < n; ++i)
    if (std::abs(best - value_of(i, n)) < 1e-4) return i;
  return -1;
}

SceneOptions spaced_options() {
  SceneOptions opt;
  opt.canvas_min = 40, opt.canvas_max = 72;
  opt.objects_min = 1, opt.objects_max = 4;
  opt.scale_min = 0.6, opt.scale_max = 3.0;
  opt.max_overlap = 0.0;  // boxes may touch but not overlap: every ink pixel belongs to one box
  return opt;
}

TEST(DetectionDataScenes, BoxesHoldExactlyTheInk) {
  const SceneSources src = strokes(20, 4);
  const SceneOptions opt = spaced_options();
  Generator gen(1);
  const DetectionSet set = generate_digit_scenes(src.images, src.labels, names(4), 60, opt, gen);
  ASSERT_EQ(set.images.size(), 60u);
  int64_t total_boxes = 0;
  for (const DetectionImage& s : set.images) {
    const int64_t w = s.image.size(2), h = s.image.size(1);
    ASSERT_EQ(w, h);
    ASSERT_GE(w, opt.canvas_min);
    ASSERT_LE(w, opt.canvas_max);
    ASSERT_GE(s.boxes.size(), 1u);
    ASSERT_LE(s.boxes.size(), 4u);
    total_boxes += int64_t(s.boxes.size());
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        if (pixel(s, x, y) <= opt.ink_threshold) continue;
        bool in_a_box = false;
        for (const LabelledBox& b : s.boxes) in_a_box = in_a_box || inside(b, x, y);
        ASSERT_TRUE(in_a_box) << s.name << ": ink at (" << x << ", " << y << ") lies in no box";
      }
    for (const LabelledBox& b : s.boxes) {
      EXPECT_EQ(b.x1, std::floor(b.x1));  // whole pixels
      EXPECT_EQ(b.y2, std::floor(b.y2));
      EXPECT_GE(b.x1, 0);
      EXPECT_LE(b.x2, w);
      EXPECT_LT(b.x1, b.x2);
      // scaled 12-pixel sources: a box is at most 3 * 12 wide
      EXPECT_LE(b.x2 - b.x1, 36);
      expect_edges_touch_ink(s, b, opt.ink_threshold);
    }
  }
  EXPECT_GT(total_boxes, 60 * 3 / 2);  // more than one object per scene on average
}

TEST(DetectionDataScenes, ClassIdsAreTheSourceLabels) {
  const SceneSources src = strokes(20, 4);
  Generator gen(2);
  const DetectionSet set = generate_digit_scenes(src.images, src.labels, names(4), 40, spaced_options(), gen);
  EXPECT_EQ(set.class_names, names(4));
  std::set<int64_t> classes_seen;
  for (const DetectionImage& s : set.images)
    for (const LabelledBox& b : s.boxes) {
      const int64_t i = source_in_box(s, b, 20);
      ASSERT_GE(i, 0) << s.name << ": the brightest pixel of a box is no source's value";
      EXPECT_EQ(b.class_id, src.labels.data<int64_t>()[i]) << s.name << ": box of source " << i;
      classes_seen.insert(b.class_id);
    }
  EXPECT_EQ(classes_seen.size(), 4u);
}

TEST(DetectionDataScenes, SameSeedSameScenes) {
  const SceneSources src = strokes(10, 3);
  SceneOptions opt = spaced_options();
  opt.max_overlap = 0.2, opt.noise = 0.1, opt.clutter = 3, opt.channels = 3;
  Generator a(7), b(7), c(8);
  const DetectionSet sa = generate_digit_scenes(src.images, src.labels, names(3), 8, opt, a);
  const DetectionSet sb = generate_digit_scenes(src.images, src.labels, names(3), 8, opt, b);
  const DetectionSet sc = generate_digit_scenes(src.images, src.labels, names(3), 8, opt, c);
  bool any_difference = false;
  for (size_t i = 0; i < sa.images.size(); ++i) {
    EXPECT_EQ(sa.images[i].name, sb.images[i].name);
    EXPECT_EQ(sa.images[i].image.to_vector<float>(), sb.images[i].image.to_vector<float>());
    ASSERT_EQ(sa.images[i].boxes.size(), sb.images[i].boxes.size());
    for (size_t k = 0; k < sa.images[i].boxes.size(); ++k) {
      const LabelledBox &p = sa.images[i].boxes[k], &q = sb.images[i].boxes[k];
      EXPECT_TRUE(p.class_id == q.class_id && p.x1 == q.x1 && p.y1 == q.y1 && p.x2 == q.x2 && p.y2 == q.y2);
    }
    any_difference = any_difference || sa.images[i].image.shape() != sc.images[i].image.shape() ||
                     sa.images[i].image.to_vector<float>() != sc.images[i].image.to_vector<float>();
  }
  EXPECT_TRUE(any_difference) << "seeds 7 and 8 gave the same scenes";
  EXPECT_EQ(sa.images[0].name, "000000");
  EXPECT_EQ(sa.images[7].name, "000007");
  // three channels: grey repeated; noise keeps every value in [0, 1]
  const DetectionImage& s = sa.images[0];
  const int64_t plane = s.image.size(1) * s.image.size(2);
  const std::vector<float> v = s.image.to_vector<float>();
  ASSERT_EQ(s.image.size(0), 3);
  for (int64_t i = 0; i < plane; ++i) {
    ASSERT_EQ(v[i], v[plane + i]);
    ASSERT_EQ(v[i], v[2 * plane + i]);
    ASSERT_TRUE(v[i] >= 0 && v[i] <= 1);
  }
}

TEST(DetectionDataScenes, OverlapLimitHolds) {
  const SceneSources src = strokes(20, 4);
  SceneOptions opt = spaced_options();
  opt.canvas_min = opt.canvas_max = 48;
  opt.objects_min = 4, opt.objects_max = 8;
  opt.max_overlap = 0.3;
  Generator gen(3);
  const DetectionSet set = generate_digit_scenes(src.images, src.labels, names(4), 50, opt, gen);
  double largest = 0;
  for (const DetectionImage& s : set.images)
    for (size_t i = 0; i < s.boxes.size(); ++i)
      for (size_t j = i + 1; j < s.boxes.size(); ++j) {
        const double v = box_iou(s.boxes[i], s.boxes[j]);
        EXPECT_LE(v, 0.3 + 1e-12) << s.name << ": boxes " << i << " and " << j;
        largest = std::max(largest, v);
      }
  EXPECT_GT(largest, 0.1) << "no two boxes overlapped at all: the limit was not exercised";
}

TEST(DetectionDataScenes, ClutterStaysOutOfTheBoxes) {
  const SceneSources src = strokes(20, 4);
  SceneOptions opt = spaced_options();
  opt.objects_max = 2, opt.clutter = 6;
  Generator gen(4);
  const DetectionSet set = generate_digit_scenes(src.images, src.labels, names(4), 30, opt, gen);
  int64_t ink_outside = 0;
  for (const DetectionImage& s : set.images) {
    for (const LabelledBox& b : s.boxes) {
      expect_edges_touch_ink(s, b, opt.ink_threshold);
      EXPECT_GE(source_in_box(s, b, 20), 0);
    }
    for (int64_t y = 0; y < s.image.size(1); ++y)
      for (int64_t x = 0; x < s.image.size(2); ++x) {
        bool in_a_box = false;
        for (const LabelledBox& b : s.boxes) in_a_box = in_a_box || inside(b, x, y);
        ink_outside += !in_a_box && pixel(s, x, y) > opt.ink_threshold;
      }
  }
  EXPECT_GT(ink_outside, 100) << "clutter left no ink outside the boxes";
}

TEST(DetectionDataScenes, SplitSourcesAreDisjoint) {
  const int64_t n = 50;
  const SceneSources src = strokes(n, 5);
  Generator gen(5);
  const std::vector<SceneSources> parts = split_sources(src.images, src.labels, {0.6, 0.2, 0.2}, gen);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].images.size(0), 30);
  EXPECT_EQ(parts[1].images.size(0), 10);
  EXPECT_EQ(parts[2].labels.size(0), 10);
  EXPECT_EQ(parts[0].images.shape(), (Shape{30, 1, kSide, kSide}));
  // each source (known by its value) is in exactly one part, with its own label
  std::vector<int> seen(n, 0);
  std::vector<std::set<int64_t>> ids(3);
  for (size_t p = 0; p < 3; ++p)
    for (int64_t k = 0; k < parts[p].images.size(0); ++k) {
      const float* img = parts[p].images.data<float>() + k * kSide * kSide;
      const float v = *std::max_element(img, img + kSide * kSide);
      int64_t i = 0;
      while (i < n && std::abs(v - value_of(i, n)) > 1e-6) ++i;
      ASSERT_LT(i, n);
      ++seen[i];
      ids[p].insert(i);
      EXPECT_EQ(parts[p].labels.data<int64_t>()[k], i % 5);
    }
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << "source " << i;
  // and the scenes of a part are made of that part's sources only
  Generator g2(6);
  const DetectionSet test = generate_digit_scenes(parts[2].images, parts[2].labels, names(5), 20, spaced_options(), g2);
  for (const DetectionImage& s : test.images)
    for (const LabelledBox& b : s.boxes) {
      const int64_t i = source_in_box(s, b, n);
      EXPECT_TRUE(ids[2].count(i)) << s.name << ": source " << i << " is not in the test part";
      EXPECT_FALSE(ids[0].count(i));
    }
  EXPECT_ERROR(split_sources(src.images, src.labels, {0.7, 0.4}, gen), "add up to 1.1");
}

TEST(DetectionDataScenes, RefusesBadOptions) {
  const SceneSources src = strokes(4, 2);
  Generator gen(0);
  SceneOptions opt;
  opt.canvas_min = 100, opt.canvas_max = 50;
  EXPECT_ERROR(generate_digit_scenes(src.images, src.labels, names(2), 1, opt, gen), "canvas_min <= canvas_max");
  EXPECT_ERROR(generate_digit_scenes(src.images, src.labels, names(1), 1, SceneOptions{}, gen),
               "labels[1] = 1 is not a class");
  EXPECT_ERROR(generate_digit_scenes(src.images.reshape({4, 12, 12, 1}), src.labels, names(2), 1, SceneOptions{}, gen),
               "sources must have 1 channel");
  EXPECT_ERROR(generate_digit_scenes(Tensor::zeros({4, 1, 12, 12}), src.labels, names(2), 1, SceneOptions{}, gen),
               "no source image has ink");
}

TEST(DetectionDataScenes, WritesASplitWithCocoInstances) {
  const SceneSources src = strokes(10, 3);
  Generator gen(9);
  const DetectionSet set = generate_digit_scenes(src.images, src.labels, names(3), 5, spaced_options(), gen);
  const std::string dir = scratch_dir("detection_data") + "/test";
  write_detection_split(dir, set, /*coco_json=*/true);
  EXPECT_TRUE(file_exists(dir + "/images/000004.png"));
  EXPECT_EQ(read_file(dir + "/labels/000004.txt"), yolo_label_text(set.images[4]));
  EXPECT_EQ(read_file(dir + "/names.txt"), "c0\nc1\nc2\n");
  const CocoInstances coco = read_coco_instances(dir + "/instances.json");
  ASSERT_EQ(coco.images.size(), 5u);
  EXPECT_EQ(coco.images[2].id, 3);
  EXPECT_EQ(coco.images[2].file_name, "000002.png");
  EXPECT_EQ(coco.images[2].width, set.images[2].image.size(2));
  ASSERT_EQ(coco.categories.size(), 3u);
  EXPECT_EQ(coco.categories[0].id, 1);
  EXPECT_EQ(coco.categories[0].name, "c0");
  size_t a = 0;
  for (size_t i = 0; i < set.images.size(); ++i)
    for (const LabelledBox& b : set.images[i].boxes) {
      ASSERT_LT(a, coco.annotations.size());
      const CocoAnnotation& ann = coco.annotations[a++];
      EXPECT_EQ(ann.id, int64_t(a));
      EXPECT_EQ(ann.image_id, int64_t(i) + 1);
      EXPECT_EQ(ann.category_id, b.class_id + 1);
      EXPECT_EQ(ann.bbox[0], b.x1);
      EXPECT_EQ(ann.bbox[3], b.y2 - b.y1);
      EXPECT_EQ(ann.area, double(b.x2 - b.x1) * (b.y2 - b.y1));
    }
  EXPECT_EQ(a, coco.annotations.size());
  write_detection_split(dir + "_train", set, /*coco_json=*/false);
  EXPECT_FALSE(file_exists(dir + "_train/instances.json"));
}

// The same checks on real Fashion-MNIST items, where the Debian package is installed.
TEST(DetectionDataScenes, RealFashionItemsHaveTightBoxes) {
  if (!file_exists(std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz") &&
      !file_exists(std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte"))
    GTEST_SKIP() << "Fashion-MNIST is not installed in " << kFashionMnistDir;
  const MnistData items = load_fashion_mnist(Split::Test);
  const Tensor sources = items.images.slice(0, 0, 500), labels = items.labels.slice(0, 0, 500);
  SceneOptions opt;
  opt.canvas_min = 96, opt.canvas_max = 160, opt.max_overlap = 0.0;
  Generator gen(11);
  const DetectionSet set = generate_digit_scenes(sources, labels, items.class_names, 10, opt, gen);
  for (const DetectionImage& s : set.images)
    for (const LabelledBox& b : s.boxes) expect_edges_touch_ink(s, b, opt.ink_threshold);
}

}  // namespace test_detection_data_scenes
