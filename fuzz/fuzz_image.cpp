// Images through stb_image (datasets/image_file.cpp): load_image on a file of the bytes, and
// load_image_from_memory with the channel count the first byte picks.
#include "core/error.h"
#include "datasets/image_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int desired_channels = data[0] % 5;
  const std::string path = ember_fuzz::write_input("image.bin", data + 1, size - 1);
  try {
    ember::Image image = ember::load_image(path, desired_channels);
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels) std::abort();
  } catch (const ember::Error&) {
  }
  return 0;
}
