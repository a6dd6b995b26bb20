// The YOLO-lite lesson's parts (lessons/yolo_lite): anchors by k-means with the IoU distance,
// target assignment (which cell and anchor is responsible for a box), the loss (a value worked out
// by hand, and its gradient against finite differences in float64), and decoding predictions.
#include <gtest/gtest.h>

#include <cmath>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "lessons/yolo_lite/lesson.h"
#include "test_util.h"

using namespace ember;
using namespace ember::yolo;

namespace test_yolo_loss {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

LabelledBox box(int64_t cls, float x1, float y1, float x2, float y2) { return LabelledBox{cls, x1, y1, x2, y2}; }

// Index of feature f of anchor a at cell (row, col) of image n in predictions [N, B (5 + K), S, S].
int64_t at(int64_t n, int64_t a, int64_t f, int64_t row, int64_t col, int64_t anchors, int64_t per_anchor,
           int64_t grid) {
  return (((n * anchors + a) * per_anchor + f) * grid + row) * grid + col;
}

TEST(YoloAnchors, CornerAlignedIouComparesShapesOnly) {
  // 0.2 x 0.4 against 0.4 x 0.2: overlap 0.2 x 0.2 = 0.04, union 0.08 + 0.08 - 0.04 = 0.12 -> 1/3
  EXPECT_NEAR(corner_aligned_iou({0.2, 0.4}, {0.4, 0.2}), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(corner_aligned_iou({0.3, 0.3}, {0.3, 0.3}), 1.0, 1e-12);
  // one inside the other: the small area over the large one
  EXPECT_NEAR(corner_aligned_iou({0.1, 0.1}, {0.2, 0.2}), 0.25, 1e-12);
}

TEST(YoloAnchors, KmeansFindsTheTwoClustersOfKnownBoxes) {
  // Two groups: small squares around 0.1 x 0.1 and wide boxes around 0.5 x 0.25 (means exactly).
  std::vector<Anchor> sizes = {{0.09, 0.1}, {0.11, 0.1}, {0.1, 0.09}, {0.1, 0.11},
                               {0.48, 0.25}, {0.52, 0.25}, {0.5, 0.24}, {0.5, 0.26}};
  for (uint64_t seed : {0u, 1u, 7u}) {
    std::vector<Anchor> anchors = kmeans_anchors(sizes, 2, seed);
    ASSERT_EQ(anchors.size(), 2u);
    // sorted by area: the small cluster first; each centre the mean of its four boxes
    EXPECT_NEAR(anchors[0].w, 0.1, 1e-12) << "seed " << seed;
    EXPECT_NEAR(anchors[0].h, 0.1, 1e-12);
    EXPECT_NEAR(anchors[1].w, 0.5, 1e-12);
    EXPECT_NEAR(anchors[1].h, 0.25, 1e-12);
  }
  // The same seed gives the same anchors; the mean best IoU is high for well-fitting priors.
  EXPECT_EQ(anchors_text(kmeans_anchors(sizes, 2, 3)), anchors_text(kmeans_anchors(sizes, 2, 3)));
  EXPECT_GT(mean_best_iou(sizes, kmeans_anchors(sizes, 2, 0)), 0.9);
  // more clusters than distinct sizes is fine (some anchors coincide)
  EXPECT_EQ(kmeans_anchors({{0.2, 0.2}}, 3, 0).size(), 3u);
  EXPECT_ERROR(kmeans_anchors({}, 2, 0), "no boxes to cluster");
  EXPECT_ERROR(kmeans_anchors({{0.0, 0.2}}, 1, 0), "positive width and height");
}

TEST(YoloAnchors, TextRoundTrip) {
  const std::vector<Anchor> anchors = {{0.125, 0.25}, {0.1, 0.3}};
  const std::vector<Anchor> again = parse_anchors(anchors_text(anchors), "test");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[1].w, 0.1);
  EXPECT_EQ(again[1].h, 0.3);
  EXPECT_ERROR(parse_anchors("0.1x", "ckpt"), "ckpt: anchor \"0.1x\" should be WIDTHxHEIGHT");
}

TEST(YoloTargets, TheCellHoldingTheCentreAndTheBestAnchorAreResponsible) {
  // grid 4 over 64 pixels: cells of 16. Centre (40, 10) -> column 2, row 0. Size 19.2 x 35.2 pixels =
  // 0.3 x 0.55 of the side: closest in shape to the tall anchor 0.3 x 0.6 (IoU 0.917; the others
  // 0.1 x 0.1: 0.06, 0.6 x 0.3: 0.35).
  const std::vector<Anchor> anchors = {{0.1, 0.1}, {0.3, 0.6}, {0.6, 0.3}};
  const LabelledBox b = box(3, 30.4f, -7.6f, 49.6f, 27.6f);
  Responsible r = responsible_for(b, anchors, 4, 64);
  EXPECT_EQ(r.row, 0);
  EXPECT_EQ(r.col, 2);
  EXPECT_EQ(r.anchor, 1);
  // a centre outside the image has no responsible prediction
  EXPECT_EQ(responsible_for(box(0, 60, 60, 80, 80), anchors, 4, 64).anchor, -1);

  // In a batch of two images, the box in image 1: row ((1 * 4 + 0) * 4 + 2) * 3 + 1 = 55, with
  // x = 40 / 16 - 2 = 0.5, y = 10 / 16 - 0 = 0.625, tw = log(0.3 / 0.3) = 0, th = log(0.55 / 0.6).
  const Tensor predictions = Tensor::zeros({2, 3 * (5 + 4), 4, 4});
  Targets t = build_targets(predictions, {{}, {b}}, anchors, 64, {});
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], 55);
  EXPECT_NEAR(t.x[0], 0.5, 1e-6);
  EXPECT_NEAR(t.y[0], 0.625, 1e-6);
  EXPECT_NEAR(t.tw[0], 0.0, 1e-6);
  EXPECT_NEAR(t.th[0], std::log(0.55 / 0.6), 1e-6);
  EXPECT_NEAR(t.coord_weight[0], 2.0 - 0.3 * 0.55, 1e-6);
  EXPECT_EQ(t.classes[0], 3);
  EXPECT_EQ(t.noobj_mask.size(), 2u * 16 * 3);
  EXPECT_EQ(t.noobj_mask[55], 0.0);  // responsible: the object term instead
  EXPECT_EQ(t.noobj_mask[54], 1.0);

  // Two boxes of the same shape in the same cell: the second takes the next-best free anchor.
  Targets two = build_targets(predictions, {{b, box(5, 31, -7, 50, 28)}, {}}, anchors, 64, {});
  ASSERT_EQ(two.rows.size(), 2u);
  EXPECT_EQ(two.rows[0], (0 * 4 + 2) * 3 + 1);
  EXPECT_EQ(two.rows[1], (0 * 4 + 2) * 3 + 2);  // the wide anchor (IoU 0.35) before the small one
}

