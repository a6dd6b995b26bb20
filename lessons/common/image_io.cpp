#include "lessons/common/image_io.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "lessons/common/canvas.h"
#include "lessons/common/font5x7.h"
#include "core/fs.h"

namespace ember {

// ---- grids --------------------------------------------------------------------------------------

namespace {

void check_tile_shape(const char* op, int channels, int height, int width) {
  check(channels == 1 || channels == 3, op, ": channels must be 1 or 3, got ", channels);
  check(height > 0 && width > 0, op, ": size must be positive, got ", height, "x", width);
}

}  // namespace

GridTile tile_from_floats(const float* values, int channels, int height, int width,
                          const std::string& caption, float low, float high) {
  check_tile_shape("tile_from_floats", channels, height, width);
  check(values != nullptr, "tile_from_floats: the value pointer is null");
  check(high > low, "tile_from_floats: the range [", low, ", ", high, "] is empty");
  GridTile tile{width, height, channels, {}, caption};
  tile.pixels.resize(static_cast<size_t>(channels) * height * width);
  const size_t plane = static_cast<size_t>(height) * width;
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < channels; ++c) {
      // [C, H, W] in, [H, W, C] out.
      float v = (values[c * plane + i] - low) / (high - low);
      v = std::isfinite(v) ? std::clamp(v, 0.0f, 1.0f) : 0.0f;
      tile.pixels[i * channels + c] = static_cast<uint8_t>(std::lround(v * 255.0f));
    }
  }
  return tile;
}

GridTile tile_from_bytes(const uint8_t* values, int channels, int height, int width,
                         const std::string& caption) {
  check_tile_shape("tile_from_bytes", channels, height, width);
  check(values != nullptr, "tile_from_bytes: the value pointer is null");
  GridTile tile{width, height, channels, {}, caption};
  tile.pixels.resize(static_cast<size_t>(channels) * height * width);
  const size_t plane = static_cast<size_t>(height) * width;
  for (size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < channels; ++c) tile.pixels[i * channels + c] = values[c * plane + i];
  }
  return tile;
}

GridTile tile_from_image(const Image& image, const std::string& caption) {
  check(image.channels >= 1 && image.channels <= 4, "tile_from_image: channels must be 1..4, got ",
        image.channels);
  check(image.pixels.size() == static_cast<size_t>(image.width) * image.height * image.channels,
        "tile_from_image: the image has ", image.pixels.size(), " bytes, expected ",
        image.width, "x", image.height, "x", image.channels);
  // Grey + alpha keeps the grey, RGBA keeps the RGB: tiles have no transparency.
  int keep = image.channels <= 2 ? 1 : 3;
  GridTile tile{image.width, image.height, keep, {}, caption};
  const size_t count = static_cast<size_t>(image.width) * image.height;
  tile.pixels.resize(count * keep);
  for (size_t i = 0; i < count; ++i) {
    for (int c = 0; c < keep; ++c) tile.pixels[i * keep + c] = image.pixels[i * image.channels + c];
  }
  return tile;
}

void save_image_grid(const std::string& path, const std::vector<GridTile>& tiles, int columns,
                     int scale) {
  check(!tiles.empty(), "save_image_grid: '", path, "': there are no tiles");
  check(columns >= 1, "save_image_grid: columns must be at least 1, got ", columns);
  check(scale >= 1, "save_image_grid: scale must be at least 1, got ", scale);

  // Every cell is as large as the largest tile (or its caption) so the grid lines up.
  const int gap = 6;
  const int caption_gap = 3;
  int cell_width = 0, image_height = 0;
  bool any_caption = false;
  for (const GridTile& tile : tiles) {
    check(tile.pixels.size() == static_cast<size_t>(tile.width) * tile.height * tile.channels,
          "save_image_grid: tile '", tile.caption, "' has ", tile.pixels.size(),
          " bytes, expected ", tile.width, "x", tile.height, "x", tile.channels);
    cell_width = std::max({cell_width, tile.width * scale, text_width(tile.caption)});
    image_height = std::max(image_height, tile.height * scale);
    any_caption = any_caption || !tile.caption.empty();
  }
  const int cell_height = image_height + (any_caption ? caption_gap + text_height() : 0);
  const int count = static_cast<int>(tiles.size());
  columns = std::min(columns, count);
  const int rows = (count + columns - 1) / columns;

  Canvas canvas(gap + columns * (cell_width + gap), gap + rows * (cell_height + gap));
  for (int i = 0; i < count; ++i) {
    const GridTile& tile = tiles[i];
    int cell_x = gap + (i % columns) * (cell_width + gap);
    int cell_y = gap + (i / columns) * (cell_height + gap);
    // Centred horizontally in the cell; captions sit under the image.
    canvas.draw_image(cell_x + (cell_width - tile.width * scale) / 2, cell_y, tile.width,
                      tile.height, tile.channels, tile.pixels.data(), scale);
    canvas.draw_text(cell_x + (cell_width - text_width(tile.caption)) / 2,
                     cell_y + image_height + caption_gap, tile.caption, Color{20, 20, 20});
  }
  canvas.save_png(path);
}

}  // namespace ember
