#pragma once
// The YOLO-lite lesson: a single-shot detector (YOLOv2 / YOLO-LITE style) that finds and names
// handwritten digits in scenes, one concern per file; main.cpp tells the story in order.
//
//   settings.cpp  every --key with its default and meaning (./run.sh yolo --help lists them)
//   data.cpp      the digit scenes (or a YOLO folder): train / validation / test, as tensors
//   anchors.cpp   the B anchor boxes: k-means on the training boxes with the distance 1 - IoU
//   model.cpp     the conv-BN-LeakyReLU backbone and the detection head; optimizer and schedule
//   init_backbone.cpp  --init_backbone: the first convolutions from the sliding-window classifier
//   compare.cpp   --compare_sliding: images/s and mAP against the sliding-window detector, same scenes
//   targets.cpp   which grid cell and anchor is responsible for each true box (target assignment)
//   loss.cpp      the YOLO loss from differentiable engine ops (autograd gives the gradient)
//   decode.cpp    the head's numbers -> boxes with scores, then non-max suppression
//   train.cpp     one epoch of training; evaluating with COCO's metrics (mAP@0.5, mAP@[.5:.95])
//   report.cpp    learning curves, detections as text (the pictures: lessons/common/detection.h)
//
// Shapes: N images, C channels (1: grey), H = W = canvas pixels, S x S grid cells, B anchors per
// cell, K classes. One prediction per (image, cell, anchor): 5 + K numbers
//   tx, ty   the box centre inside its cell, through a sigmoid: (col + sigmoid(tx)) / S of the width
//   tw, th   the box size: anchor_w * exp(tw), anchor_h * exp(th)
//   to       objectness: sigmoid(to) = P(object) x IoU(predicted box, true box)
//   c_1..K   class scores: softmax gives P(class | object)
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
#include "lessons/common/detection.h"
#include "lessons/common/finite_loss.h"
#include "lessons/common/progress.h"
#include "metrics/boxes.h"
#include "metrics/coco_eval.h"
#include "optim/optim.h"

