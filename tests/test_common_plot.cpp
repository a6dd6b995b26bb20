// Tests of lessons/common/{plot,ticks,canvas,font5x7}: charts rendered to PNG.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "lessons/common/canvas.h"
#include "lessons/common/font5x7.h"
#include "core/fs.h"
#include "lessons/common/image_io.h"
#include "lessons/common/plot.h"
#include "lessons/common/ticks.h"

#ifndef EMBER_TEST_TMP
#define EMBER_TEST_TMP "/tmp/ember_test_tmp"
#endif

using ember::Color;
using ember::LinePlot;

namespace test_common_plot {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch(const std::string& name) {
  std::string folder = std::string(EMBER_TEST_TMP) + "/common_plot";
  ember::make_dirs(folder);
  return folder + "/" + name;
}

std::vector<double> tick_values(const std::vector<ember::Tick>& ticks) {
  std::vector<double> values;
  for (const ember::Tick& tick : ticks) values.push_back(tick.value);
  return values;
}

std::vector<std::string> tick_labels(const std::vector<ember::Tick>& ticks) {
  std::vector<std::string> labels;
  for (const ember::Tick& tick : ticks) labels.push_back(tick.label);
  return labels;
}

// Pixels of an RGB image within `tolerance` of `color` (per channel), counted in columns
// [x0, x1).
int count_color(const ember::Image& image, Color color, int x0, int x1, int tolerance = 10) {
  int count = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = x0; x < x1; ++x) {
      const uint8_t* p = &image.pixels[(static_cast<size_t>(y) * image.width + x) * 3];
      if (std::abs(p[0] - color.r) <= tolerance && std::abs(p[1] - color.g) <= tolerance &&
          std::abs(p[2] - color.b) <= tolerance) {
        ++count;
      }
    }
  }
  return count;
}

// A typical loss curve: falling, with a little wobble.
void loss_curve(std::vector<double>& steps, std::vector<double>& loss) {
  for (int i = 0; i <= 2000; i += 10) {
    steps.push_back(i);
    loss.push_back(2.3 * std::exp(-i / 400.0) + 0.3 + 0.02 * std::sin(i * 0.37));
  }
}

// ---- ticks ------------------------------------------------------------------------------------

TEST(CommonTicks, NiceSteps) {
  EXPECT_DOUBLE_EQ(ember::nice_step(1.0, 5), 0.2);
  EXPECT_DOUBLE_EQ(ember::nice_step(5000, 6), 1000);
  EXPECT_DOUBLE_EQ(ember::nice_step(0.137, 6), 0.02);
  EXPECT_DOUBLE_EQ(ember::nice_step(9.2, 6), 2);
  EXPECT_DOUBLE_EQ(ember::nice_step(100, 2), 50);
  EXPECT_THROW(ember::nice_step(0, 5), ember::Error);
}

