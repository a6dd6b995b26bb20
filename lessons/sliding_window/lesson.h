#pragma once
// The sliding-window lesson, one concern per file; main.cpp tells the story in order.
//
//   settings.cpp  every --key with its default and meaning (./run.sh sliding_window --help lists them)
//   data.cpp      digit scenes (real MNIST digits pasted on larger canvases), and the 28x28 training
//                 patches cut from them: the 10 digits plus "background"
//   model.cpp     the patch classifier (convolutions, then a dense head) and its optimizer
//   train.cpp     one epoch of training on patches; patch accuracy on a held-out set
//   fcn.cpp       the dense head turned into convolutions: linear_to_conv, make_fully_convolutional
//   detect.cpp    the two detectors: slide the classifier over every window, or run the fully
//                 convolutional net once per scale; then score threshold and NMS
//   report.cpp    the score-map heat map and the learning curves (mAP, the detections grid and the
//                 COCO results file come from lessons/common/detection.h)
//
// Shapes: a scene is [1, H, W] (grey, pixels in [0, 1]); a patch is [1, 28, 28]; K = 10 digit
// classes, and class 10 (kBackground) is "no digit here"; the classifier's logits are [N, 11].
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "datasets/detection.h"
#include "layers/layers.h"
#include "lessons/common/config.h"
#include "lessons/common/finite_loss.h"
#include "lessons/common/progress.h"
#include "metrics/boxes.h"
#include "optim/optim.h"

