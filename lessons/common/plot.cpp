#include "lessons/common/plot.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "lessons/common/font5x7.h"
#include "lessons/common/ticks.h"

namespace ember {

namespace {

// A title in the largest scale, up to `preferred`, at which it fits `max_width` pixels; where it does
// not fit even at scale 1, cut short with "..." (a long title was clipped at both sides of the picture).
struct FittedText {
  std::string text;
  int scale;
};

FittedText fit_text(const std::string& text, int max_width, int preferred) {
  for (int scale = preferred; scale >= 1; --scale)
    if (text_width(text, scale) <= max_width) return {text, scale};
  std::string cut = text;
  while (!cut.empty() && text_width(cut + "...", 1) > max_width) cut.pop_back();
  return {cut + "...", 1};
}

}  // namespace

Color series_color(size_t index) {
  static const Color palette[] = {
      {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
      {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return palette[index % (sizeof(palette) / sizeof(palette[0]))];
}

LinePlot::LinePlot(std::string title, std::string x_label, std::string y_label)
    : title_(std::move(title)), x_label_(std::move(x_label)), y_label_(std::move(y_label)) {}

LinePlot& LinePlot::set_title(std::string title) {
  title_ = std::move(title);
  return *this;
}

LinePlot& LinePlot::set_x_label(std::string label) {
  x_label_ = std::move(label);
  return *this;
}

LinePlot& LinePlot::set_y_label(std::string label) {
  y_label_ = std::move(label);
  return *this;
}

LinePlot& LinePlot::set_log_y(bool on) {
  log_y_ = on;
  return *this;
}

LinePlot& LinePlot::add_series(const std::string& name, const std::vector<double>& x,
                               const std::vector<double>& y) {
  return add_series(name, x, y, series_color(series_.size()));
}

LinePlot& LinePlot::add_series(const std::string& name, const std::vector<double>& x,
                               const std::vector<double>& y, Color color) {
  check(x.size() == y.size(), "LinePlot: series '", name, "' has ", x.size(), " x values but ",
        y.size(), " y values");
  series_.push_back(Series{name, x, y, color});
  return *this;
}

namespace {

const Color kText{40, 40, 40};
const Color kFrame{110, 110, 110};
const Color kGrid{228, 228, 228};
const Color kLegendBorder{200, 200, 200};
const double kLineWidth = 2.0;
const double kDotRadius = 3.0;
const size_t kMaxPointsWithDots = 30;

// A closed interval of axis units (log10(y) on a log axis).
struct Range {
  double low = 0, high = 0;
};

// Widens an empty range (one value, or no data) so that it can be drawn.
Range widen_if_empty(Range range, bool have_data) {
  if (!have_data) return {0, 1};
  if (range.high > range.low) return range;
  double half = range.low != 0 ? std::fabs(range.low) * 0.1 : 1.0;
  return {range.low - half, range.high + half};
}

// The rectangle of the plotting area, in pixels.
struct Area {
  int x, y, width, height;
};

}  // namespace

void LinePlot::draw(Canvas& canvas, int left, int top, int width, int height) const {
  // ---- 1. the data ranges, in axis units --------------------------------------------------------
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!log_y_ || y > 0);
  };
  auto y_unit = [&](double y) { return log_y_ ? std::log10(y) : y; };

  Range xr{INFINITY, -INFINITY}, yr{INFINITY, -INFINITY};
  bool have_data = false;
  bool whole_x = true;  // x values like epochs 1, 2, 3 get whole-number ticks
  for (const Series& s : series_) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      have_data = true;
      whole_x = whole_x && s.x[i] == std::round(s.x[i]);
      xr = {std::min(xr.low, s.x[i]), std::max(xr.high, s.x[i])};
      yr = {std::min(yr.low, y_unit(s.y[i])), std::max(yr.high, y_unit(s.y[i]))};
    }
  }
  xr = widen_if_empty(xr, have_data);
  yr = widen_if_empty(yr, have_data);
  // A little air above and below the curves, and at the ends for the dots.
  double y_pad = (yr.high - yr.low) * 0.05, x_pad = (xr.high - xr.low) * 0.02;
  yr = {yr.low - y_pad, yr.high + y_pad};
  xr = {xr.low - x_pad, xr.high + x_pad};

