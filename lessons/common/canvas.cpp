#include "lessons/common/canvas.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "lessons/common/font5x7.h"
#include "lessons/common/image_io.h"

namespace ember {

Canvas::Canvas(int width, int height, Color background)
    : width_(width), height_(height) {
  check(width > 0 && height > 0 && width <= 1 << 15 && height <= 1 << 15,
        "Canvas: size must be 1..32768 pixels each way, got ", width, "x", height);
  pixels_.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.r;
    pixels_[i + 1] = background.g;
    pixels_[i + 2] = background.b;
  }
  clear_clip();
}

Color Canvas::pixel(int x, int y) const {
  check(x >= 0 && x < width_ && y >= 0 && y < height_, "Canvas::pixel: (", x, ", ", y,
        ") is outside the ", width_, "x", height_, " canvas");
  const uint8_t* p = &pixels_[(static_cast<size_t>(y) * width_ + x) * 3];
  return Color{p[0], p[1], p[2]};
}

void Canvas::set_clip(int x, int y, int width, int height) {
  clip_x0_ = std::max(0, x);
  clip_y0_ = std::max(0, y);
  clip_x1_ = std::min(width_, x + width);
  clip_y1_ = std::min(height_, y + height);
}

void Canvas::clear_clip() { set_clip(0, 0, width_, height_); }

bool Canvas::inside_clip(int x, int y) const {
  return x >= clip_x0_ && x < clip_x1_ && y >= clip_y0_ && y < clip_y1_;
}

void Canvas::set_pixel(int x, int y, Color color) { blend_pixel(x, y, color, 1.0); }

void Canvas::blend_pixel(int x, int y, Color color, double coverage) {
  if (!inside_clip(x, y) || coverage <= 0) return;
  coverage = std::min(coverage, 1.0);
  uint8_t* p = &pixels_[(static_cast<size_t>(y) * width_ + x) * 3];
  const uint8_t target[3] = {color.r, color.g, color.b};
  for (int c = 0; c < 3; ++c) {
    double mixed = p[c] + (target[c] - p[c]) * coverage;
    p[c] = static_cast<uint8_t>(std::lround(mixed));
  }
}

void Canvas::fill_rect(int x, int y, int width, int height, Color color) {
  for (int row = y; row < y + height; ++row) {
    for (int column = x; column < x + width; ++column) set_pixel(column, row, color);
  }
}

void Canvas::draw_rect(int x, int y, int width, int height, Color color) {
  fill_rect(x, y, width, 1, color);
  fill_rect(x, y + height - 1, width, 1, color);
  fill_rect(x, y, 1, height, color);
  fill_rect(x + width - 1, y, 1, height, color);
}

namespace {

// Distance from point p to the segment a-b.
double distance_to_segment(Point p, Point a, Point b) {
  double dx = b.x - a.x, dy = b.y - a.y;
  double length_squared = dx * dx + dy * dy;
  // t: where the closest point lies along a-b, 0 at a and 1 at b.
  double t = length_squared > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / length_squared : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  double cx = a.x + t * dx - p.x, cy = a.y + t * dy - p.y;
  return std::sqrt(cx * cx + cy * cy);
}

}  // namespace

