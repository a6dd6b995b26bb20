// What the lesson shows: where the model goes wrong (confusion matrix, misclassified photos), what
// the augmentation does (augmented.png), how training went (curves.png), and the plain-vs-ResNet
// comparison (compare.png, the paper's Figure 6).
#include <algorithm>
#include <cstdio>

#include "lessons/common/image_io.h"
#include "lessons/common/plot.h"
#include "lessons/cifar/lesson.h"

namespace ember::cifar {

ConfusionMatrix confusion_matrix(const Tensor& labels, const std::vector<int64_t>& predictions, int64_t num_classes) {
  check(labels.numel() == static_cast<int64_t>(predictions.size()), "confusion_matrix: ", labels.numel(),
        " labels but ", predictions.size(), " predictions");
  ConfusionMatrix matrix(num_classes, std::vector<int64_t>(num_classes, 0));
  const int64_t* truth = labels.data<int64_t>();
  for (size_t i = 0; i < predictions.size(); ++i) {
    check(truth[i] >= 0 && truth[i] < num_classes && predictions[i] >= 0 && predictions[i] < num_classes,
          "confusion_matrix: example ", i, " has label ", truth[i], " and prediction ", predictions[i],
          ", outside 0..", num_classes - 1);
    ++matrix[truth[i]][predictions[i]];
  }
  return matrix;
}

std::string format_confusion_matrix(const ConfusionMatrix& matrix, const std::vector<std::string>& class_names) {
  // Rows "3 cat"; columns by number only, to keep the table narrow.
  std::vector<std::string> row_labels;
  size_t label_width = 0;
  for (size_t k = 0; k < matrix.size(); ++k) {
    row_labels.push_back(std::to_string(k) + " " + class_names.at(k));
    label_width = std::max(label_width, row_labels.back().size());
  }
  int64_t largest = 0;
  for (const auto& row : matrix) largest = std::max(largest, *std::max_element(row.begin(), row.end()));
  const size_t cell = std::max<size_t>(4, std::to_string(largest).size() + 1);
  auto pad_left = [](const std::string& text, size_t width) {
    return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
  };
  std::string table = "confusion matrix (rows: true class, columns: predicted class)\n";
  table += std::string(label_width + 2, ' ');
  for (size_t k = 0; k < matrix.size(); ++k) table += pad_left(std::to_string(k), cell);
  table += "   accuracy\n";
  for (size_t t = 0; t < matrix.size(); ++t) {
    table += "  " + row_labels[t] + std::string(label_width - row_labels[t].size(), ' ');
    int64_t total = 0;
    for (size_t p = 0; p < matrix.size(); ++p) {
      table += pad_left(std::to_string(matrix[t][p]), cell);
      total += matrix[t][p];
    }
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%11.3f", total > 0 ? static_cast<double>(matrix[t][t]) / total : 0.0);
    table += std::string(accuracy) + "\n";
  }
  return table;
}

namespace {

GridTile image_tile(const Tensor& image, const std::string& caption) {  // image [C, H, W] in [0, 1]
  return tile_from_floats(image.data<float>(), static_cast<int>(image.size(0)), static_cast<int>(image.size(1)),
                          static_cast<int>(image.size(2)), caption);
}

}  // namespace

int64_t save_misclassified(const std::string& path, const Tensor& images, const Tensor& labels,
                           const std::vector<int64_t>& predictions, const std::vector<std::string>& class_names,
                           int64_t max_count) {
  const int64_t* truth = labels.data<int64_t>();
  std::vector<GridTile> tiles;
  for (size_t i = 0; i < predictions.size() && static_cast<int64_t>(tiles.size()) < max_count; ++i) {
    if (predictions[i] == truth[i]) continue;
    tiles.push_back(image_tile(images.slice(0, static_cast<int64_t>(i), static_cast<int64_t>(i) + 1).squeeze(0),
                               class_names.at(truth[i]) + "->" + class_names.at(predictions[i])));
  }
  if (!tiles.empty()) save_image_grid(path, tiles, /*columns=*/6, /*scale=*/3);
  return static_cast<int64_t>(tiles.size());
}

void save_augmented(const std::string& path, const Tensor& images, const Transform& augment, int64_t count,
                    int64_t draws, uint64_t seed) {
  std::vector<GridTile> tiles;
  Generator gen(seed);
  count = std::min(count, images.size(0));
  for (int64_t i = 0; i < count; ++i) {
    const Tensor image = images.slice(0, i, i + 1).squeeze(0);
    tiles.push_back(image_tile(image, "original"));
    for (int64_t d = 1; d <= draws; ++d) tiles.push_back(image_tile(augment(image, gen), "draw " + std::to_string(d)));
  }
  if (!tiles.empty()) save_image_grid(path, tiles, static_cast<int>(draws + 1), /*scale=*/3);
}

void save_curves(const std::string& path, const std::string& title, const std::vector<EpochRecord>& history) {
  std::vector<double> epochs, train_loss, val_loss, train_accuracy, val_accuracy;
  for (const EpochRecord& r : history) {
    epochs.push_back(static_cast<double>(r.epoch));
    train_loss.push_back(r.train_loss);
    val_loss.push_back(r.val_loss);
    train_accuracy.push_back(r.train_accuracy);
    val_accuracy.push_back(r.val_accuracy);
  }
  LinePlot loss("loss", "epoch", "cross-entropy");
  loss.add_series("train", epochs, train_loss).add_series("validation", epochs, val_loss);
  LinePlot accuracy("accuracy", "epoch", "fraction right");
  accuracy.add_series("train (augmented)", epochs, train_accuracy).add_series("validation", epochs, val_accuracy);
  save_learning_curves(path, title, {loss, accuracy});
}

void save_comparison(const std::string& path, const std::string& title, const std::vector<std::string>& models,
                     const std::vector<std::vector<EpochRecord>>& histories) {
  LinePlot train("training error", "epoch", "1 - training accuracy");
  LinePlot val("validation error", "epoch", "1 - validation accuracy");
  for (size_t m = 0; m < models.size(); ++m) {
    std::vector<double> epochs, train_error, val_error;
    for (const EpochRecord& r : histories.at(m)) {
      epochs.push_back(static_cast<double>(r.epoch));
      train_error.push_back(1.0 - r.train_accuracy);
      val_error.push_back(1.0 - r.val_accuracy);
    }
    train.add_series(display_name(models[m]), epochs, train_error, series_color(m));
    val.add_series(display_name(models[m]), epochs, val_error, series_color(m));
  }
  save_learning_curves(path, title, {train, val}, 1100, 450);
}

std::string score_line(double accuracy, const std::string& model) {
  char score[32];
  std::snprintf(score, sizeof score, "%.5f", accuracy);
  return "score=" + std::string(score) + ", model=" + display_name(model);
}

}  // namespace ember::cifar
