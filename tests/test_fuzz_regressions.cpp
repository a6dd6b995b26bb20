// Inputs found by the libFuzzer harnesses in fuzz/ (docs/fuzzing.md), each kept here with the fix
// it led to, so that it never comes back.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/fs.h"
#include "datasets/idx.h"
#include "datasets/image_file.h"
#include "test_util.h"

using namespace ember;

namespace test_fuzz_regressions {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(EMBER_TEST_TMP) / ("fuzz_regressions_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string gzip(const std::string& bytes) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, bytes.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// fuzz_idx: a 30-byte gzip file whose header claims [65536, 65536] made read_idx allocate and
// clear 64 MiB before finding that only 2 bytes follow: 500 inputs a second, and 64 MiB of memory
// for any damaged download. Fix: the buffer doubles from 64 KiB as inflated bytes arrive.
TEST(FuzzRegressions, IdxGzipClaimingManyElementsAllocatesLittle) {
  const std::string dir = scratch("idx_claim");
  write_bytes(dir + "/claim.gz", gzip(std::string("\x00\x00\x08\x02\x00\x01\x00\x00\x00\x01\x00\x00\x07\x07", 14)));
  const double start = thread_cpu_seconds();  // CPU time: a loaded machine passes too
  for (int i = 0; i < 200; ++i) {
    std::string message = error_of([&] { read_idx(dir + "/claim.gz"); });
    ASSERT_NE(message.find("expected 4294967308 bytes, got 14 (after gunzip)"), std::string::npos) << message;
  }
  const double seconds = thread_cpu_seconds() - start;
  EXPECT_LT(seconds, 2.0);  // was ~0.1 s per call (64 MiB cleared each time), now microseconds
}

// fuzz_image: a PNG whose first IDAT chunk is empty (length 0) and whose next chunk is garbage made
// stb_image call memcpy(NULL, p, 0), which UBSan reports as undefined behaviour. Fix: empty IDAT
// chunks (they hold no data) are dropped before stb sees the file; this one is then refused.
TEST(FuzzRegressions, PngWithAnEmptyFirstDataChunk) {
  const std::string path = std::string(EMBER_SOURCE_DIR) + "/tests/data/fuzz/image_empty_idat.png";
  std::string message = error_of([&] { load_image(path); });
  EXPECT_NE(message.find("load_image: cannot read '" + path + "': "), std::string::npos) << message;
  // an empty IDAT in front of a real one is legal PNG and reads: 3 x 2 grey pixels
  auto chunk = [](const std::string& type, const std::string& body) {
    std::string out = be32(static_cast<uint32_t>(body.size())) + type + body;
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(out.data() + 4), static_cast<uInt>(out.size() - 4));
    return out + be32(static_cast<uint32_t>(crc));
  };
  const std::string rows("\0\x01\x02\x03\0\x04\x05\x06", 8);  // filter byte 0, then 3 pixels, per row
  std::string packed(compressBound(rows.size()), '\0');
  uLongf packed_size = packed.size();
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(rows.data()),
                     rows.size()), Z_OK);
  packed.resize(packed_size);
  const std::string png = read_file(path).substr(0, 33) + chunk("IDAT", "") + chunk("IDAT", packed) + chunk("IEND", "");
  Image image = load_image_from_memory(png, "empty_then_real.png");
  EXPECT_EQ(image.width, 3);
  EXPECT_EQ(image.height, 2);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
}

// fuzz_image: an 84-byte PNG whose IDAT chunk claims 1 GiB (0x40000010 bytes) made stb_image
// allocate 1 GiB before reading it. Fix: every PNG chunk's length is checked against what is left
// of the file first, and the error names the chunk's offset.
TEST(FuzzRegressions, PngChunkClaimingMoreThanTheFile) {
  const std::string path = std::string(EMBER_SOURCE_DIR) + "/tests/data/fuzz/image_idat_claims_1gib.png";
  std::string message = error_of([&] { load_image(path); });
  EXPECT_NE(message.find("load_image: cannot read '" + path + "': the PNG chunk at offset 33 claims 1073741840 bytes"),
            std::string::npos)
      << message;
}

// fuzz_image: a 41-byte PNG that ends 8 bytes into an IDAT chunk claiming 1.5 GiB (length and type,
// no data, no CRC) made stb_image allocate 1.5 GiB. Fix: a file that ends inside a chunk is refused.
TEST(FuzzRegressions, PngEndingInsideAChunkHeader) {
  const std::string path = std::string(EMBER_SOURCE_DIR) + "/tests/data/fuzz/image_cut_chunk_header.png";
  std::string message = error_of([&] { load_image(path); });
  EXPECT_NE(message.find("load_image: cannot read '" + path + "': the file ends inside the PNG chunk at offset 33"),
            std::string::npos)
      << message;
}