  // ---- 2. layout --------------------------------------------------------------------------------
  const int pad = 10, tick_length = 4, label_gap = 6;
  const FittedText title = fit_text(title_, width - 2 * pad, 2);
  int area_top = top + pad + (title_.empty() ? 4 : text_height(title.scale) + 10);
  int area_bottom = top + height - pad - text_height() - tick_length - label_gap -
                    (x_label_.empty() ? 0 : text_height() + label_gap);
  int area_height = std::max(10, area_bottom - area_top);

  // About one y tick per 50 pixels; the ticks decide how wide the y labels are.
  const int y_target = std::max(2, area_height / 50);
  std::vector<Tick> y_ticks = log_y_ ? log_ticks(std::pow(10.0, yr.low), std::pow(10.0, yr.high),
                                                 y_target)
                                     : linear_ticks(yr.low, yr.high, y_target);
  int y_label_width = 0;
  for (const Tick& tick : y_ticks) y_label_width = std::max(y_label_width, text_width(tick.label));

  int area_left = left + pad + (y_label_.empty() ? 0 : text_height() + label_gap) +
                  y_label_width + tick_length + label_gap;
  // Room on the right for half of the last x label, which is centred on the right edge.
  int area_right = left + width - pad - 14;
  Area area{area_left, area_top, std::max(10, area_right - area_left), area_height};
  std::vector<Tick> x_ticks = linear_ticks(xr.low, xr.high, std::max(2, area.width / 70), whole_x);

  // Axis units -> pixel coordinates. Pixel column area.x holds the left edge of the frame.
  auto to_px = [&](double x) {
    return area.x + 0.5 + (x - xr.low) / (xr.high - xr.low) * area.width;
  };
  auto to_py = [&](double y_units) {
    return area.y + 0.5 + (yr.high - y_units) / (yr.high - yr.low) * area.height;
  };

  // ---- 3. grid, frame and ticks -----------------------------------------------------------------
  for (const Tick& tick : y_ticks) {
    int py = static_cast<int>(std::floor(to_py(y_unit(tick.value))));
    canvas.fill_rect(area.x, py, area.width, 1, kGrid);
    canvas.fill_rect(area.x - tick_length, py, tick_length, 1, kFrame);
    canvas.draw_text(area.x - tick_length - label_gap + 1 - text_width(tick.label),
                     py - kGlyphAscent / 2, tick.label, kText);
  }
  for (const Tick& tick : x_ticks) {
    int px = static_cast<int>(std::floor(to_px(tick.value)));
    canvas.fill_rect(px, area.y, 1, area.height, kGrid);
    canvas.fill_rect(px, area.y + area.height + 1, 1, tick_length, kFrame);
    canvas.draw_text(px - text_width(tick.label) / 2, area.y + area.height + tick_length + 4,
                     tick.label, kText);
  }
  canvas.draw_rect(area.x, area.y, area.width + 1, area.height + 1, kFrame);

  // ---- 4. titles and axis labels ----------------------------------------------------------------
  int center_x = area.x + area.width / 2;
  if (!title_.empty()) {
    // centred over the plot area, but kept inside the panel's rectangle
    const int title_width = text_width(title.text, title.scale);
    const int title_x = std::clamp(center_x - title_width / 2, left + pad, std::max(left + pad, left + width - pad - title_width));
    canvas.draw_text(title_x, top + pad, title.text, kText, title.scale);
  }
  if (!x_label_.empty()) {
    canvas.draw_text(center_x - text_width(x_label_) / 2, top + height - pad - text_height(),
                     x_label_, kText);
  }
  if (!y_label_.empty()) {
    canvas.draw_text_up(left + pad, area.y + area.height / 2 - text_width(y_label_) / 2,
                        y_label_, kText);
  }

  // ---- 5. the series, clipped to the plotting area ----------------------------------------------
  canvas.set_clip(area.x + 1, area.y + 1, area.width - 1, area.height - 1);
  for (const Series& s : series_) {
    std::vector<Point> run;  // consecutive usable points: one unbroken line
    std::vector<Point> all;
    for (size_t i = 0; i <= s.x.size(); ++i) {
      if (i < s.x.size() && usable(s.x[i], s.y[i])) {
        run.push_back({to_px(s.x[i]), to_py(y_unit(s.y[i]))});
        all.push_back(run.back());
        continue;
      }
      if (run.size() >= 2) canvas.draw_polyline(run, s.color, kLineWidth);
      run.clear();
    }
    if (all.size() <= kMaxPointsWithDots) {
      for (const Point& p : all) canvas.fill_circle(p, kDotRadius, s.color);
    }
  }
  canvas.clear_clip();

