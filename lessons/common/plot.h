#pragma once
// LinePlot: line charts saved as PNG, for learning curves and similar plots.
//
//   LinePlot loss("loss", "step", "cross-entropy");
//   loss.add_series("train", steps, train_loss).add_series("val", eval_steps, val_loss);
//   loss.save("runs/mnist/loss.png");
//
//   LinePlot accuracy("accuracy", "epoch", "");
//   ...
//   save_learning_curves("runs/mnist/curves.png", "MNIST MLP", {loss, accuracy});
//
// Each series gets its own colour and a line in the legend; the legend goes into whichever
// corner of the chart has the least data in it. Axes get round tick values; set_log_y() shows
// the y axis on a log scale (for losses that fall over several orders of magnitude). Points that
// are not finite (a NaN loss), or not positive on a log axis, are left out and break the line.
// Series with few points (up to 30) also get a dot at every point, so that an evaluation done
// once per epoch is visible even as a single point.
#include <string>
#include <vector>

#include "lessons/common/canvas.h"

namespace ember {

struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  Color color;
};

// The colours given to series 0, 1, 2, ...: blue, orange, green, red, purple, brown, pink, grey,
// olive, cyan (then around again) - distinct from one another and readable on white.
Color series_color(size_t index);

class LinePlot {
 public:
  explicit LinePlot(std::string title = "", std::string x_label = "", std::string y_label = "");

  LinePlot& set_title(std::string title);
  LinePlot& set_x_label(std::string label);
  LinePlot& set_y_label(std::string label);
  LinePlot& set_log_y(bool on = true);

  // x and y must have the same length. Without a colour, the next colour of series_color().
  LinePlot& add_series(const std::string& name, const std::vector<double>& x,
                       const std::vector<double>& y);
  LinePlot& add_series(const std::string& name, const std::vector<double>& x,
                       const std::vector<double>& y, Color color);

  const std::string& title() const { return title_; }
  const std::vector<Series>& series() const { return series_; }

  // Draws the chart (title, axes, ticks, labels, lines, legend) into the given rectangle.
  void draw(Canvas& canvas, int left, int top, int width, int height) const;

  // Draws the chart alone into a width x height PNG.
  void save(const std::string& path, int width = 900, int height = 400) const;

 private:
  std::string title_, x_label_, y_label_;
  bool log_y_ = false;
  std::vector<Series> series_;
};

// One PNG with the panels side by side (usually two: loss and accuracy) under a common title
// ("" for none).
void save_learning_curves(const std::string& path, const std::string& title,
                          const std::vector<LinePlot>& panels, int width = 900, int height = 400);

}  // namespace ember