// fuzz_image: a 20-byte file whose header claims a large picture made stb decode millions of
// pixels of nothing past its end (13 s under the fuzzer's sanitizers). Refused from its size.
TEST(FuzzRegressions, ImageClaimingFarMorePixelsThanItsBytesCanHold) {
  const std::string dir = scratch("image_claim");
  const std::string bytes("\x89\x00\x02\x00\xa0\x31\x20\x00\x00\x5d\x00\x19\x31\x20\x0a\x1f\x0f\x0f\x06", 19);
  write_bytes(dir + "/claims.tga", bytes);
  // the header claims 8241 x 7946 pixels, under the reader's 2^26-pixel limit
  EXPECT_NE(error_of([&] { load_image(dir + "/claims.tga"); })
                .find("says it is 8241x7946 pixels, but has only 19 bytes: no image format packs that many pixels"),
            std::string::npos);
}

// fuzz_image: a JPEG whose Huffman table claims more than 256 codes made stb_image write past a
// 257-byte array (UBSan: index 257 out of bounds in stbi__build_huffman). Checked before stb reads it.
TEST(FuzzRegressions, JpegHuffmanTableWithTooManyCodesIsRefused) {
  const std::string dir = scratch("jpeg_dht");
  // the fuzzer's input: SOI, then a DHT segment whose length runs past the end of the file
  write_bytes(dir + "/cut.jpg", std::string("\xff\xd8\xff\xc4\xd5\x0e\x00\x00\xf2\xd7", 10));
  EXPECT_NE(error_of([&] { load_image(dir + "/cut.jpg"); }).find("the JPEG segment at offset 2 says it has 54542 bytes"),
            std::string::npos);
  // a whole DHT segment whose 16 counts add up to 16 x 17 = 272 codes
  std::string dht("\xff\xd8\xff\xc4", 4);
  const size_t length = 2 + 17 + 272;
  dht += static_cast<char>(length >> 8);
  dht += static_cast<char>(length & 0xFF);
  dht += '\x00';
  dht += std::string(16, '\x11');
  dht += std::string(272, '\x01');
  dht += "\xff\xd9";
  write_bytes(dir + "/codes.jpg", dht);
  EXPECT_NE(error_of([&] { load_image(dir + "/codes.jpg"); }).find("claims 272 codes (at most 256"), std::string::npos);
}

// fuzz_image: a PNM header number of ten digits overflowed stb's int (UBSan). Checked first.
TEST(FuzzRegressions, PnmHeaderNumberTooLongIsRefused) {
  const std::string dir = scratch("pnm");
  write_bytes(dir + "/big.pgm", "P5 8888888888 2 255\n");
  EXPECT_NE(error_of([&] { load_image(dir + "/big.pgm"); }).find("a number in its PNM header has 10 digits"),
            std::string::npos);
}

// fuzz_image: a 16-bit PNM (maximum value above 255) asked for another channel count made stb 2.27
// convert it with its 8-bit routine into a buffer half the size, then read past it (ASan); the
// fuzzer's input was "P666 6 666 " read as grey. Read without a conversion, stb 2.27 keeps the low
// byte of each big-endian sample (0x1234 -> 0x34): a silently wrong image. Both are refused.
TEST(FuzzRegressions, SixteenBitPnmIsRefused) {
  const std::string dir = scratch("pnm16");
  write_bytes(dir + "/found.ppm", "P666 6 666 ");
  EXPECT_NE(error_of([&] { load_image(dir + "/found.ppm", 1); }).find("a 16-bit PNM (maximum value 666) is not read correctly"),
            std::string::npos);
  write_bytes(dir + "/grey16.pgm", std::string("P5 2 1 65535\n\x12\x34\xFF\x00", 17));
  EXPECT_NE(error_of([&] { load_image(dir + "/grey16.pgm", 1); }).find("convert it to 8 bits (maximum value 255)"),
            std::string::npos);
  write_bytes(dir + "/grey8.pgm", std::string("P5 2 1 255\n\x12\xFF", 13));  // 8 bits: read as it is
  Image image = load_image(dir + "/grey8.pgm", 1);
  ASSERT_EQ(image.pixels.size(), 2u);
  EXPECT_EQ(int(image.pixels[0]), 0x12);
  EXPECT_EQ(int(image.pixels[1]), 0xFF);
}

}  // namespace test_fuzz_regressions
