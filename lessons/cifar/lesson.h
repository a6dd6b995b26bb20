#pragma once
// The CIFAR-10 lesson: ResNets on colour photos. One concern per file, as in lessons/mnist;
// main.cpp tells the story in order.
//
//   settings.cpp  every --key with its default and meaning (./run.sh cifar --help lists them)
//   data.cpp      CIFAR-10 (or the loud Fashion-MNIST fallback, or any ImageFolder), the
//                 train/validation split, per-channel normalisation, the augmentations
//   model.cpp     the models (ResNet-20 ... 110, plain nets, ResNet-18, a small CNN), the optimizer,
//                 the learning-rate schedule, and the exponential moving average of the weights
//   train.cpp     the label-smoothed loss, one epoch of training, evaluation (with flip TTA)
//   report.cpp    confusion matrix, misclassified and augmented grids, learning curves, the
//                 plain-vs-ResNet plot
//
// Shapes: N images, C = 3 colour channels (RGB), H = W = 32 pixels (ImageFolder: --image_size),
// K classes (10 for CIFAR-10).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "datasets/dataloader.h"
#include "layers/layers.h"
#include "lessons/common/config.h"
#include "lessons/common/finite_loss.h"
#include "lessons/common/progress.h"
#include "optim/optim.h"

namespace ember::cifar {

// ---- settings.cpp ----------------------------------------------------------------------------------
void add_settings(Config& cfg);
// Throws, naming the key, when a value is outside its choices or range.
void check_settings(const Config& cfg);
// The models --model accepts: resnet20 ... resnet110, plain20, plain56, resnet18, cnn.
const std::vector<std::string>& lesson_models();

// ---- data.cpp ----------------------------------------------------------------------------------------
struct LessonData {
  std::string dataset;                   // what was really used: "cifar10", "fashion-fallback" or "folder"
  std::string title;                     // "CIFAR-10", "Fashion-MNIST as 32x32 RGB (fallback)", "folder NAME"
  std::string source;                    // the folder the images came from
  std::vector<std::string> notice;       // the lines said first when the lesson fell back
  std::vector<std::string> class_names;  // class_names[label]
  // Pixels in [0, 1], [N, C, H, W]; val is the last val_fraction of the training files.
  Tensor train_images, train_labels;
  Tensor val_images, val_labels;
  Tensor test_images, test_labels;
  // Per-channel normalisation x -> (x - mean[c]) / std[c] (--normalize=dataset: the training
  // set's statistics; none: mean 0, std 1).
  std::vector<double> mean, std;
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  int64_t channels() const { return test_images.size(1); }
  int64_t height() const { return test_images.size(2); }
  int64_t width() const { return test_images.size(3); }
};

// Loads what the settings ask for: --data=FOLDER (an ImageFolder), else CIFAR-10 from --data_dir,
// else (only when --data_dir is the default) Fashion-MNIST padded to 32x32 RGB, with a notice.
// With split_validation = false (evaluating a checkpoint) only the test images are loaded.
LessonData load_data(const Config& cfg, bool split_validation = true);

// The augmentation the settings ask for, on pixels in [0, 1] (nothing when --augment=false).
Transform augmentation(const Config& cfg);
// augmentation, then normalisation: what the training loader applies to every example.
Transform training_transform(const Config& cfg, const std::vector<double>& mean, const std::vector<double>& std);

// ---- model.cpp ---------------------------------------------------------------------------------------
// The --model with num_classes outputs for in_channels-channel images. `gen` draws the weights.
std::shared_ptr<Module> build_model(const Config& cfg, int64_t num_classes, int64_t in_channels, Generator& gen);
// "ResNet-20", "Plain-56", "ResNet-18", "CNN": the name on the board.
std::string display_name(const std::string& model);
// Layers with weights on the main path (20 for ResNet-20).
int64_t model_depth(const Module& model);
// SGD (momentum, optionally Nesterov) or AdamW; weight decay on conv/linear weights only.
std::unique_ptr<Optimizer> build_optimizer(const Config& cfg, const Module& model);
// The learning rate of step `it` of total_steps: constant, step (divided by 10 at 50% and 75% of the
// run, the paper's recipe), or cosine; each after warmup_steps of linear warmup.
std::function<double(int64_t)> build_schedule(const Config& cfg, int64_t total_steps);

// An exponential moving average of a model's weights (Polyak averaging):
//   ema <- decay * ema + (1 - decay) * weights        after every optimizer step
// The average moves slowly, so the noise of the last SGD steps cancels out; evaluated instead of
// the raw weights it is usually a little better. Buffers (batch norm's running statistics) are
// copied from the model, not averaged.
class WeightAverage {
 public:
  // `shadow` is a second model of the same architecture; it starts as a copy of `model`.
  WeightAverage(Module& model, std::shared_ptr<Module> shadow, double decay);
  void update();          // after an optimizer step
  void copy_buffers();    // before evaluating the average
  Module& model() { return *shadow_; }
  double decay() const { return decay_; }
  // How many updates the average has had (a resumed run continues the count).
  int64_t updates() const { return updates_; }
  void set_updates(int64_t updates) { updates_ = updates; }

