#pragma once
// Canvas: an RGB image in memory with the few drawing operations that charts and image grids
// need - rectangles, anti-aliased lines and dots, and text in the built-in bitmap font.
//
// Coordinates: x goes right, y goes down, (0, 0) is the top-left corner. Pixel (i, j) covers
// the square [i, i+1) x [j, j+1), so its centre is (i + 0.5, j + 0.5). Lines and dots take
// fractional coordinates and are anti-aliased: a pixel that the shape only partly covers is
// blended with the background in proportion, which is what makes a chart look smooth.
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
};

struct Point {
  double x = 0, y = 0;
};

class Canvas {
 public:
  Canvas(int width, int height, Color background = {255, 255, 255});

  int width() const { return width_; }
  int height() const { return height_; }
  // height x width x 3 bytes, rows from the top, R G B per pixel.
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  Color pixel(int x, int y) const;

  // Drawing outside the clip rectangle (the whole canvas unless set) changes nothing.
  void set_clip(int x, int y, int width, int height);
  void clear_clip();

  void set_pixel(int x, int y, Color color);
  // Mixes `color` into the pixel: coverage 1 replaces it, 0 leaves it, 0.3 is 30% of the way.
  void blend_pixel(int x, int y, Color color, double coverage);

  void fill_rect(int x, int y, int width, int height, Color color);
  void draw_rect(int x, int y, int width, int height, Color color);  // a 1-pixel outline

  // A line through all points, `thickness` pixels wide with round ends and joints. Each pixel is
  // painted once with the largest coverage any segment gives it, so joints do not get darker.
  void draw_polyline(const std::vector<Point>& points, Color color, double thickness);
  void draw_line(Point from, Point to, Color color, double thickness);
  void fill_circle(Point center, double radius, Color color);

  // Text with its top-left corner at (x, y); each font pixel becomes a scale x scale square.
  void draw_text(int x, int y, const std::string& text, Color color, int scale = 1);
  // Text turned a quarter turn to the left, read from bottom to top (a y-axis label); (x, y) is
  // the top-left corner of the turned text, which is text_height() wide and text_width() tall.
  void draw_text_up(int x, int y, const std::string& text, Color color, int scale = 1);

  // Copies a picture (height x width x channels bytes, channels 1 or 3) with its top-left corner
  // at (x, y), each pixel enlarged to a scale x scale square.
  void draw_image(int x, int y, int width, int height, int channels, const uint8_t* pixels,
                  int scale = 1);

  void save_png(const std::string& path) const;

 private:
  bool inside_clip(int x, int y) const;

  int width_, height_;
  std::vector<uint8_t> pixels_;
  int clip_x0_, clip_y0_, clip_x1_, clip_y1_;  // the clip rectangle [x0, x1) x [y0, y1)
};

}  // namespace ember
