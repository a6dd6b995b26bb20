// The two detectors, which find the same boxes (the fully convolutional one much faster).
//
// Sliding window: for each scale s, resize the scene by s, cut out every 28x28 window at a stride,
// and classify each one. Digits of about 20/s pixels fill a window at scale s the way the training
// digits did. The cost is (windows per scale) x (scales) forward passes of the classifier: a
// 128x128 scene has 26 x 26 = 676 windows at stride 4 and scale 1, and neighbouring windows share
// 6/7 of their pixels, so most of that work is done again and again.
//
// Fully convolutional: the same classifier with its dense layers turned into convolutions (fcn.cpp)
// runs once over the resized scene, and its output grid holds every window's scores at the network's
// total stride (4): each convolution over the scene is computed once, however many windows share it.
//
// Then, for both: a window whose best digit has probability >= score_threshold becomes a box, and
// non-max suppression (metrics/nms.h) keeps the best of the boxes that overlap (several windows fire
// around one digit, at neighbouring positions and scales).
//
// With --device=cuda the windows (or the resized scene) go to the GPU where the model is, and the
// probabilities come back to the CPU: the grids, the boxes and NMS are read there.
#include <algorithm>
#include <cmath>

#include "core/ops.h"
#include "lessons/common/device.h"
#include "lessons/sliding_window/lesson.h"
#include "metrics/nms.h"