TEST(CommonTicks, LinearTicksAreRoundAndInsideTheRange) {
  auto ticks = ember::linear_ticks(0, 1, 5);
  EXPECT_EQ(tick_labels(ticks),
            (std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  EXPECT_DOUBLE_EQ(ticks[3].value, 0.6);

  auto steps = ember::linear_ticks(-100, 5100, 6);
  EXPECT_EQ(tick_labels(steps),
            (std::vector<std::string>{"0", "1000", "2000", "3000", "4000", "5000"}));

  auto accuracy = ember::linear_ticks(0.855, 1.005, 6);
  EXPECT_EQ(tick_labels(accuracy).front(), "0.86");
  EXPECT_EQ(tick_labels(accuracy).back(), "1.00");

  auto negative = ember::linear_ticks(-1.05, 1.05, 4);
  EXPECT_EQ(tick_labels(negative), (std::vector<std::string>{"-1.0", "-0.5", "0.0", "0.5", "1.0"}));

  // A narrow range still gets at least two ticks.
  auto narrow = ember::linear_ticks(0.501, 0.509, 2);
  EXPECT_GE(narrow.size(), 2u);
  for (double v : tick_values(narrow)) {
    EXPECT_GE(v, 0.501);
    EXPECT_LE(v, 0.509);
  }
  // Whole numbers (epochs): no 1.5 between 1 and 2.
  EXPECT_EQ(tick_labels(ember::linear_ticks(0.96, 3.04, 6, true)),
            (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_THROW(ember::linear_ticks(1, 1, 5), ember::Error);
}

TEST(CommonTicks, LogTicks) {
  EXPECT_EQ(tick_labels(ember::log_ticks(0.005, 20, 6)),
            (std::vector<std::string>{"0.01", "0.1", "1", "10"}));
  EXPECT_EQ(tick_labels(ember::log_ticks(0.15, 6, 6)),
            (std::vector<std::string>{"0.2", "0.5", "1", "2", "5"}));
  EXPECT_EQ(tick_labels(ember::log_ticks(0.75, 3.5, 6)),
            (std::vector<std::string>{"0.8", "0.9", "1", "2", "3"}));
  // Ten decades: every other (or every third) power so the labels do not crowd.
  EXPECT_EQ(tick_labels(ember::log_ticks(1e-8, 1e2, 6)),
            (std::vector<std::string>{"1e-08", "1e-06", "0.0001", "0.01", "1", "100"}));
  EXPECT_EQ(tick_labels(ember::log_ticks(1e-8, 1e2, 4)),
            (std::vector<std::string>{"1e-06", "0.001", "1"}));
  EXPECT_THROW(ember::log_ticks(0, 1, 5), ember::Error);
}

TEST(CommonTicks, Labels) {
  EXPECT_EQ(ember::tick_label(0.5, 0.25), "0.50");
  EXPECT_EQ(ember::tick_label(2.5, 2.5), "2.5");
  EXPECT_EQ(ember::tick_label(1500, 500), "1500");
  EXPECT_EQ(ember::tick_label(-1e-17, 0.1), "0.0");
  EXPECT_EQ(ember::tick_label(2e6, 1e6), "2e+06");
}

// ---- font and canvas ----------------------------------------------------------------------------

TEST(CommonFont, GlyphsAndSizes) {
  // 'T': a full top bar, then a single middle column.
  for (int column = 0; column < ember::kGlyphWidth; ++column) {
    EXPECT_TRUE(ember::glyph_pixel('T', 0, column));
  }
  EXPECT_TRUE(ember::glyph_pixel('T', 6, 2));
  EXPECT_FALSE(ember::glyph_pixel('T', 6, 0));
  EXPECT_FALSE(ember::glyph_pixel('T', 7, 2));   // no descender
  EXPECT_TRUE(ember::glyph_pixel('g', 8, 1));    // g has one
  EXPECT_FALSE(ember::glyph_pixel(' ', 3, 2));
  EXPECT_FALSE(ember::glyph_pixel('T', -1, 0));  // outside the glyph: no ink
  // Every printable character except space has ink, and no two look the same.
  std::set<std::string> seen;
  for (int c = 33; c <= 126; ++c) {
    std::string bits;
    for (int row = 0; row < ember::kGlyphHeight; ++row) {
      for (int column = 0; column < ember::kGlyphWidth; ++column) {
        bits += ember::glyph_pixel(static_cast<char>(c), row, column) ? '#' : '.';
      }
    }
    EXPECT_NE(bits.find('#'), std::string::npos) << "glyph " << static_cast<char>(c);
    EXPECT_TRUE(seen.insert(bits).second) << "glyph " << static_cast<char>(c) << " is a duplicate";
  }
  // Unknown characters are drawn as '?'.
  for (int row = 0; row < ember::kGlyphHeight; ++row) {
    EXPECT_EQ(ember::glyph_pixel('\x01', row, 1), ember::glyph_pixel('?', row, 1));
  }
  EXPECT_EQ(ember::text_width("abc"), 17);
  EXPECT_EQ(ember::text_width("abc", 2), 34);
  EXPECT_EQ(ember::text_width(""), 0);
  EXPECT_EQ(ember::text_height(2), 18);
}

TEST(CommonCanvas, TextLinesAndClipping) {
  const Color black{0, 0, 0}, red{255, 0, 0};
  ember::Canvas across(40, 40), up(40, 40);
  across.draw_text(2, 2, "Hi", black);
  up.draw_text_up(2, 2, "Hi", black);
  int ink_across = 0, ink_up = 0;
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 40; ++x) {
      ink_across += across.pixel(x, y).r == 0;
      ink_up += up.pixel(x, y).r == 0;
    }
  }
  EXPECT_GT(ink_across, 10);
  EXPECT_EQ(ink_across, ink_up);  // the same pixels, turned
  // Turned text is text_height() wide and text_width() tall from its corner.
  EXPECT_EQ(up.pixel(2 + ember::text_height() + 1, 10).r, 255);

  ember::Canvas canvas(50, 20);
  // Through the middle of pixel row 10, 2 pixels thick: row 10 is covered, rows 9 and 11 half.
  canvas.draw_line({5, 10.5}, {45, 10.5}, red, 2.0);
  EXPECT_EQ(canvas.pixel(25, 10).r, 255);
  EXPECT_EQ(canvas.pixel(25, 10).g, 0);     // fully covered
  EXPECT_EQ(canvas.pixel(25, 15).g, 255);   // far away: untouched
  EXPECT_EQ(canvas.pixel(25, 11).g, 128);   // the soft edge is a blend, not a jag
  EXPECT_EQ(canvas.pixel(25, 9).g, 128);

  ember::Canvas clipped(50, 20);
  clipped.set_clip(0, 0, 20, 20);
  clipped.draw_line({5, 10.5}, {45, 10.5}, red, 2.0);
  EXPECT_EQ(clipped.pixel(10, 10).g, 0);
  EXPECT_EQ(clipped.pixel(30, 10).g, 255);  // beyond the clip rectangle

  EXPECT_THROW(canvas.pixel(50, 0), ember::Error);
  EXPECT_THROW(ember::Canvas(0, 10), ember::Error);
}

// ---- charts -------------------------------------------------------------------------------------

TEST(CommonPlot, LinePlotWritesAPngOfTheRequestedSize) {
  std::vector<double> steps, loss;
  loss_curve(steps, loss);
  std::vector<double> eval_steps = {0, 500, 1000, 1500, 2000};
  std::vector<double> val = {2.6, 0.6, 0.4, 0.36, 0.35};
  LinePlot plot("loss", "step", "cross-entropy");
  plot.add_series("train", steps, loss).add_series("val", eval_steps, val);
  ASSERT_EQ(plot.series().size(), 2u);
  EXPECT_EQ(plot.series()[1].color.r, ember::series_color(1).r);

  std::string path = scratch("loss.png");
  plot.save(path, 900, 400);
  ember::Image image = ember::load_image(path);
  EXPECT_EQ(image.width, 900);
  EXPECT_EQ(image.height, 400);
  EXPECT_EQ(image.channels, 3);
  // Not one colour: white paper, dark text, and both series colours in quantity.
  EXPECT_GT(count_color(image, {255, 255, 255}, 0, 900, 0), 900 * 400 / 2);
  EXPECT_GT(count_color(image, {40, 40, 40}, 0, 900, 30), 200);
  EXPECT_GT(count_color(image, ember::series_color(0), 0, 900), 800);
  EXPECT_GT(count_color(image, ember::series_color(1), 0, 900), 300);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(CommonPlot, LearningCurvesPutOnePanelOnEachHalf) {
  std::vector<double> steps, loss;
  loss_curve(steps, loss);
  LinePlot loss_panel("loss", "step", "loss");
  loss_panel.add_series("train", steps, loss);
  LinePlot accuracy_panel("accuracy", "epoch", "accuracy");
  accuracy_panel.add_series("train", {1, 2, 3}, {0.91, 0.95, 0.97}, Color{200, 0, 200});
  accuracy_panel.add_series("val", {1, 2, 3}, {0.90, 0.93, 0.94}, Color{0, 180, 0});

  std::string path = scratch("curves.png");
  ember::save_learning_curves(path, "MNIST MLP", {loss_panel, accuracy_panel}, 900, 400);
  ember::Image image = ember::load_image(path, 3);
  ASSERT_EQ(image.width, 900);
  ASSERT_EQ(image.height, 400);
  // The loss (series colour 0) lives on the left, the accuracy colours on the right.
  EXPECT_GT(count_color(image, ember::series_color(0), 0, 450), 500);
  EXPECT_EQ(count_color(image, ember::series_color(0), 450, 900), 0);
  EXPECT_GT(count_color(image, {200, 0, 200}, 450, 900), 100);
  EXPECT_GT(count_color(image, {0, 180, 0}, 450, 900), 100);
  EXPECT_EQ(count_color(image, {200, 0, 200}, 0, 450), 0);

  ember::save_learning_curves(scratch("one_panel.png"), "", {loss_panel}, 600, 300);
  EXPECT_EQ(ember::load_image(scratch("one_panel.png")).width, 600);
  EXPECT_THROW(ember::save_learning_curves(scratch("none.png"), "", {}), ember::Error);
}

// Text pixels (the title's dark grey) in the rows [y0, y1) and columns [x0, x1).
int ink(const ember::Image& image, int x0, int x1, int y0, int y1) {
  int count = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) count += image.pixels[(static_cast<size_t>(y) * image.width + x) * 3] < 100;
  return count;
}

TEST(CommonPlot, ALongTitleShrinksOrIsCutShortInsteadOfBeingClipped) {
  // A lesson's title ("Fashion-MNIST as 32x32 RGB (fallback, not CIFAR-10), CNN: test accuracy
  // 0.92970") was centred at scale 2 and ran off both sides of the picture.
  LinePlot panel("loss", "epoch", "loss");
  panel.add_series("train", {1, 2, 3}, {1.0, 0.5, 0.4});
  const std::string medium(40, 'M');   // 40 glyphs: too wide at scale 2 in 300 pixels, fits at 1
  const std::string longer(200, 'M');  // fits at no scale: cut short with "..."
  for (const std::string& title : {medium, longer}) {
    SCOPED_TRACE(title.size());
    const std::string path = scratch("title_" + std::to_string(title.size()) + ".png");
    ember::save_learning_curves(path, title, {panel}, 300, 200);
    const ember::Image image = ember::load_image(path, 3);
    const int band = 10 + ember::text_height(1);  // the title's rows at scale 1
    EXPECT_GT(ink(image, 0, image.width, 10, band), 100) << "the title is drawn";
    EXPECT_EQ(ink(image, 0, 5, 0, band), 0) << "nothing at the left edge: not clipped";
    EXPECT_EQ(ink(image, image.width - 5, image.width, 0, band), 0) << "nor at the right edge";
  }
  // The same for a panel's own title, drawn inside its rectangle.
  LinePlot titled(std::string(80, 'W'), "epoch", "loss");
  titled.add_series("train", {1, 2, 3}, {1.0, 0.5, 0.4});
  titled.save(scratch("panel_title.png"), 200, 150);
  const ember::Image image = ember::load_image(scratch("panel_title.png"), 3);
  EXPECT_GT(ink(image, 0, image.width, 10, 10 + ember::text_height(1)), 50);
  EXPECT_EQ(ink(image, image.width - 5, image.width, 0, 10 + ember::text_height(1)), 0);
}

TEST(CommonPlot, OddDataDoesNotBreakTheChart) {
  // NaN and non-positive values on a log axis, a single point, a constant series, no series.
  LinePlot log_plot("log", "step", "loss");
  log_plot.set_log_y().add_series("train", {0, 1, 2, 3, 4}, {1.0, NAN, 0.1, -1.0, 0.01});
  log_plot.add_series("one point", {2}, {0.5});
  log_plot.save(scratch("log.png"), 400, 300);
  ember::Image image = ember::load_image(scratch("log.png"));
  EXPECT_EQ(image.width, 400);
  EXPECT_GT(count_color(image, ember::series_color(1), 0, 400), 10);  // the single point's dot

  LinePlot flat;
  flat.add_series("", {0, 1, 2}, {3, 3, 3});
  flat.save(scratch("flat.png"), 300, 200);
  LinePlot empty("nothing yet");
  empty.save(scratch("empty.png"), 300, 200);
  EXPECT_EQ(ember::load_image(scratch("empty.png")).height, 200);
}

TEST(CommonPlot, MismatchedSeriesIsAnError) {
  LinePlot plot;
  try {
    plot.add_series("val", {1, 2, 3}, {0.5, 0.4});
    FAIL() << "expected an error";
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("series 'val' has 3 x values but 2 y values"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace test_common_plot
