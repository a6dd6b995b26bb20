// Tests of lessons/common/image_io: PNG files and captioned image grids.
#include <gtest/gtest.h>

#include "tests/test_util.h"

using ember::error_of;

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "lessons/common/image_io.h"

#ifndef EMBER_TEST_TMP
#define EMBER_TEST_TMP "/tmp/ember_test_tmp"
#endif

namespace test_common_image {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch(const std::string& name) {
  std::string folder = std::string(EMBER_TEST_TMP) + "/common_image";
  ember::make_dirs(folder);
  return folder + "/" + name;
}

TEST(CommonImage, SavePngAndLoadItBackExactly) {
  // A 3x2 RGB image with distinct pixels; PNG is lossless, so every byte must come back.
  std::vector<uint8_t> rgb;
  for (int i = 0; i < 3 * 2 * 3; ++i) rgb.push_back(static_cast<uint8_t>(i * 13));
  std::string path = scratch("tiny.png");
  ember::save_png(path, 3, 2, 3, rgb.data());
  ember::Image image = ember::load_image(path);
  EXPECT_EQ(image.width, 3);
  EXPECT_EQ(image.height, 2);
  EXPECT_EQ(image.channels, 3);
  EXPECT_EQ(image.pixels, rgb);

  // Grey, converted to RGB on load.
  std::vector<uint8_t> grey = {0, 100, 200, 255};
  ember::save_png(scratch("grey.png"), 2, 2, 1, grey.data());
  ember::Image as_rgb = ember::load_image(scratch("grey.png"), 3);
  EXPECT_EQ(as_rgb.channels, 3);
  EXPECT_EQ(as_rgb.pixels,
            (std::vector<uint8_t>{0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255}));
}

TEST(CommonImage, ErrorsNameTheFile) {
  std::vector<uint8_t> pixel = {1, 2, 3};
  std::string bad_folder = scratch("no_such_folder/x.png");
  std::string write = error_of([&] { ember::save_png(bad_folder, 1, 1, 3, pixel.data()); });
  EXPECT_NE(write.find(bad_folder), std::string::npos) << write;
  EXPECT_NE(error_of([&] { ember::save_png(scratch("a.png"), 1, 1, 5, pixel.data()); })
                .find("channels must be 1..4"),
            std::string::npos);

  std::string missing = scratch("missing.png");
  std::string read = error_of([&] { ember::load_image(missing); });
  EXPECT_NE(read.find("load_image: cannot read '" + missing + "'"), std::string::npos) << read;

  ember::write_file_atomic(scratch("not_an_image.png"), "hello");
  std::string garbage = error_of([&] { ember::load_image(scratch("not_an_image.png")); });
  EXPECT_NE(garbage.find("not_an_image.png"), std::string::npos) << garbage;
}

TEST(CommonImage, TilesConvertLayoutAndRange) {
  // Planar [C, H, W] = [3, 1, 2]: R plane, G plane, B plane.
  std::vector<float> chw = {0.0f, 1.0f, 0.5f, 0.5f, 2.0f, -1.0f};
  ember::GridTile tile = ember::tile_from_floats(chw.data(), 3, 1, 2, "x");
  EXPECT_EQ(tile.pixels, (std::vector<uint8_t>{0, 128, 255, 255, 128, 0}));  // clamped

  // A custom range, e.g. normalised MNIST values.
  std::vector<float> normalised = {-1.0f, 0.0f, 1.0f};
  EXPECT_EQ(ember::tile_from_floats(normalised.data(), 1, 1, 3, "", -1.0f, 1.0f).pixels,
            (std::vector<uint8_t>{0, 128, 255}));

  std::vector<uint8_t> bytes = {10, 20, 30, 40, 50, 60};  // [3, 1, 2]
  EXPECT_EQ(ember::tile_from_bytes(bytes.data(), 3, 1, 2, "").pixels,
            (std::vector<uint8_t>{10, 30, 50, 20, 40, 60}));

  ember::Image rgba{1, 1, 4, {1, 2, 3, 4}};
  ember::GridTile from_rgba = ember::tile_from_image(rgba, "c");
  EXPECT_EQ(from_rgba.channels, 3);
  EXPECT_EQ(from_rgba.pixels, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_THROW(ember::tile_from_floats(chw.data(), 2, 1, 2, ""), ember::Error);
}

TEST(CommonImage, GridOfCaptionedTiles) {
  // Ten black 28x28 "digits" with a white square, captioned like misclassified examples.
  std::vector<ember::GridTile> tiles;
  for (int k = 0; k < 10; ++k) {
    std::vector<float> digit(28 * 28, 0.0f);
    for (int y = 10; y < 18; ++y) {
      for (int x = 10; x < 18; ++x) digit[y * 28 + x] = 1.0f;
    }
    tiles.push_back(ember::tile_from_floats(digit.data(), 1, 28, 28,
                                            std::to_string(k) + "->" + std::to_string(9 - k)));
  }
  std::string path = scratch("misclassified.png");
  ember::save_image_grid(path, tiles, 5, 2);
  ember::Image image = ember::load_image(path, 3);
  // 5 columns of 56-pixel cells with 6-pixel gaps; 2 rows of 56 + 3 + 9 (caption) pixels.
  EXPECT_EQ(image.width, 6 + 5 * (56 + 6));
  EXPECT_EQ(image.height, 6 + 2 * (56 + 3 + 9 + 6));

  auto at = [&](int x, int y) {  // the red channel of pixel (x, y)
    return image.pixels[(static_cast<size_t>(y) * image.width + x) * 3];
  };
  EXPECT_EQ(at(3, 3), 255);            // the white background in the gap
  EXPECT_EQ(at(6 + 2, 6 + 2), 0);      // the black corner of the first tile
  EXPECT_EQ(at(6 + 28, 6 + 28), 255);  // its white square, enlarged 2x
  // The caption under the first tile has dark ink.
  int ink = 0;
  for (int y = 6 + 56 + 3; y < 6 + 56 + 3 + 9; ++y) {
    for (int x = 6; x < 6 + 56; ++x) ink += at(x, y) < 100;
  }
  EXPECT_GT(ink, 15);

  EXPECT_THROW(ember::save_image_grid(scratch("empty.png"), {}, 4), ember::Error);
  ember::GridTile broken = tiles[0];
  broken.pixels.pop_back();
  std::string message = error_of([&] { ember::save_image_grid(scratch("b.png"), {broken}, 1); });
  EXPECT_NE(message.find("tile '0->9'"), std::string::npos) << message;
}

}  // namespace test_common_image
