// What the lesson shows after training: where the model goes wrong, and how training went.
//
// The confusion matrix counts, for every true class (row), which class the model predicted
// (column): the diagonal holds the right answers, and the largest numbers off it show which
// classes look alike to the model (4 and 9 among digits; shirt, T-shirt and pullover among clothes).
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "lessons/common/image_io.h"
#include "lessons/common/plot.h"
#include "lessons/mnist/lesson.h"

namespace ember::mnist {

ConfusionMatrix confusion_matrix(const Tensor& labels, const std::vector<int64_t>& predictions, int64_t num_classes) {
  check(labels.numel() == static_cast<int64_t>(predictions.size()), "confusion_matrix: ", labels.numel(),
        " labels but ", predictions.size(), " predictions");
  ConfusionMatrix matrix(num_classes, std::vector<int64_t>(num_classes, 0));
  const int64_t* truth = labels.data<int64_t>();
  for (size_t i = 0; i < predictions.size(); ++i) {
    check(truth[i] >= 0 && truth[i] < num_classes && predictions[i] >= 0 && predictions[i] < num_classes,
          "confusion_matrix: example ", i, " has label ", truth[i], " and prediction ", predictions[i], ", outside 0..",
          num_classes - 1);
    ++matrix[truth[i]][predictions[i]];
  }
  return matrix;
}

std::string format_confusion_matrix(const ConfusionMatrix& matrix, const std::vector<std::string>& class_names) {
  // Rows are labelled "3 Dress" (digits just "3"); columns by the class number alone, to keep the
  // table narrow.
  std::vector<std::string> row_labels;
  size_t label_width = 0;
  for (size_t k = 0; k < matrix.size(); ++k) {
    const std::string number = std::to_string(k);
    row_labels.push_back(class_names.at(k) == number ? number : number + " " + class_names.at(k));
    label_width = std::max(label_width, row_labels.back().size());
  }
  int64_t largest = 0;
  for (const auto& row : matrix) largest = std::max(largest, *std::max_element(row.begin(), row.end()));
  const int cell = std::max<int>(4, static_cast<int>(std::to_string(largest).size()) + 1);

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

int64_t save_misclassified(const std::string& path, const Tensor& images, const Tensor& labels,
                           const std::vector<int64_t>& predictions, const std::vector<std::string>& class_names,
                           int64_t max_count) {
  const int64_t* truth = labels.data<int64_t>();
  const int64_t height = images.size(2), width = images.size(3);
  std::vector<GridTile> tiles;
  for (size_t i = 0; i < predictions.size() && static_cast<int64_t>(tiles.size()) < max_count; ++i) {
    if (predictions[i] == truth[i]) continue;
    const float* pixels = images.data<float>() + i * height * width;  // pixels in [0, 1]
    tiles.push_back(tile_from_floats(pixels, 1, static_cast<int>(height), static_cast<int>(width),
                                     class_names.at(truth[i]) + "->" + class_names.at(predictions[i])));
  }
  if (!tiles.empty()) save_image_grid(path, tiles, /*columns=*/9, /*scale=*/2);
  return static_cast<int64_t>(tiles.size());
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
  accuracy.add_series("train", epochs, train_accuracy).add_series("validation", epochs, val_accuracy);
  save_learning_curves(path, title, {loss, accuracy});
}

std::string score_line(double accuracy, const std::string& model) {
  std::string name = model;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  char score[32];
  std::snprintf(score, sizeof score, "%.5f", accuracy);
  return "score=" + std::string(score) + ", model=" + name;
}

}  // namespace ember::mnist