namespace ember::yolo {

// ---- settings.cpp ------------------------------------------------------------------------------------
void add_settings(Config& cfg);
// Throws naming the key when a value is out of range (--grid=0, --canvas not a multiple of --grid).
void check_settings(const Config& cfg);

// ---- data.cpp ----------------------------------------------------------------------------------------
struct LessonData {
  std::string dataset;                   // "mnist_scenes", "fashion_scenes" or "folder:<path>"
  std::string source;                    // where the objects / images came from, for the first lines
  std::vector<std::string> class_names;  // class_names[class_id]
  DetectionSet train, val, test;         // every image canvas x canvas, boxes in its pixels
  // Generated scenes only: the digits the training scenes are pasted from (the first 90% of the
  // training digits) and how, so that fresh_training_scenes can paste new ones every epoch.
  Tensor train_sources, train_labels;
  SceneOptions scene_options;
};

// The scenes the settings ask for: generated from the real MNIST digits (train and validation
// scenes from disjoint parts of the training digits, test scenes from the test digits), from
// Fashion-MNIST when the digits are missing (a loud notice), or read from --data=FOLDER (its
// train/, val/ and test/ sub-folders; without val/, the last tenth of train/). With
// training = false only the test set is made.
LessonData load_data(const Config& cfg, bool training = true);

// --fresh_scenes: the training scenes of epoch `epoch` (1, 2, ...): epoch 1's are data.train, every
// later epoch pastes new scenes from the same training digits with a generator of its own (seeded
// from --seed and the epoch, so a resumed run gets the same scenes). A --data folder has no digits
// to paste: its training images are returned unchanged.
DetectionSet fresh_training_scenes(const LessonData& data, const Config& cfg, int64_t epoch);

// The images of a set as one batch tensor [N, C, H, W] (every image must have the same shape).
Tensor stack_images(const DetectionSet& set, size_t begin, size_t end);
// A picture of any size resized (bilinear) to side x side, with its boxes scaled the same way.
DetectionImage resize_detection_image(const DetectionImage& in, int64_t side);

// ---- anchors.cpp -------------------------------------------------------------------------------------
// An anchor (a box prior) is a width and height as fractions of the image side.
struct Anchor {
  double w = 0, h = 0;
};
// IoU of two boxes of sizes a and b placed with the same top-left corner: only the shapes count.
double corner_aligned_iou(const Anchor& a, const Anchor& b);
// k-means on box sizes (w, h) with the distance d(box, centre) = 1 - corner_aligned_iou (YOLOv2):
// a large box is not "further" from its centre than a small one just because its numbers are larger.
// Seeded (k-means++ start from `seed`), `iterations` rounds at most; the result sorted by area.
std::vector<Anchor> kmeans_anchors(const std::vector<Anchor>& sizes, int64_t k, uint64_t seed,
                                   int64_t iterations = 100);
// The box sizes of a set, as fractions of each image's side.
std::vector<Anchor> box_sizes(const DetectionSet& set);
// Mean over boxes of the best IoU with any anchor: how well the priors fit the data.
double mean_best_iou(const std::vector<Anchor>& sizes, const std::vector<Anchor>& anchors);
// "0.21x0.28 0.40x0.52 ..." and back (checkpoints store the anchors this way).
std::string anchors_text(const std::vector<Anchor>& anchors);
std::vector<Anchor> parse_anchors(const std::string& text, const std::string& source);

// ---- model.cpp ---------------------------------------------------------------------------------------
struct ModelShape {
  int64_t channels = 1;  // C of the input images
  int64_t canvas = 96;   // H = W
  int64_t grid = 6;      // S
  int64_t anchors = 5;   // B
  int64_t classes = 10;  // K
  int64_t width = 8;     // channels of the first conv; doubled after every pooling
  int64_t stem_kernel = 3;  // kernel size of the first two convolutions (5: the sliding-window classifier's)
};
ModelShape model_shape(const Config& cfg, int64_t channels, int64_t classes);
// The detector: [N, C, H, W] -> [N, B (5 + K), S, S]. The backbone's layers are named
// "backbone.<i>" and the head "head" (checkpoints and --init_backbone use these names).
class YoloLite : public Module {
 public:
  YoloLite(const ModelShape& shape, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "YoloLite"; }
  const ModelShape shape;
  std::shared_ptr<Sequential> backbone;
  std::shared_ptr<Conv2d> head;
};
std::unique_ptr<Optimizer> build_optimizer(const Config& cfg, const Module& model);

// ---- init_backbone.cpp -------------------------------------------------------------------------------
// --init_backbone: which tensor of the sliding-window classifier's checkpoint starts which of the
// detector's (its two convolutions' weights -> the detector's first two convolutions).
struct BackboneMapping {
  std::string classifier, detector;
};
const std::vector<BackboneMapping>& classifier_to_backbone();
// Copies the mapped tensors of a sliding_window checkpoint (classifier.safetensors) into the model.
// A file of another lesson, a missing tensor or one of another shape is an error that names the
// tensors and their shapes (and nothing is copied then).
void init_backbone_from_classifier(YoloLite& model, const std::string& path);
std::function<double(int64_t)> build_schedule(const Config& cfg, int64_t total_steps);

// ---- targets.cpp -------------------------------------------------------------------------------------
// What the loss needs to know about the true boxes of a batch, computed without a graph.
// Rows are the predictions in the order predictions_as_rows() gives them:
//   row = ((n * S + cell_row) * S + cell_col) * B + anchor.
struct Targets {
  int64_t images = 0, grid = 0, anchors = 0;
  // One entry per true box that got a responsible prediction:
  std::vector<int64_t> rows;           // its responsible prediction
  std::vector<double> x, y;            // the centre's offset inside the cell, in [0, 1)
  std::vector<double> tw, th;          // log(box w / anchor w), log(box h / anchor h)
  std::vector<double> coord_weight;    // 2 - w h (w, h as fractions of the image): small boxes count more
  std::vector<double> objectness;      // the objectness target: IoU(predicted box, true box), or 1
  std::vector<int64_t> classes;        // its class
  // One entry per prediction row: 1 where the no-object term applies (not responsible for a box,
  // and its predicted box overlaps no true box by more than ignore_iou), else 0.
  std::vector<double> noobj_mask;
};
struct TargetOptions {
  double ignore_iou = 0.6;  // YOLOv2's threshold: a prediction this close to a true box is not punished
  bool rescore = true;      // objectness target IoU (the slide's P(object) x IoU); false: 1
};
// The cell holding the box centre and the anchor whose prior best matches the box (IoU of the
// sizes, corners aligned) is responsible for it. When two boxes ask for the same cell and anchor,
// the second takes the next-best anchor of the cell that is still free (and none if all are taken).
// `predictions` (detached, [N, B (5 + K), S, S]) decides the ignore mask and the IoU targets.
Targets build_targets(const Tensor& predictions, const std::vector<std::vector<LabelledBox>>& boxes,
                      const std::vector<Anchor>& anchors, int64_t image_side, const TargetOptions& options);
// The responsible (cell row, cell col, anchor) of one box, or anchor = -1 if it lies outside the image.
struct Responsible {
  int64_t row = 0, col = 0, anchor = -1;
};
Responsible responsible_for(const LabelledBox& box, const std::vector<Anchor>& anchors, int64_t grid,
                            int64_t image_side);

// ---- loss.cpp ----------------------------------------------------------------------------------------
struct LossWeights {
  double coord = 5.0;   // lambda_coord
  double obj = 1.0;     // lambda_obj
  double noobj = 0.5;   // lambda_noobj
  double cls = 1.0;     // lambda_class
};
struct LossTerms {
  Tensor total;                               // scalar, with a graph back to the predictions
  double coord = 0, obj = 0, noobj = 0, cls = 0;  // each term's value (already weighted), per image
};
// [N, B (5 + K), S, S] -> [N S S B, 5 + K], one row per prediction (the order of Targets::rows).
Tensor predictions_as_rows(const Tensor& predictions, int64_t anchors);
LossTerms yolo_loss(const Tensor& predictions, const Targets& targets, const LossWeights& weights);

// ---- decode.cpp --------------------------------------------------------------------------------------
// A prediction row as a box in pixels of an image of side `image_side`.
Box decode_box(double tx, double ty, double tw, double th, int64_t cell_row, int64_t cell_col, int64_t grid,
               const Anchor& anchor, int64_t image_side);
// Every (prediction, class) with score = sigmoid(to) x softmax(c)_class >= score_threshold, as
// detections of images first_image_id, first_image_id + 1, ...; no suppression yet.
std::vector<Detection> decode_predictions(const Tensor& predictions, const std::vector<Anchor>& anchors,
                                          int64_t image_side, double score_threshold, int64_t first_image_id);
// The model in eval mode on a set, in batches: decoded, then NMS per image and class.
// Detection::image_id is the index in the set.
std::vector<Detection> detect(Module& model, const DetectionSet& set, const std::vector<Anchor>& anchors,
                              double score_threshold, double nms_iou, int64_t batch_size);

// The same detections grouped by image: found[i] holds those with image_id i (of `images`).
std::vector<std::vector<Detection>> detections_per_image(const std::vector<Detection>& detections, size_t images);

// ---- train.cpp ---------------------------------------------------------------------------------------
struct EpochResult {
  double loss = 0, coord = 0, obj = 0, noobj = 0, cls = 0;  // means over the epoch's images
  int64_t images = 0;
  double step_seconds = 0;
};
struct TrainContext {
  const std::vector<Anchor>* anchors = nullptr;
  TargetOptions target_options;
  LossWeights weights;
};
EpochResult train_one_epoch(Module& model, Optimizer& optimizer, const DetectionSet& train, int64_t batch_size,
                            const TrainContext& context, const std::function<double(int64_t)>& schedule,
                            int64_t& step, int64_t epoch, Generator& gen, LastFiniteLoss& last_finite,
                            Progress& progress);

struct Evaluation {
  DetectionScores scores;                     // lessons/common/detection.h: COCO's 12 numbers, AP per class
  std::vector<std::vector<Detection>> found;  // after NMS: found[i] are the boxes of set.images[i]
  double seconds = 0;                         // detecting (forward, decoding, NMS), not scoring
  double map50() const { return scores.map50; }
  double map50_95() const { return scores.map; }
};
// Detects on every scene of the set and scores with COCO's rules (lessons/common/detection.h's
// evaluate_detections, the same evaluator as the sliding-window lesson).
Evaluation evaluate(Module& model, const DetectionSet& set, const std::vector<Anchor>& anchors,
                    double score_threshold, double nms_iou, int64_t batch_size);

// ---- compare.cpp -------------------------------------------------------------------------------------
// --compare_sliding: the sliding-window lesson's detector against this one on the same scenes, with
// the same threads: images per second (everything from pixels to the boxes after NMS) and mAP.
struct SpeedRow {
  std::string name;
  double map50 = 0, map50_95 = 0;
  double images_per_second = 0;      // by the wall clock
  double images_per_cpu_second = 0;  // by the process's CPU time (all threads): fair on a busy machine
};
// Rows: the sliding window (one scene at a time), the detector one scene per pass, and the detector
// `batch_size` scenes per pass. `classifier_path` is a sliding_window classifier.safetensors.
std::vector<SpeedRow> compare_with_sliding_window(Module& detector, const std::vector<Anchor>& anchors,
                                                  const DetectionSet& scenes, double score_threshold, double nms_iou,
                                                  int64_t batch_size, const std::string& classifier_path);
// The rows as a table, each with its speed-up over the first row.
std::string speed_table(const std::vector<SpeedRow>& rows);

// ---- report.cpp --------------------------------------------------------------------------------------
struct EpochRecord {
  int64_t epoch = 0;
  double lr = 0;
  double loss = 0, coord = 0, obj = 0, noobj = 0, cls = 0;
  double val_map50 = 0, val_map50_95 = 0;
  double seconds = 0;
};
void save_curves(const std::string& path, const std::string& title, const std::vector<EpochRecord>& history);
// "7 at (12.0, 30.5)-(40.0, 66.0) score 0.93", one per line.
std::string format_detections(const std::vector<Detection>& detections, const std::vector<std::string>& class_names);

}  // namespace ember::yolo