namespace ember::sliding_window {

namespace {

// The scene resized by `scale`, and the grid of windows on it (rows and columns of windows that fit).
Tensor resized_scene(const Tensor& scene, double scale, int64_t stride, ScoreGrid& grid) {
  check(scene.dim() == 3 && scene.size(0) == 1, "sliding_window: a scene must be a grey image [1, H, W], got ",
        shape_text(scene.shape()));
  check(stride >= 1 && scale > 0, "sliding_window: stride ", stride, " and scale ", scale, " must be positive");
  const int64_t height = scene.size(1), width = scene.size(2);
  const int64_t out_height = std::max<int64_t>(1, std::llround(height * scale));
  const int64_t out_width = std::max<int64_t>(1, std::llround(width * scale));
  grid.scale = scale;
  grid.stride = stride;
  grid.rows = out_height >= kPatch ? (out_height - kPatch) / stride + 1 : 0;
  grid.cols = out_width >= kPatch ? (out_width - kPatch) / stride + 1 : 0;
  grid.pixels_per_x = static_cast<double>(width) / out_width;
  grid.pixels_per_y = static_cast<double>(height) / out_height;
  return scale == 1.0 ? scene : resize_image(scene, out_height, out_width);
}

}  // namespace

ScoreGrid sliding_window_scores(Module& classifier, const Tensor& scene, double scale, int64_t stride) {
  ScoreGrid grid;
  const Tensor image = resized_scene(scene, scale, stride, grid);
  const int64_t windows = grid.rows * grid.cols, width = image.size(2);
  grid.probabilities = Tensor::zeros({grid.rows, grid.cols, kNumOutputs});
  if (windows == 0) return grid;
  classifier.eval();
  NoGradGuard no_grad;
  // Every window, copied out: [windows, 1, 28, 28]
  Tensor batch = Tensor::empty({windows, 1, kPatch, kPatch});
  float* out = batch.data<float>();
  const float* pixels = image.data<float>();
  for (int64_t i = 0; i < grid.rows; ++i)
    for (int64_t j = 0; j < grid.cols; ++j)
      for (int64_t y = 0; y < kPatch; ++y) {
        const float* row = pixels + (i * stride + y) * width + j * stride;
        std::copy(row, row + kPatch, out + ((i * grid.cols + j) * kPatch + y) * kPatch);
      }
  // The classifier on all of them, a few hundred at a time.
  const int64_t chunk = 512;
  const Device device = model_device(classifier);  // --device: the windows go where the model is
  float* probabilities = grid.probabilities.data<float>();
  for (int64_t begin = 0; begin < windows; begin += chunk) {
    const int64_t end = std::min(windows, begin + chunk);
    Tensor p = softmax(classifier(batch.slice(0, begin, end).to(device)), 1).cpu();  // [n, 11], read here
    std::copy(p.data<float>(), p.data<float>() + p.numel(), probabilities + begin * kNumOutputs);
  }
  return grid;
}

ScoreGrid fcn_scores(Module& fcn, const Tensor& scene, double scale, int64_t stride, int64_t net_stride) {
  check(net_stride >= 1 && stride % net_stride == 0, "sliding_window: the stride (", stride,
        ") must be a multiple of the network's total stride (", net_stride, ")");
  ScoreGrid grid;
  const Tensor image = resized_scene(scene, scale, stride, grid);
  grid.probabilities = Tensor::zeros({grid.rows, grid.cols, kNumOutputs});
  if (grid.rows * grid.cols == 0) return grid;
  fcn.eval();
  NoGradGuard no_grad;
  // One pass: [1, 1, H, W] -> logits [1, 11, R, C], one column of 11 per window position.
  // (--device: the scene goes where the net is; the map comes back to the CPU to be read.)
  Tensor p = softmax(fcn(image.unsqueeze(0).to(model_device(fcn))), 1).cpu();
  const int64_t out_rows = p.size(2), out_cols = p.size(3), step = stride / net_stride;
  check((grid.rows - 1) * step < out_rows && (grid.cols - 1) * step < out_cols, "sliding_window: the fully ",
        "convolutional net gave a ", out_rows, "x", out_cols, " map, too small for ", grid.rows, "x", grid.cols,
        " windows at stride ", stride);
  // Output (i step, j step) is window (i, j) (the poolings floor odd sizes, so the map has exactly
  // the windows that fit, or more when the stride skips outputs).
  const float* map = p.data<float>();
  float* probabilities = grid.probabilities.data<float>();
  for (int64_t i = 0; i < grid.rows; ++i)
    for (int64_t j = 0; j < grid.cols; ++j)
      for (int64_t k = 0; k < kNumOutputs; ++k)
        probabilities[(i * grid.cols + j) * kNumOutputs + k] =
            map[(k * out_rows + i * step) * out_cols + j * step];
  return grid;
}

std::vector<Detection> grid_detections(const ScoreGrid& grid, int64_t image_id, double score_threshold,
                                       const BoxShapes& box_shapes) {
  std::vector<Detection> detections;
  const float* p = grid.probabilities.data<float>();
  for (int64_t i = 0; i < grid.rows; ++i)
    for (int64_t j = 0; j < grid.cols; ++j) {
      const float* scores = p + (i * grid.cols + j) * kNumOutputs;
      const int64_t best = std::max_element(scores, scores + kNumDigits) - scores;  // the best digit
      if (scores[best] < score_threshold) continue;
      // The window in the scene's pixels, then the class's usual box shape centred in it.
      const double side_x = kPatch * grid.pixels_per_x, side_y = kPatch * grid.pixels_per_y;
      const double cx = (j * grid.stride + kPatch / 2.0) * grid.pixels_per_x;
      const double cy = (i * grid.stride + kPatch / 2.0) * grid.pixels_per_y;
      const double w = box_shapes.empty() ? side_x : box_shapes.at(best)[0] * side_x;
      const double h = box_shapes.empty() ? side_y : box_shapes.at(best)[1] * side_y;
      detections.push_back({image_id, best, box_from_cxcywh(cx, cy, w, h), scores[best]});
    }
  return detections;
}

std::vector<Detection> detect(Module& model, int64_t net_stride, const Tensor& scene, int64_t image_id,
                              const DetectOptions& options, const BoxShapes& box_shapes) {
  std::vector<Detection> raw;
  for (double scale : options.scales) {
    ScoreGrid grid = net_stride > 0 ? fcn_scores(model, scene, scale, options.stride, net_stride)
                                    : sliding_window_scores(model, scene, scale, options.stride);
    std::vector<Detection> found = grid_detections(grid, image_id, options.score_threshold, box_shapes);
    raw.insert(raw.end(), found.begin(), found.end());
  }
  return nms(raw, {.iou_threshold = options.nms_iou, .score_threshold = options.score_threshold,
                   .max_detections = 100});
}

}  // namespace ember::sliding_window
