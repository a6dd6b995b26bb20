// Boxes: layout conversions, area, and IoU with its edge cases (touching, contained, zero-area).
#include <gtest/gtest.h>

#include "metrics/boxes.h"

using namespace ember;

TEST(MetricsBoxes, ConversionsBetweenLayouts) {
  // centre (50, 40), size 20 x 10  <->  corners (40, 35)-(60, 45)  <->  COCO [40, 35, 20, 10]
  Box b = box_from_cxcywh(50, 40, 20, 10);
  EXPECT_EQ(b, (Box{40, 35, 60, 45}));
  EXPECT_EQ(box_to_cxcywh(b), (std::array<double, 4>{50, 40, 20, 10}));
  EXPECT_EQ(box_to_xywh(b), (std::array<double, 4>{40, 35, 20, 10}));
  EXPECT_EQ(box_from_xywh(40, 35, 20, 10), b);
  EXPECT_DOUBLE_EQ(b.width(), 20);
  EXPECT_DOUBLE_EQ(b.height(), 10);
}

TEST(MetricsBoxes, AreaIsZeroForEmptyBoxes) {
  EXPECT_DOUBLE_EQ(area(Box{0, 0, 4, 3}), 12);
  EXPECT_DOUBLE_EQ(area(Box{2, 2, 2, 5}), 0);    // zero width
  EXPECT_DOUBLE_EQ(area(Box{5, 0, 1, 3}), 0);    // x2 < x1: not a negative area
  EXPECT_DOUBLE_EQ(area(Box{0, 5, 1, 3}), 0);
}

TEST(MetricsBoxes, IouKnownValues) {
  Box a{0, 0, 10, 10};
  EXPECT_DOUBLE_EQ(iou(a, a), 1.0);                              // the same box
  EXPECT_DOUBLE_EQ(iou(a, Box{5, 0, 15, 10}), 50.0 / 150.0);    // half of each overlaps
  EXPECT_DOUBLE_EQ(iou(a, Box{0, 0, 10, 5}), 0.5);              // exactly 0.5 (a VOC miss, a COCO@0.5 hit)
  EXPECT_DOUBLE_EQ(iou(Box{0, 0, 20, 20}, Box{5, 5, 15, 15}), 100.0 / 400.0);  // contained: inner / outer
  EXPECT_DOUBLE_EQ(iou(Box{5, 5, 15, 15}, Box{0, 0, 20, 20}), 0.25);           // symmetric
  EXPECT_DOUBLE_EQ(iou(a, Box{20, 20, 30, 30}), 0.0);           // apart
}

TEST(MetricsBoxes, IouEdgeCases) {
  Box a{0, 0, 10, 10};
  EXPECT_DOUBLE_EQ(iou(a, Box{10, 0, 20, 10}), 0.0);   // touching along an edge: no area in common
  EXPECT_DOUBLE_EQ(iou(a, Box{10, 10, 20, 20}), 0.0);  // touching at a corner
  EXPECT_DOUBLE_EQ(iou(a, Box{5, 5, 5, 5}), 0.0);      // a point inside: zero area
  EXPECT_DOUBLE_EQ(iou(a, Box{2, 0, 2, 10}), 0.0);     // a line inside
  Box point{3, 3, 3, 3};
  EXPECT_DOUBLE_EQ(iou(point, point), 0.0);  // two empty boxes: union 0, IoU 0 (not NaN)
  EXPECT_EQ(intersection(a, Box{10, 0, 20, 10}), Box{});
  EXPECT_EQ(intersection(a, Box{5, -5, 15, 5}), (Box{5, 0, 10, 5}));
}

TEST(MetricsBoxes, IouMatrixIsEveryPair) {
  std::vector<Box> a = {{0, 0, 10, 10}, {100, 100, 110, 110}};
  std::vector<Box> b = {{0, 0, 10, 5}, {0, 0, 10, 10}, {105, 100, 115, 110}};
  auto m = iou_matrix(a, b);
  ASSERT_EQ(m.size(), 2u);
  ASSERT_EQ(m[0].size(), 3u);
  EXPECT_DOUBLE_EQ(m[0][0], 0.5);
  EXPECT_DOUBLE_EQ(m[0][1], 1.0);
  EXPECT_DOUBLE_EQ(m[0][2], 0.0);
  EXPECT_DOUBLE_EQ(m[1][0], 0.0);
  EXPECT_DOUBLE_EQ(m[1][2], 50.0 / 150.0);
  EXPECT_TRUE(iou_matrix({}, b).empty());
  EXPECT_TRUE(iou_matrix(a, {})[1].empty());
}
