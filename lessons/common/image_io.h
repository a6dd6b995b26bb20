#pragma once
// Grids of small images with captions (e.g. the misclassified digits of an MNIST run, each
// captioned "7->1"), saved as PNG. Reading and writing image files (save_png, load_image) is
// datasets/image_file.h, included here for the lessons' convenience.
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/image_file.h"

namespace ember {

// One tile of an image grid: a grey or RGB picture and the caption written under it.
struct GridTile {
  int width = 0;
  int height = 0;
  int channels = 0;             // 1 or 3
  std::vector<uint8_t> pixels;  // height x width x channels, interleaved like a file
  std::string caption;          // e.g. "7->1"; may be empty
};

// Tiles from the layouts that come up in the lessons. `values` has channels x height x width
// elements in planar [C, H, W] order, the layout of an image tensor.
// Floats are mapped linearly from [low, high] to black..white and clamped; pass the range the
// data lives in (0..1 for raw pixels, e.g. -0.42..2.8 for normalised MNIST).
GridTile tile_from_floats(const float* values, int channels, int height, int width,
                          const std::string& caption, float low = 0.0f, float high = 1.0f);
GridTile tile_from_bytes(const uint8_t* values, int channels, int height, int width,
                         const std::string& caption);
GridTile tile_from_image(const Image& image, const std::string& caption);

// Lays the tiles out in rows of `columns` on a white background, each enlarged `scale` times
// (nearest neighbour, so pixels stay sharp), with its caption underneath, and saves a PNG.
void save_image_grid(const std::string& path, const std::vector<GridTile>& tiles, int columns,
                     int scale = 2);

}  // namespace ember
