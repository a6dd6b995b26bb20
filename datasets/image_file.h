#pragma once
// Image files: PNG output and loading any common format (PNG, JPEG, BMP, GIF, ...), on the
// single-file stb libraries (stb_image.h, stb_image_write.h).
//
// Their implementations are compiled exactly once, in datasets/image_file.cpp, which defines
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

// The largest image load_image decodes: 2^26 pixels (8192 x 8192), 256 MiB as RGBA.
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

// Loads a PNG, JPEG, BMP, ... file. desired_channels = 0 keeps the file's own channel count;
// 1..4 converts (e.g. 3 for RGB). A file stb cannot read is an error naming it and stb's reason;
// so is a header that claims more than kMaxImagePixels pixels. Only regular files are read.
Image load_image(const std::string& path, int desired_channels = 0);

// The same, from the file's bytes in memory; `name` is used in error messages. max_pixels lowers
// the size limit (fuzz/fuzz_image uses 65536, so that each input decodes in well under a ms).
Image load_image_from_memory(const std::string& bytes, const std::string& name, int desired_channels = 0,
                             int64_t max_pixels = kMaxImagePixels);

}  // namespace ember