  // ---- 6. the legend, in the emptiest corner ----------------------------------------------------
  std::vector<const Series*> named;
  int longest_name = 0;
  for (const Series& s : series_) {
    if (s.name.empty()) continue;
    named.push_back(&s);
    longest_name = std::max(longest_name, text_width(s.name));
  }
  if (named.empty()) return;
  const int row_height = 14, sample_length = 18, inner = 7, margin = 8;
  int box_width = inner + sample_length + 6 + longest_name + inner;
  int box_height = inner + static_cast<int>(named.size()) * row_height - 4 + inner;

  // Candidate corners in order of preference; the first with the fewest curve points inside wins.
  const Point corners[] = {
      {double(area.x + area.width - margin - box_width), double(area.y + margin)},
      {double(area.x + area.width - margin - box_width),
       double(area.y + area.height - margin - box_height)},
      {double(area.x + margin), double(area.y + margin)},
      {double(area.x + margin), double(area.y + area.height - margin - box_height)}};
  Point best = corners[0];
  size_t best_count = SIZE_MAX;
  for (const Point& corner : corners) {
    size_t count = 0;
    for (const Series& s : series_) {
      // Sample each segment, not just the points, so a long straight line also counts.
      for (size_t i = 0; i < s.x.size(); ++i) {
        size_t j = std::min(i + 1, s.x.size() - 1);  // the last point pairs with itself
        if (!usable(s.x[i], s.y[i]) || !usable(s.x[j], s.y[j])) continue;
        for (int k = 0; k < 8; ++k) {
          double t = k / 8.0;
          double px = to_px(s.x[i] + t * (s.x[j] - s.x[i]));
          double py = to_py(y_unit(s.y[i]) + t * (y_unit(s.y[j]) - y_unit(s.y[i])));
          bool inside = px >= corner.x - 4 && px <= corner.x + box_width + 4 &&
                        py >= corner.y - 4 && py <= corner.y + box_height + 4;
          count += inside ? 1 : 0;
        }
      }
    }
    if (count < best_count) {
      best_count = count;
      best = corner;
    }
  }

  int bx = static_cast<int>(best.x), by = static_cast<int>(best.y);
  canvas.fill_rect(bx, by, box_width, box_height, Color{255, 255, 255});
  canvas.draw_rect(bx, by, box_width, box_height, kLegendBorder);
  for (size_t i = 0; i < named.size(); ++i) {
    int row_y = by + inner + static_cast<int>(i) * row_height;
    double line_y = row_y + kGlyphAscent / 2 + 0.5;
    canvas.draw_line({bx + inner + 0.0, line_y}, {bx + inner + sample_length + 0.0, line_y},
                     named[i]->color, kLineWidth);
    canvas.draw_text(bx + inner + sample_length + 6, row_y, named[i]->name, kText);
  }
}

void LinePlot::save(const std::string& path, int width, int height) const {
  Canvas canvas(width, height);
  draw(canvas, 0, 0, width, height);
  canvas.save_png(path);
}

void save_learning_curves(const std::string& path, const std::string& title,
                          const std::vector<LinePlot>& panels, int width, int height) {
  check(!panels.empty(), "save_learning_curves: '", path, "': there are no panels");
  Canvas canvas(width, height);
  int top = 0;
  if (!title.empty()) {
    const FittedText fitted = fit_text(title, width - 20, 2);
    canvas.draw_text(width / 2 - text_width(fitted.text, fitted.scale) / 2, 10, fitted.text, kText, fitted.scale);
    top = 10 + text_height(fitted.scale);
  }
  const int count = static_cast<int>(panels.size());
  for (int i = 0; i < count; ++i) {
    int x0 = width * i / count, x1 = width * (i + 1) / count;
    panels[i].draw(canvas, x0, top, x1 - x0, height - top);
  }
  canvas.save_png(path);
}

}  // namespace ember