void Canvas::draw_polyline(const std::vector<Point>& points, Color color, double thickness) {
  if (points.empty()) return;
  for (const Point& p : points) {
    check(std::isfinite(p.x) && std::isfinite(p.y), "Canvas::draw_polyline: point (", p.x, ", ",
          p.y, ") is not finite");
  }
  const double half = thickness / 2;
  // Only pixels within half a thickness (+1 for the soft edge) of the line can change.
  double min_x = points[0].x, max_x = points[0].x, min_y = points[0].y, max_y = points[0].y;
  for (const Point& p : points) {
    min_x = std::min(min_x, p.x), max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y), max_y = std::max(max_y, p.y);
  }
  int x0 = std::max(clip_x0_, static_cast<int>(std::floor(min_x - half - 1)));
  int x1 = std::min(clip_x1_, static_cast<int>(std::ceil(max_x + half + 1)));
  int y0 = std::max(clip_y0_, static_cast<int>(std::floor(min_y - half - 1)));
  int y1 = std::min(clip_y1_, static_cast<int>(std::ceil(max_y + half + 1)));
  if (x0 >= x1 || y0 >= y1) return;

  // coverage[(y - y0) * box_width + (x - x0)]: how much of pixel (x, y) the line covers.
  const int box_width = x1 - x0;
  std::vector<float> coverage(static_cast<size_t>(box_width) * (y1 - y0), 0.0f);

  // A single point is a dot: a segment from the point to itself.
  const size_t segments = points.size() == 1 ? 1 : points.size() - 1;
  for (size_t s = 0; s < segments; ++s) {
    Point a = points[s], b = points[std::min(s + 1, points.size() - 1)];
    int sx0 = std::max(x0, static_cast<int>(std::floor(std::min(a.x, b.x) - half - 1)));
    int sx1 = std::min(x1, static_cast<int>(std::ceil(std::max(a.x, b.x) + half + 1)));
    int sy0 = std::max(y0, static_cast<int>(std::floor(std::min(a.y, b.y) - half - 1)));
    int sy1 = std::min(y1, static_cast<int>(std::ceil(std::max(a.y, b.y) + half + 1)));
    for (int y = sy0; y < sy1; ++y) {
      for (int x = sx0; x < sx1; ++x) {
        double d = distance_to_segment({x + 0.5, y + 0.5}, a, b);
        // Fully covered within `half`, fading to nothing over one pixel beyond it.
        float c = static_cast<float>(std::clamp(half + 0.5 - d, 0.0, 1.0));
        float& cell = coverage[static_cast<size_t>(y - y0) * box_width + (x - x0)];
        cell = std::max(cell, c);
      }
    }
  }
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      blend_pixel(x, y, color, coverage[static_cast<size_t>(y - y0) * box_width + (x - x0)]);
    }
  }
}

void Canvas::draw_line(Point from, Point to, Color color, double thickness) {
  draw_polyline({from, to}, color, thickness);
}

void Canvas::fill_circle(Point center, double radius, Color color) {
  draw_polyline({center}, color, 2 * radius);
}

void Canvas::draw_text(int x, int y, const std::string& text, Color color, int scale) {
  check(scale >= 1, "Canvas::draw_text: scale must be at least 1, got ", scale);
  for (size_t k = 0; k < text.size(); ++k) {
    int glyph_x = x + static_cast<int>(k) * kGlyphAdvance * scale;
    for (int row = 0; row < kGlyphHeight; ++row) {
      for (int column = 0; column < kGlyphWidth; ++column) {
        if (glyph_pixel(text[k], row, column)) {
          fill_rect(glyph_x + column * scale, y + row * scale, scale, scale, color);
        }
      }
    }
  }
}

void Canvas::draw_text_up(int x, int y, const std::string& text, Color color, int scale) {
  check(scale >= 1, "Canvas::draw_text_up: scale must be at least 1, got ", scale);
  // In the unturned text, a pixel sits at (u along the text, v down). Turned to the left, the
  // text's top faces left and it runs upwards: u becomes distance up from the bottom edge.
  const int length = text_width(text, scale);
  for (size_t k = 0; k < text.size(); ++k) {
    for (int row = 0; row < kGlyphHeight; ++row) {
      for (int column = 0; column < kGlyphWidth; ++column) {
        if (!glyph_pixel(text[k], row, column)) continue;
        int u = (static_cast<int>(k) * kGlyphAdvance + column) * scale;
        int v = row * scale;
        fill_rect(x + v, y + length - u - scale, scale, scale, color);
      }
    }
  }
}

void Canvas::draw_image(int x, int y, int width, int height, int channels, const uint8_t* pixels,
                        int scale) {
  check(channels == 1 || channels == 3, "Canvas::draw_image: channels must be 1 or 3, got ",
        channels);
  check(scale >= 1, "Canvas::draw_image: scale must be at least 1, got ", scale);
  for (int row = 0; row < height; ++row) {
    for (int column = 0; column < width; ++column) {
      const uint8_t* p = pixels + (static_cast<size_t>(row) * width + column) * channels;
      Color color = channels == 1 ? Color{p[0], p[0], p[0]} : Color{p[0], p[1], p[2]};
      fill_rect(x + column * scale, y + row * scale, scale, scale, color);
    }
  }
}

void Canvas::save_png(const std::string& path) const {
  ember::save_png(path, width_, height_, 3, pixels_.data());
}

}  // namespace ember