namespace ember::sliding_window {

inline constexpr int64_t kPatch = 28;           // the classifier's window, in pixels
inline constexpr int64_t kNumDigits = 10;       // classes 0..9
inline constexpr int64_t kBackground = 10;      // the 11th class: no (whole, well-sized) digit
inline constexpr int64_t kNumOutputs = 11;

// ---- settings.cpp ----------------------------------------------------------------------------------
void add_settings(Config& cfg);
// Throws naming the key when a value is outside its range (--stride=3, --scales=0).
void check_settings(const Config& cfg);
// --scales=1,0.75,0.5 as numbers, each in (0, 4]; an error names the key and the bad entry.
std::vector<double> parse_scales(const std::string& text);

// ---- data.cpp ----------------------------------------------------------------------------------------
// Where a whole digit would fit a window best: the square centred on its box whose side is the
// box's longer side * 28 / 20 (an MNIST digit's ink is about 20 of its 28 pixels). Patches are
// labelled by their IoU with these squares, not with the tight boxes: a well-placed window around a
// thin "1" covers far more than the 1's box.
Box object_window(const LabelledBox& box);

// A square part of a scene, resized to 28x28 (bilinear): [1, 28, 28]. Parts outside the scene are 0.
Tensor crop_patch(const Tensor& scene, double x, double y, double side);
// The whole scene resized by `scale` (bilinear, pixel centres aligned): [1, round(H s), round(W s)].
Tensor resize_image(const Tensor& image, int64_t out_height, int64_t out_width);

struct Patches {
  Tensor images;  // [N, 1, 28, 28]
  Tensor labels;  // int64 [N]: the digit 0..9, or kBackground
};

struct PatchOptions {
  int64_t crops_per_object = 3;        // jittered windows around each digit (label: the digit)
  int64_t backgrounds_per_scene = 8;   // windows with IoU < background_iou with every digit's window
  double background_iou = 0.3;
  double jitter = 0.1;                 // positive windows: shift and size change, fraction of the side
  std::vector<double> window_sides{28.0};  // the window sizes the detector will use (background sizes)
};
// Cuts labelled patches out of the scenes, half of the backgrounds next to digits (partial digits,
// digits at the wrong size), half anywhere. Every draw comes from `gen`.
Patches cut_patches(const DetectionSet& scenes, const PatchOptions& options, Generator& gen);

// The average shape of each class's ink inside its best window (fractions of the window's side):
// a window only says "a 1 is here", this says how wide a 1 usually is. box_shapes[k] = {w, h}.
using BoxShapes = std::vector<std::array<double, 2>>;
BoxShapes average_box_shapes(const DetectionSet& scenes);
std::string box_shapes_text(const BoxShapes& shapes);            // "0.62 0.71;0.25 0.71;..." (checkpoint)
BoxShapes parse_box_shapes(const std::string& text, const std::string& source);

struct LessonData {
  std::string dataset;                   // what was really used: "mnist" or "fashion"
  std::string title;                     // "MNIST" or "Fashion-MNIST"
  std::string folder;                    // where the IDX files were read from
  std::vector<std::string> class_names;  // the 10 object classes
  DetectionSet train_scenes, val_scenes, test_scenes;
};
// The digits the settings ask for (dataset=mnist falls back to Fashion-MNIST, loudly, when the
// default data_dir has no digits), pasted into scenes: train and validation scenes from the digits'
// training split (its last tenth for validation), test scenes from the test split. With
// with_training = false only the test scenes are made.
LessonData load_data(const Config& cfg, bool with_training = true);
// The scene generator's settings used by this lesson (sizes the default scales can find).
SceneOptions scene_options();

// ---- model.cpp ---------------------------------------------------------------------------------------
// The patch classifier, a Sequential whose head is dense:
//   0 Conv2d(1, 16, 5)  1 ReLU  2 MaxPool2d(2)   [N, 16, 12, 12]
//   3 Conv2d(16, 32, 5) 4 ReLU  5 MaxPool2d(2)   [N, 32, 4, 4]
//   6 Flatten  7 Linear(512, 128)  8 ReLU  9 Linear(128, 11)
// No padding anywhere, so a window's score depends on the window's pixels only (all 28x28 of them).
std::shared_ptr<Sequential> build_classifier(Generator& gen);
std::unique_ptr<Optimizer> build_optimizer(const Config& cfg, const Module& model);

// ---- train.cpp ---------------------------------------------------------------------------------------
struct EpochResult {
  double loss = 0.0, accuracy = 0.0;
  int64_t images = 0;
  double step_seconds = 0.0;
};
// One shuffled pass over the patches (shuffled with `gen`), in batches.
EpochResult train_one_epoch(Module& model, Optimizer& optimizer, const Patches& patches, int64_t batch_size,
                            Generator& gen, int64_t epoch, LastFiniteLoss& last_finite, Progress& progress,
                            int64_t& step);
struct PatchEvaluation {
  double loss = 0.0, accuracy = 0.0;
};
PatchEvaluation evaluate_patches(Module& model, const Patches& patches, int64_t batch_size);

// ---- fcn.cpp -----------------------------------------------------------------------------------------
// A Linear layer over C*k*k inputs (a flattened [C, k, k] block) as a k x k convolution with the same
// numbers: weight [out, C*k*k] -> [out, C, k, k], the same bias. Over a [C, k, k] input it computes
// exactly the Linear's output; over a larger input it computes it at every position. With C = in and
// k = 1, a 1x1 convolution: the Linear applied at every pixel.
std::shared_ptr<Conv2d> linear_to_conv(const Linear& fc, int64_t channels, int64_t kernel_size);

// The classifier made fully convolutional: the layers before Flatten are kept (shared, the same
// modules), Flatten is dropped, the first Linear becomes a k x k convolution (k x k = the feature
// map Flatten received for a `patch` x `patch` input), every later Linear a 1x1 convolution, and
// the activations between stay. Over a patch it gives [1, 11, 1, 1]: the classifier's logits.
std::shared_ptr<Sequential> make_fully_convolutional(Sequential& classifier, int64_t patch = kPatch);

// A shape as error messages show it: [1, 32, 4, 4].
std::string shape_text(const Shape& shape);

// How far apart neighbouring outputs of the fully convolutional net are, in input pixels: the
// product of the strides of its layers (convolutions and poolings). 4 for the classifier above.
int64_t total_stride(Sequential& net);

// ---- detect.cpp ----------------------------------------------------------------------------------------
// The scores of every window of one scene at one scale, laid out as a grid: window (row i, column j)
// covers pixels [j stride, j stride + 28) x [i stride, i stride + 28) of the scene resized by `scale`.
struct ScoreGrid {
  double scale = 1.0;
  int64_t stride = 4;
  int64_t rows = 0, cols = 0;
  double pixels_per_x = 1.0, pixels_per_y = 1.0;  // scene pixels per resized pixel
  Tensor probabilities;                            // [rows, cols, 11], softmax of the logits
};
// Sliding window: cuts out every window and runs the classifier on them (in batches).
ScoreGrid sliding_window_scores(Module& classifier, const Tensor& scene, double scale, int64_t stride);
// The fully convolutional net once over the resized scene; every (stride / total_stride)-th output.
ScoreGrid fcn_scores(Module& fcn, const Tensor& scene, double scale, int64_t stride, int64_t net_stride);

struct DetectOptions {
  std::vector<double> scales{1.0};
  int64_t stride = 4;
  double score_threshold = 0.5;
  double nms_iou = 0.3;
};
// Windows whose best digit has probability >= score_threshold, each as a box of that class's average
// shape centred in the window (box_shapes; empty: the window itself).
std::vector<Detection> grid_detections(const ScoreGrid& grid, int64_t image_id, double score_threshold,
                                       const BoxShapes& box_shapes);
// Every scale, then per-class NMS. `net_stride` > 0 runs the fully convolutional net `model`; 0
// slides the classifier `model`.
std::vector<Detection> detect(Module& model, int64_t net_stride, const Tensor& scene, int64_t image_id,
                              const DetectOptions& options, const BoxShapes& box_shapes);

// ---- report.cpp --------------------------------------------------------------------------------------
// One scene and, for each scale, the fully convolutional net's score map: per pixel the highest
// probability of any digit among the windows centred there, in a colour map.
void save_score_map(const std::string& path, const Tensor& scene, const std::vector<ScoreGrid>& grids);

struct EpochRecord {
  int64_t epoch = 0;
  double lr = 0.0;
  double train_loss = 0.0, train_accuracy = 0.0;
  double val_loss = 0.0, val_accuracy = 0.0;
  double seconds = 0.0;
};
void save_curves(const std::string& path, const std::string& title, const std::vector<EpochRecord>& history);

}  // namespace ember::sliding_window
