// Image files through stb (see image_file.h).
#include "datasets/image_file.h"

#include <cctype>

#include "core/error.h"
#include "core/fs.h"

// The stb implementations live here and nowhere else (see image_file.h). They are third-party C
// code, so their own warnings are switched off while they compile.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace ember {

namespace {

// stb_image_write hands the encoded PNG to this function piece by piece.
void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
}

}  // namespace

void save_png(const std::string& path, int width, int height, int channels,
              const uint8_t* pixels) {
  check(width > 0 && height > 0, "save_png: '", path, "': size must be positive, got ", width,
        "x", height);
  check(channels >= 1 && channels <= 4, "save_png: '", path, "': channels must be 1..4, got ",
        channels);
  check(pixels != nullptr, "save_png: '", path, "': the pixel pointer is null");

  // Encode into memory first, then write the file atomically: a viewer that has the PNG open
  // during training never sees half an image.
  std::string png;
  int ok = stbi_write_png_to_func(append_to_string, &png, width, height, channels, pixels,
                                  width * channels);
  check(ok != 0 && !png.empty(), "save_png: encoding '", path, "' failed");
  write_file_atomic(path, png);
}

namespace {

uint32_t big_endian32(const std::string& bytes, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// A PNG checked chunk by chunk, without its empty IDAT chunks. Found by fuzz/fuzz_image:
//  - stb_image copies 0 bytes to a null pointer on an empty first IDAT (memcpy(NULL, p, 0):
//    undefined behaviour that UBSan reports). Empty IDAT chunks hold no data: they are dropped.
//  - stb_image allocates the length an IDAT chunk claims before reading it: 84 bytes claiming
//    1 GiB allocated 1 GiB, and so did a file that ends inside a chunk's header. A chunk longer than
//    what is left of the file, or cut off, is refused here, naming its offset.
std::string checked_png(const std::string& bytes, const std::string& name) {
  static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.compare(0, 8, kSignature) != 0) return bytes;
  std::string out = kSignature;
  size_t at = 8;
  while (at < bytes.size()) {  // length (4), type (4), data (length), CRC (4)
    check(at + 12 <= bytes.size(), "load_image: cannot read '", name, "': the file ends inside the PNG chunk at offset ",
          at, " (", bytes.size() - at, " of at least 12 bytes; truncated?)");
    const uint64_t length = big_endian32(bytes, at);
    check(length <= bytes.size() - at - 12, "load_image: cannot read '", name, "': the PNG chunk at offset ", at,
          " claims ", length, " bytes of data, but only ", bytes.size() - at - 12,
          " follow it with its CRC (the file is truncated or damaged)");
    const bool end = bytes.compare(at + 4, 4, "IEND") == 0;
    if (!(length == 0 && bytes.compare(at + 4, 4, "IDAT") == 0)) out.append(bytes, at, 12 + length);
    at += 12 + length;
    if (end) break;  // what follows IEND is not read (some programs append data there)
  }
  out.append(bytes, at, std::string::npos);
  return out;
}

// JPEG: the Huffman tables (DHT segments, marker FF C4) are checked before stb reads them. A table
// lists how many codes have each length 1..16; there are at most 256 symbols, and stb_image
// (Debian's 2.27) writes one byte per code into a 257-byte array without checking: a table
// claiming more codes wrote past it (found by fuzz_image under UBSan). stb looks for markers past
// junk bytes and between scans, so every FF C4 in the file is checked, wherever it stands (in a
// valid file FF C4 occurs nowhere else: the coded data stuffs a 00 after every FF).
void check_jpeg(const std::string& bytes, const std::string& name) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  // stb takes a file as JPEG when it starts with FF, any number of FF fill bytes, then D8
  if (bytes.empty() || byte(0) != 0xFF) return;
  for (size_t at = 2; at + 1 < bytes.size(); ++at) {
    if (byte(at) != 0xFF || byte(at + 1) != 0xC4) continue;
    check(at + 4 <= bytes.size(), "load_image: cannot read '", name, "': the file ends inside the JPEG segment at offset ", at);
    const size_t length = (size_t(byte(at + 2)) << 8) | byte(at + 3);  // includes its own two bytes
    check(length >= 2 && at + 2 + length <= bytes.size(), "load_image: cannot read '", name,
          "': the JPEG segment at offset ", at, " says it has ", length, " bytes, past the end of the file");
    // [class/id][16 counts][the symbols], as many tables as fit in the segment
    const size_t end = at + 2 + length;
    for (size_t t = at + 4; t < end;) {
      check(t + 17 <= end, "load_image: cannot read '", name, "': the JPEG Huffman table at offset ", t,
            " is cut short");
      size_t codes = 0;
      for (size_t i = 1; i <= 16; ++i) codes += byte(t + i);
      check(codes <= 256 && t + 17 + codes <= end, "load_image: cannot read '", name,
            "': the JPEG Huffman table at offset ", t, " claims ", codes, " codes (at most 256, inside its segment)");
      t += 17 + codes;
    }
  }
}

