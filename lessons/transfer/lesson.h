#pragma once
// The transfer-learning lesson: reuse a backbone trained on one task for another. One concern per
// file, as in lessons/mnist; main.cpp tells the story in order.
//
//   settings.cpp  every --key with its default (./run.sh transfer --help)
//   data.cpp      the source task (Fashion-MNIST, or CIFAR-10 in grey when present), the target
//                 task (the real handwritten digits) with only N labelled images per class
//   model.cpp     the network: a convolutional backbone (features) and a linear head (classes);
//                 the three regimes (scratch, frozen, finetune) and their optimizers
//   train.cpp     training for a number of steps with a validation curve; evaluation
//   report.cpp    transfer.png (test accuracy against shots), curves.png, the table
//
// Shapes: N images, 1 grey channel, 28x28 pixels; F = 4 * width backbone features; K = 10 classes.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "datasets/transforms.h"
#include "layers/layers.h"
#include "lessons/common/config.h"
#include "optim/optim.h"

namespace ember::transfer {

// ---- settings.cpp ----------------------------------------------------------------------------------
void add_settings(Config& cfg);
void check_settings(const Config& cfg);  // throws naming the key
// --shots=10,30,100,all -> {10, 30, 100, 0}; 0 stands for "all". Errors name --shots.
std::vector<int64_t> parse_shots(const std::string& text);
// --regimes=scratch,frozen,finetune -> the list, each checked.
std::vector<std::string> parse_regimes(const std::string& text);

// ---- data.cpp ----------------------------------------------------------------------------------------
struct LabelledImages {
  Tensor images;  // float32 [N, 1, 28, 28] in [0, 1]
  Tensor labels;  // int64 [N]
};

struct SourceData {
  std::string name;  // "fashion" or "cifar10"
  std::string title;  // "Fashion-MNIST", "CIFAR-10 in grey at 28x28"
  std::string folder;
  LabelledImages train, test;
};
// --source=auto takes CIFAR-10 from --cifar_dir when it is there, else Fashion-MNIST. The first
// pretrain_images training images are kept (0: all).
SourceData load_source(const Config& cfg);
// CIFAR-10 images [N, 3, 32, 32] -> grey [N, 1, 28, 28]: luma 0.299 R + 0.587 G + 0.114 B, then
// resized with an area average (datasets/transforms.h).
Tensor grey_28(const Tensor& rgb);

struct TargetData {
  std::string folder;
  LabelledImages pool;  // the training digits that shots are drawn from
  LabelledImages val;   // the last val_images training digits: the learning curves
  LabelledImages test;  // the test digits: each run's score
};
TargetData load_target(const Config& cfg);

// `shots` images of every class (0: all of them), the same for every regime and nested (the 10 of
// each class are among the 30): the pool shuffled once with `seed`, then the first `shots` of
// each class in that order. A class with fewer images than shots is an error naming --shots.
LabelledImages take_shots(const LabelledImages& pool, int64_t shots, int64_t num_classes, uint64_t seed);

// ---- model.cpp ---------------------------------------------------------------------------------------
// backbone: features of an image, [N, 1, 28, 28] -> [N, 4 * width]
//   Conv2d(1, w, 3, pad 1) BN ReLU MaxPool2d(2)       [N, w, 14, 14]
//   Conv2d(w, 2w, 3, pad 1) BN ReLU MaxPool2d(2)      [N, 2w, 7, 7]
//   Conv2d(2w, 4w, 3, pad 1) BN ReLU GlobalAvgPool2d  [N, 4w]
// head: Linear(4w, K), the classes of one task. Transfer keeps the backbone and swaps the head.
class TransferNet : public Module {
 public:
  TransferNet(int64_t width, int64_t num_classes, Generator& gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "TransferNet"; }
  std::shared_ptr<Sequential> backbone;
  std::shared_ptr<Linear> head;
  const int64_t width;
};

// scratch: every weight random, all trained at lr.
// frozen:  the pretrained backbone, frozen (requires_grad off, batch norm in eval mode, not given
//          to the optimizer); only a new head is trained: a linear probe.
// finetune: the pretrained backbone and a new head, all trained; the backbone at lr *
//          backbone_lr_scale (small: it is already good), the head at lr (two parameter groups).
// Loads `backbone_state` (backbone.* names, from a pretrained TransferNet) for frozen and finetune.
void prepare_regime(TransferNet& net, const std::string& regime, const StateDict& backbone_state);
std::unique_ptr<Optimizer> regime_optimizer(TransferNet& net, const std::string& regime, double lr,
                                            double backbone_lr_scale, double weight_decay);
// The backbone's tensors (parameters and buffers) as a state dict of its own names.
StateDict backbone_state(const TransferNet& net);
// A frozen backbone runs its batch norms in eval mode, with the running statistics of the SOURCE
// images (clothes). The digits give each channel another mean and variance, so every batch norm
// shifts and scales them wrongly, and ReLU then cuts at the wrong place. This re-estimates them on
// the target images (already normalised, [N, 1, 28, 28]; the labelled shots, no labels needed):
// each batch norm in order gets the exact mean and variance (unbiased, as training stores it) of
// its input over all the images, the earlier ones already re-estimated ("AdaBN", Li et al. 2016).
// Only running_mean and running_var change; no weight moves.
void adapt_batch_norm(TransferNet& net, const Tensor& images, int64_t batch_size = 500);

// ---- train.cpp ---------------------------------------------------------------------------------------
struct CurvePoint {
  int64_t step = 0;
  double train_loss = 0.0;    // mean over the steps since the previous point
  double val_accuracy = 0.0;
};

struct TrainOptions {
  int64_t steps = 300;
  int64_t batch_size = 64;
  int64_t curve_points = 5;   // validation evaluations, evenly over the steps (the last at the end)
  int64_t print_every = 50;
  uint64_t seed = 0;
  bool frozen_backbone = false;  // keep the backbone in eval mode while training
  std::string label;             // the progress lines' prefix ("10 shots, finetune")
};

// Trains for options.steps optimizer steps over (images, labels), reshuffled every pass, with
// `transform` on each example; the learning rate of every group follows a cosine from its own
// starting value down to 0. Returns the validation curve.
std::vector<CurvePoint> train_steps(TransferNet& net, Optimizer& optimizer, const LabelledImages& train, const LabelledImages& val,
                                    const Transform& transform, const TrainOptions& options);

// Accuracy of the model in eval mode over images [N, 1, 28, 28] (already normalised).
double accuracy(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size = 500);

// ---- report.cpp --------------------------------------------------------------------------------------
struct RunResult {
  int64_t shots = 0;          // per class; 0: all
  int64_t images = 0;         // labelled training images used
  std::string regime;
  double test_accuracy = 0.0;
  double seconds = 0.0;
  std::vector<CurvePoint> curve;
};
std::string shots_name(int64_t shots);  // "10", "all"
// The results as a table: one row per shots, one column per regime.
std::string results_table(const std::vector<RunResult>& results, const std::vector<int64_t>& shots,
                          const std::vector<std::string>& regimes);
// transfer.png: test accuracy against labelled images per class (log scale), a line per regime.
void save_transfer_plot(const std::string& path, const std::vector<RunResult>& results,
                        const std::vector<std::string>& regimes, const std::string& title);
// curves.png: one panel per shots, the validation accuracy of each regime against the step.
void save_transfer_curves(const std::string& path, const std::vector<RunResult>& results,
                          const std::vector<int64_t>& shots, const std::vector<std::string>& regimes);

}  // namespace ember::transfer
