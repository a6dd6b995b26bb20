#pragma once
// Reading and writing images: PNG output, loading any common format, and grids of small images
// with captions (e.g. the misclassified digits of an MNIST run, each captioned "7->1").
//
// Built on the single-file stb libraries (stb_image.h, stb_image_write.h). Their implementations
// are compiled exactly once, in lessons/common/image_io.cpp, which defines
// STB_IMAGE_IMPLEMENTATION and STB_IMAGE_WRITE_IMPLEMENTATION. Other files may include the stb
// headers for declarations but must not define those macros again (that would give duplicate
// symbols at link time) - or simply call the functions below.
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

// Writes a PNG. `pixels` holds height x width x channels bytes, rows from the top; channels is
// 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). The file is replaced atomically
// (write_file_atomic); errors name the path.
void save_png(const std::string& path, int width, int height, int channels,
              const uint8_t* pixels);

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height x width x channels, rows from the top
};

// Loads a PNG, JPEG, BMP, ... file. desired_channels = 0 keeps the file's own channel count;
// 1..4 converts (e.g. 3 for RGB).
Image load_image(const std::string& path, int desired_channels = 0);

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