// PNM (P5 grey, P6 colour): the header's numbers (width, height, maximum value) are read by stb into
// an int without an overflow check (UBSan: "888888888 * 10" in stbi__pnm_getinteger, found by
// fuzz_image). Each number is checked here first: at most 9 digits.
// A maximum value above 255 means 16 bits a sample, and stb 2.27 gets those wrong twice: it keeps the
// low byte of each big-endian sample instead of the high one (a silent wrong image), and converting
// the channel count (grey to RGB, ...) it uses its 8-bit routine on a buffer half the size and reads
// past its end (ASan, found by fuzz_image). Such a file is refused, saying so.
void check_pnm(const std::string& bytes, const std::string& name) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return;
  size_t at = 2;
  for (int number = 0; number < 3 && at < bytes.size(); ++number) {
    while (at < bytes.size() && (std::isspace(static_cast<unsigned char>(bytes[at])) || bytes[at] == '#')) {
      if (bytes[at] == '#')  // a comment runs to the end of the line
        while (at < bytes.size() && bytes[at] != '\n' && bytes[at] != '\r') ++at;
      else
        ++at;
    }
    const size_t first = at;
    while (at < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[at]))) ++at;
    const size_t digits = at - first;
    check(digits <= 9, "load_image: cannot read '", name, "': a number in its PNM header has ", digits,
          " digits (a damaged file: no image is that large)");
    if (digits == 0) return;  // not a number: stb reports the bad header
    const long value = std::stol(bytes.substr(first, digits));
    check(number < 2 || value <= 255, "load_image: cannot read '", name, "': a 16-bit PNM (maximum value ",
          value, ") is not read correctly by this stb_image (2.27); convert it to 8 bits (maximum value 255)");
  }
}

}  // namespace

Image load_image_from_memory(const std::string& bytes, const std::string& name, int desired_channels,
                             int64_t max_pixels) {
  check(desired_channels >= 0 && desired_channels <= 4, "load_image: '", name,
        "': desired_channels must be 0..4, got ", desired_channels);
  check(bytes.size() <= static_cast<size_t>(INT32_MAX), "load_image: '", name, "' is ", bytes.size(),
        " bytes, more than stb_image reads (2 GiB)");
  check_jpeg(bytes, name);
  check_pnm(bytes, name);
  const std::string file = checked_png(bytes, name);
  const auto* data = reinterpret_cast<const stbi_uc*>(file.data());
  const int length = static_cast<int>(file.size());
  // The header first: a file of a few bytes can claim 16384 x 16384 pixels, and stb would
  // allocate all of them before finding that the data is missing.
  int width = 0, height = 0, channels = 0;
  check(stbi_info_from_memory(data, length, &width, &height, &channels) != 0, "load_image: cannot read '", name,
        "': ", stbi_failure_reason());
  const int64_t pixels = int64_t(width) * height;
  check(width > 0 && height > 0 && pixels <= max_pixels, "load_image: '", name, "' says it is ", width, "x",
        height, " pixels, more than the ", max_pixels, " pixels this reader accepts (damaged file?)");
  // No image format here packs more than ~1000 pixels into a byte (deflate's best ratio is about
  // 1032:1, RLE's less): a 20-byte file claiming millions of pixels is damaged, and stb would
  // spend seconds decoding zeros past its end (found by fuzz_image).
  constexpr int64_t kMostPixelsPerByte = 2048;
  check(pixels <= kMostPixelsPerByte * static_cast<int64_t>(file.size()), "load_image: '", name, "' says it is ",
        width, "x", height, " pixels, but has only ", file.size(), " bytes: no image format packs that many pixels ",
        "into so few bytes (damaged or cut file?)");

  Image image;
  uint8_t* decoded = stbi_load_from_memory(data, length, &image.width, &image.height, &image.channels,
                                           desired_channels);
  check(decoded != nullptr, "load_image: cannot read '", name, "': ", stbi_failure_reason());
  if (desired_channels != 0) image.channels = desired_channels;
  size_t count = static_cast<size_t>(image.width) * image.height * image.channels;
  image.pixels.assign(decoded, decoded + count);
  stbi_image_free(decoded);
  return image;
}

Image load_image(const std::string& path, int desired_channels) {
  // read_file refuses folders, devices and FIFOs, naming the path; images beyond 256 MiB are not
  // what this course reads.
  std::string bytes;
  try {
    bytes = read_file(path, uint64_t(256) << 20);
  } catch (const Error& e) {
    fail("load_image: cannot read '", path, "': ", e.what());
  }
  return load_image_from_memory(bytes, path, desired_channels);
}

}  // namespace ember