TEST(YoloTargets, APredictionThatAlreadyOverlapsATrueBoxIsNotPunished) {
  // grid 2 over 32 pixels, one anchor 0.5 x 0.5; zeros decode to 16 x 16 boxes centred in each cell.
  // The true box (0, 0)-(16, 16) is exactly the prediction of cell (0, 0): responsible. Cell (0, 1)
  // predicts (16, 0)-(32, 16): IoU 0 -> no-object term. With a true box (8, 0)-(24, 16) instead,
  // centred in cell (0, 1) at x = 16: both cells (0, 0) and (0, 1) overlap it by IoU 1/3.
  const std::vector<Anchor> anchors = {{0.5, 0.5}};
  const Tensor predictions = Tensor::zeros({1, 5 + 1, 2, 2});
  Targets t = build_targets(predictions, {{box(0, 0, 0, 16, 16)}}, anchors, 32, {.ignore_iou = 0.3});
  EXPECT_EQ(t.noobj_mask, (std::vector<double>{0, 1, 1, 1}));
  EXPECT_NEAR(t.objectness[0], 1.0, 1e-12);  // rescoring: IoU of the predicted box with the true one
  Targets shifted = build_targets(predictions, {{box(0, 8, 0, 24, 16)}}, anchors, 32, {.ignore_iou = 0.3});
  EXPECT_EQ(shifted.rows, (std::vector<int64_t>{1}));
  EXPECT_EQ(shifted.noobj_mask, (std::vector<double>{0, 0, 1, 1}));  // cell 0 ignored (IoU 1/3 > 0.3)
  EXPECT_NEAR(shifted.objectness[0], 1.0 / 3.0, 1e-12);
  Targets no_rescore = build_targets(predictions, {{box(0, 8, 0, 24, 16)}}, anchors, 32, {.rescore = false});
  EXPECT_EQ(no_rescore.objectness[0], 1.0);
}

