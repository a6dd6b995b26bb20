// Images through stb_image (datasets/image_file.cpp): load_image_from_memory with the channel
// count the first byte picks, and a limit of 65536 pixels (a valid 80-byte PNG can decode to
// 8192 x 8192 pixels, ~10 ms an input); for every 16th input load_image on a file of the bytes.
#include "core/error.h"
#include "datasets/image_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int desired_channels = data[0] % 5;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    ember::Image image = data[0] % 16 == 15
                             ? ember::load_image(ember_fuzz::write_input("image.bin", data + 1, size - 1), desired_channels)
                             : ember::load_image_from_memory(bytes, "fuzz", desired_channels, 65536);
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels) std::abort();
  } catch (const ember::Error&) {
  }
  return 0;
}