 private:
  Module& source_;
  std::shared_ptr<Module> shadow_;
  double decay_;
  int64_t updates_ = 0;
  std::vector<Tensor> source_params_, shadow_params_;
};

// ---- train.cpp ---------------------------------------------------------------------------------------
// Cross-entropy against smoothed targets: the true class gets 1 - eps + eps / K, every class eps / K.
//   loss = (1 - eps) * CE(logits, y) + eps * mean_k(-log_softmax(logits)_k),  mean over the batch
// eps = 0 is the plain cross-entropy. Built from engine ops, so autograd differentiates it.
Tensor smoothed_cross_entropy(const Tensor& logits, const Tensor& labels, double eps);

struct EpochResult {
  double loss = 0.0;      // mean training loss (smoothed, augmented)
  double accuracy = 0.0;  // fraction of the epoch's training images classified right
  int64_t images = 0;
  double step_seconds = 0.0;
};

// One pass over the loader; `ema` (may be null) is updated after every step.
EpochResult train_one_epoch(Module& model, Optimizer& optimizer, DataLoader& loader,
                            const std::function<double(int64_t)>& schedule, double label_smoothing,
                            WeightAverage* ema, int64_t& step, int64_t epoch, LastFiniteLoss& last_finite,
                            Progress& progress);

struct Evaluation {
  double loss = 0.0;  // plain cross-entropy
  double accuracy = 0.0;
  std::vector<int64_t> predictions;
};

// The model in eval mode without a graph over normalised images [N, C, H, W]. With tta, the logits
// are the mean of the image's and its mirror image's (test-time augmentation).
Evaluation evaluate(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size, bool tta,
                    const std::string& set_name);

// ---- report.cpp --------------------------------------------------------------------------------------
using ConfusionMatrix = std::vector<std::vector<int64_t>>;
ConfusionMatrix confusion_matrix(const Tensor& labels, const std::vector<int64_t>& predictions, int64_t num_classes);
std::string format_confusion_matrix(const ConfusionMatrix& matrix, const std::vector<std::string>& class_names);
// Up to max_count misclassified images (pixels in [0, 1]) captioned "true->pred"; returns how many.
int64_t save_misclassified(const std::string& path, const Tensor& images, const Tensor& labels,
                           const std::vector<int64_t>& predictions, const std::vector<std::string>& class_names,
                           int64_t max_count);
// The same `count` training images (a row each): the original, then `draws` draws of the
// augmentation (for the lecture's slide).
void save_augmented(const std::string& path, const Tensor& images, const Transform& augment, int64_t count,
                    int64_t draws, uint64_t seed);

struct EpochRecord {
  int64_t epoch = 0;
  double lr = 0.0;
  double train_loss = 0.0, train_accuracy = 0.0;
  double val_loss = 0.0, val_accuracy = 0.0;
  double seconds = 0.0;
};
void save_curves(const std::string& path, const std::string& title, const std::vector<EpochRecord>& history);
// The paper's Figure 6: training error (1 - train accuracy, dashed lines there) and validation
// error of several models against the epoch, one line each.
void save_comparison(const std::string& path, const std::string& title, const std::vector<std::string>& models,
                     const std::vector<std::vector<EpochRecord>>& histories);

// "score=0.91250, model=ResNet-20"
std::string score_line(double accuracy, const std::string& model);

}  // namespace ember::cifar