TEST(YoloLoss, ValueOnAHandMadeTarget) {
  // One image of side 10, grid 1, anchors 0.5 x 0.5 and 0.1 x 0.1, K = 2 classes, all predictions 0.
  // True box: class 1, (3.5, 2.5)-(8.5, 7.5): centre (6, 5), size 5 x 5 = 0.5 x 0.5 of the side.
  //   responsible: cell (0, 0), anchor 0 (corner IoU 1, against 0.04 for the small one)
  //   targets: x = 0.6, y = 0.5, tw = th = log(0.5 / 0.5) = 0, weight 2 - 0.5 * 0.5 = 1.75
  //   anchor 0's box with zeros: centre (5, 5), 5 x 5 -> (2.5, 2.5)-(7.5, 7.5); IoU with the true box
  //   = (4 x 5) / (25 + 25 - 20) = 2/3, the objectness target
  //   anchor 1's box: (4.5, 4.5)-(5.5, 5.5), IoU 1/25 < 0.6 -> the no-object term applies
  // Terms (sigmoid(0) = 0.5, and BCE(0, t) = -t log 0.5 - (1 - t) log 0.5 = log 2 for any t):
  //   coord = 5 * 1.75 * ((0.5 - 0.6)^2 + (0.5 - 0.5)^2 + 0^2 + 0^2) = 0.0875
  //   obj   = 1 * BCE(0, 2/3) = log 2 = 0.693147
  //   noobj = 0.5 * BCE(0, 0) = 0.5 log 2 = 0.346574
  //   class = 1 * -log softmax(0, 0)_1 = log 2 = 0.693147
  //   total = (0.0875 + 2.5 log 2) / 1 image = 1.820368
  const std::vector<Anchor> anchors = {{0.5, 0.5}, {0.1, 0.1}};
  const Tensor predictions = Tensor::zeros({1, 2 * (5 + 2), 1, 1}, DType::Float64);
  Targets t = build_targets(predictions, {{box(1, 3.5f, 2.5f, 8.5f, 7.5f)}}, anchors, 10, {});
  ASSERT_EQ(t.rows, (std::vector<int64_t>{0}));
  EXPECT_NEAR(t.objectness[0], 2.0 / 3.0, 1e-12);
  LossTerms loss = yolo_loss(predictions, t, LossWeights{.coord = 5, .obj = 1, .noobj = 0.5, .cls = 1});
  EXPECT_NEAR(loss.coord, 0.0875, 1e-12);
  EXPECT_NEAR(loss.obj, std::log(2.0), 1e-12);
  EXPECT_NEAR(loss.noobj, 0.5 * std::log(2.0), 1e-12);
  EXPECT_NEAR(loss.cls, std::log(2.0), 1e-12);
  EXPECT_NEAR(loss.total.item(), 0.0875 + 2.5 * std::log(2.0), 1e-12);
}

TEST(YoloLoss, GradientMatchesFiniteDifferencesInFloat64) {
  // Two images, grid 3, two anchors, three classes, random predictions; the targets are computed
  // once from them and held fixed (they are constants to the loss, like labels).
  const int64_t grid = 3, n_anchors = 2, classes = 3, side = 48;
  const std::vector<Anchor> anchors = {{0.2, 0.25}, {0.5, 0.4}};
  Generator gen(5);
  const Tensor predictions = Tensor::randn({2, n_anchors * (5 + classes), grid, grid}, &gen, DType::Float64);
  const std::vector<std::vector<LabelledBox>> boxes = {
      {box(0, 4, 6, 14, 18), box(2, 20, 20, 44, 40)}, {box(1, 30, 2, 40, 14)}};
  const Targets targets = build_targets(predictions, boxes, anchors, side, {.ignore_iou = 0.3});
  ASSERT_EQ(targets.rows.size(), 3u);
  const LossWeights weights{.coord = 5, .obj = 1, .noobj = 0.5, .cls = 1};
  GradcheckResult r = gradcheck(
      [&](const std::vector<Tensor>& in) { return yolo_loss(in[0], targets, weights).total; }, {predictions},
      GradcheckOptions{.max_elements_per_input = 1000});
  EXPECT_TRUE(r.ok) << r.message;
  // every responsible row's features and every no-object row's objectness get a gradient
  Tensor leaf = predictions.clone().detach().requires_grad_();
  yolo_loss(leaf, targets, weights).total.backward();
  const Tensor grad = predictions_as_rows(leaf.grad(), n_anchors);
  for (int64_t row : targets.rows)
    for (int64_t f = 0; f < 5 + classes; ++f) EXPECT_NE(grad.at({row, f}), 0.0) << "row " << row << " feature " << f;
}

