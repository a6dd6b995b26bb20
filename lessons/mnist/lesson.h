#pragma once
// The MNIST lesson, one concern per file; main.cpp tells the story in order.
//
//   settings.cpp  every --key with its default and meaning (./run.sh mnist --help lists them)
//   data.cpp      the digits (or Fashion-MNIST), the train/validation split, normalisation and
//                 augmentation
//   model.cpp     the MLP and the CNN, the optimizer and the learning-rate schedule
//   train.cpp     one epoch of training; evaluating on a held-out set
//   report.cpp    the confusion matrix, the misclassified examples, the learning curves
//
// Shapes: N images, 1 grey channel, 28x28 pixels, K = 10 classes.
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

namespace ember::mnist {

// ---- settings.cpp ----------------------------------------------------------------------------------
// Registers every key of the lesson with its default.
void add_settings(Config& cfg);
// Throws when a key has a value outside its choices (--model=resnet, --epochs=0).
void check_settings(const Config& cfg);

// ---- data.cpp ----------------------------------------------------------------------------------------
struct LessonData {
  std::string dataset;                   // what was really used: "mnist" or "fashion"
  std::string title;                     // "MNIST" or "Fashion-MNIST", for plots and tables
  std::string folder;                    // where the IDX files were read from
  std::vector<std::string> class_names;  // class_names[label]
  // Pixels in [0, 1], as stored. Train and val are the two parts of the files' training split.
  Tensor train_images, train_labels;     // [N_train, 1, 28, 28], int64 [N_train]
  Tensor val_images, val_labels;         // the last val_fraction of the training files
  Tensor test_images, test_labels;       // the test files: looked at once, at the very end
  // Normalisation: x -> (x - mean) / std with the mean and spread of the training pixels.
  double mean = 0.0, std = 1.0;
};

// Loads the dataset the settings ask for. dataset=mnist without digits in the default data_dir
// falls back to Fashion-MNIST and prints a notice saying so; a data_dir the user chose that lacks
// the files is an error naming the folder and the files. A split without images is an error too.
// With split_validation = false (evaluating a checkpoint) the training files are not read at all.
LessonData load_data(const Config& cfg, bool split_validation = true);

// What the training loader applies to every example: the augmentation the settings ask for (on
// pixels in [0, 1]), then normalisation.
Transform training_transform(const Config& cfg, double mean, double std);

// ---- model.cpp ---------------------------------------------------------------------------------------
// --model=mlp or cnn, with batch norm and dropout as the settings say. `gen` draws the initial
// weights and the dropout masks, so it must outlive the model.
std::shared_ptr<Sequential> build_model(const Config& cfg, Generator& gen);
// SGD (with momentum) or AdamW; weight decay only on weights of 2 or more dimensions.
std::unique_ptr<Optimizer> build_optimizer(const Config& cfg, const Module& model);
// The learning rate of step `it` (0-based) of `total_steps`: constant, or warmup then cosine.
std::function<double(int64_t)> build_schedule(const Config& cfg, int64_t total_steps);

// ---- train.cpp ---------------------------------------------------------------------------------------
struct EpochResult {
  double loss = 0.0;           // mean cross-entropy over the epoch's batches (augmented, dropout on)
  double accuracy = 0.0;       // fraction of the epoch's training images classified right
  int64_t images = 0;          // images trained on
  double step_seconds = 0.0;   // time in training steps (data loading, forward, backward, update)
};

// One pass over the loader: forward, loss, backward, optimizer step, for every batch. `step`
// counts optimizer steps over the whole run (the schedule's clock) and is advanced. A loss that
// becomes NaN or infinite stops the run with an error naming the step and `epoch` (from 1) and the
// last finite loss, which `last_finite` remembers from batch to batch. With a graph_path, the first
// batch's autograd graph is written there (core/graph_dump.h) before backward() frees it.
EpochResult train_one_epoch(Module& model, Optimizer& optimizer, DataLoader& loader,
                            const std::function<double(int64_t)>& schedule, int64_t& step, int64_t epoch,
                            LastFiniteLoss& last_finite, Progress& progress, const std::string& graph_path = "");

struct Evaluation {
  double loss = 0.0;
  double accuracy = 0.0;
  std::vector<int64_t> predictions;  // the predicted class of every example, in order
};

// The model in eval mode, without a graph, over normalised images [N, 1, 28, 28] in batches.
// Leaves the model in eval mode. `set_name` ("validation", "test") names an empty set in the error.
Evaluation evaluate(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size,
                    const std::string& set_name);

// ---- report.cpp --------------------------------------------------------------------------------------
// counts[true class][predicted class]
using ConfusionMatrix = std::vector<std::vector<int64_t>>;
ConfusionMatrix confusion_matrix(const Tensor& labels, const std::vector<int64_t>& predictions,
                                 int64_t num_classes);
// The matrix as a table with the class names and each class's accuracy (recall).
std::string format_confusion_matrix(const ConfusionMatrix& matrix, const std::vector<std::string>& class_names);
// Up to max_count misclassified images as a PNG grid captioned "true->pred"; returns how many.
int64_t save_misclassified(const std::string& path, const Tensor& images, const Tensor& labels,
                           const std::vector<int64_t>& predictions, const std::vector<std::string>& class_names,
                           int64_t max_count);

struct EpochRecord {
  int64_t epoch = 0;  // from 1
  double lr = 0.0;    // at the end of the epoch
  double train_loss = 0.0, train_accuracy = 0.0;
  double val_loss = 0.0, val_accuracy = 0.0;
  double seconds = 0.0;  // since training started
};
// curves.png: loss and accuracy per epoch, train and validation.
void save_curves(const std::string& path, const std::string& title, const std::vector<EpochRecord>& history);

// The board's line: "score=0.99123, model=CNN".
std::string score_line(double accuracy, const std::string& model);

}  // namespace ember::mnist