TEST(YoloLoss, AnImageWithoutBoxesHasOnlyTheNoObjectTerm) {
  const std::vector<Anchor> anchors = {{0.5, 0.5}};
  const Tensor predictions = Tensor::zeros({1, 5 + 2, 2, 2});
  Targets t = build_targets(predictions, {{}}, anchors, 32, {});
  LossTerms loss = yolo_loss(predictions, t, LossWeights{});
  EXPECT_NEAR(loss.noobj, 0.5 * 4 * std::log(2.0), 1e-6);  // four predictions, BCE(0, 0) = log 2 each
  EXPECT_EQ(loss.coord, 0.0);
  EXPECT_NEAR(loss.total.item(), loss.noobj, 1e-6);
}

TEST(YoloDecode, PredictionsBecomeBoxesInPixels) {
  // cell (row 1, col 2) of a 4 x 4 grid over 64 pixels; anchor 0.25 x 0.5; tx = ty = 0 puts the
  // centre in the middle of the cell: (2.5 * 16, 1.5 * 16) = (40, 24); tw = log 2 doubles the
  // anchor's width: 2 * 0.25 * 64 = 32; th = 0 keeps its height 0.5 * 64 = 32.
  const Box b = decode_box(0, 0, std::log(2.0), 0, 1, 2, 4, {0.25, 0.5}, 64);
  EXPECT_NEAR(b.x1, 24, 1e-9);
  EXPECT_NEAR(b.x2, 56, 1e-9);
  EXPECT_NEAR(b.y1, 8, 1e-9);
  EXPECT_NEAR(b.y2, 40, 1e-9);

  // One confident prediction among silent ones: objectness logit 3 (sigmoid 0.9526), class 1 far
  // ahead (softmax ~1): one detection of class 1, score ~0.9526, at image 7 + 1 (first id 7).
  const int64_t grid = 4, n_anchors = 2, per_anchor = 5 + 3;
  Tensor p = Tensor::full({2, n_anchors * per_anchor, grid, grid}, -10.0);
  float* v = p.data<float>();
  for (int64_t f = 0; f < 4; ++f) v[at(1, 1, f, 1, 2, n_anchors, per_anchor, grid)] = 0.0f;
  v[at(1, 1, 2, 1, 2, n_anchors, per_anchor, grid)] = static_cast<float>(std::log(2.0));
  v[at(1, 1, 4, 1, 2, n_anchors, per_anchor, grid)] = 3.0f;
  v[at(1, 1, 5 + 1, 1, 2, n_anchors, per_anchor, grid)] = 10.0f;
  const std::vector<Anchor> anchors = {{0.1, 0.1}, {0.25, 0.5}};
  std::vector<Detection> found = decode_predictions(p, anchors, 64, 0.01, 7);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].image_id, 8);
  EXPECT_EQ(found[0].class_id, 1);
  EXPECT_NEAR(found[0].score, 1.0 / (1.0 + std::exp(-3.0)), 1e-4);
  EXPECT_NEAR(found[0].box.x1, 24, 1e-4);
  EXPECT_NEAR(found[0].box.y2, 40, 1e-4);
}

TEST(YoloModel, OutputIsTheGridOfPredictions) {
  Generator gen(0);
  YoloLite model({.channels = 1, .canvas = 32, .grid = 4, .anchors = 2, .classes = 3, .width = 4}, gen);
  const Tensor out = model(Tensor::zeros({2, 1, 32, 32}));
  EXPECT_EQ(out.shape(), (Shape{2, 2 * (5 + 3), 4, 4}));
  EXPECT_TRUE(model.state_dict().contains("backbone.0.weight"));
  EXPECT_TRUE(model.state_dict().contains("head.weight"));
  EXPECT_ERROR(YoloLite({.canvas = 96, .grid = 5}, gen), "multiple of the grid");
  EXPECT_ERROR(YoloLite({.canvas = 96, .grid = 4}, gen), "power of two");
}

}  // namespace test_yolo_loss
