// Transforms on tiny images whose result can be worked out by hand.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <limits>

#include "datasets/transforms.h"

using namespace ember;

namespace test_datasets_transforms {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// A [C, H, W] image with the given values.
Tensor image(const std::vector<float>& values, int64_t c, int64_t h, int64_t w) {
  return Tensor::from_vector(values, {c, h, w});
}

// The 3x3 image   1 2 3
//                 4 5 6
//                 7 8 9
Tensor nine() { return image({1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 3, 3); }

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text) << "\nexpected: " << (part)

TEST(Transforms, ShiftMovesPixelsAndFillsZeros) {
  EXPECT_EQ(values(shift(nine(), 0, 1)), (std::vector<float>{0, 1, 2, 0, 4, 5, 0, 7, 8}));   // right
  EXPECT_EQ(values(shift(nine(), 0, -1)), (std::vector<float>{2, 3, 0, 5, 6, 0, 8, 9, 0}));  // left
  EXPECT_EQ(values(shift(nine(), 1, 0)), (std::vector<float>{0, 0, 0, 1, 2, 3, 4, 5, 6}));   // down
  EXPECT_EQ(values(shift(nine(), -1, 1)), (std::vector<float>{0, 4, 5, 0, 7, 8, 0, 0, 0}));  // up and right
  EXPECT_EQ(values(shift(nine(), 5, 0)), std::vector<float>(9, 0.0f));                       // all the way out
  EXPECT_EQ(values(shift(nine(), 0, 0)), values(nine()));
  // every channel and every image of a batch moves the same way
  Tensor batch = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 1, 2});
  EXPECT_EQ(values(shift(batch, 0, 1)), (std::vector<float>{0, 1, 0, 3, 0, 5, 0, 7}));
}

TEST(Transforms, CropWindowsAndPadding) {
  // the centre pixel, then a window hanging over the top-left corner: zeros outside
  EXPECT_EQ(values(crop(nine(), 1, 1, 1, 1)), (std::vector<float>{5}));
  EXPECT_EQ(values(crop(nine(), -1, -1, 2, 3)), (std::vector<float>{0, 0, 0, 0, 1, 2}));
  // padding by 1 all around
  Tensor padded = crop(nine(), -1, -1, 5, 5);
  EXPECT_EQ(padded.shape(), (Shape{1, 5, 5}));
  EXPECT_EQ(values(padded),
            (std::vector<float>{0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 7, 8, 9, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(values(crop(nine(), 0, 10, 2, 2)), std::vector<float>(4, 0.0f));  // entirely outside
  // RandomCrop{3, 1}: a 3x3 window of the padded 5x5, so a shift by -1..1 in each direction
  Generator gen(1);
  for (int i = 0; i < 20; ++i) {
    std::vector<float> out = values(RandomCrop{3, 1}(nine(), gen));
    bool is_a_shift = false;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) is_a_shift |= out == values(shift(nine(), dy, dx));
    EXPECT_TRUE(is_a_shift);
  }
  EXPECT_EQ((RandomCrop{2, 0}(nine(), gen).shape()), (Shape{1, 2, 2}));
  EXPECT_CONTAINS(error_of([&] {
                    RandomCrop{8, 2}(nine(), gen);
                  }),
                  "RandomCrop: cannot cut 8x8 out of an image [1, 3, 3] padded by 2");
}

TEST(Transforms, HorizontalFlip) {
  EXPECT_EQ(values(hflip(nine())), (std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7}));
  Generator gen(0);
  EXPECT_EQ(values(RandomHorizontalFlip{1.0}(nine(), gen)), values(hflip(nine())));
  EXPECT_EQ(values(RandomHorizontalFlip{0.0}(nine(), gen)), values(nine()));
  // p = 0.5 flips about half of a batch, each image on its own draw
  Tensor batch = Tensor::zeros({400, 1, 1, 2});
  for (int64_t i = 0; i < 400; ++i) batch.data<float>()[2 * i] = 1;  // [1, 0]: flipped is [0, 1]
  Tensor out = RandomHorizontalFlip{0.5}(batch, gen);
  int flipped = 0;
  for (int64_t i = 0; i < 400; ++i) flipped += out.data<float>()[2 * i] == 0;
  EXPECT_GT(flipped, 150);
  EXPECT_LT(flipped, 250);
}

TEST(Transforms, RotationByNinetyDegreesOfASquare) {
  // Counter-clockwise by 90 degrees: the top row becomes the left column, read bottom to top.
  //   1 2 3      3 6 9
  //   4 5 6  ->  2 5 8
  //   7 8 9      1 4 7
  std::vector<float> out = values(rotate(nine(), 90));
  std::vector<float> expected = {3, 6, 9, 2, 5, 8, 1, 4, 7};
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(out[i], expected[i], 1e-5) << i;
  // an even size (the centre lies between pixels), checked against a naive loop: out[y][x] = in[x][W-1-y]
  std::vector<float> sixteen(16);
  for (int i = 0; i < 16; ++i) sixteen[i] = static_cast<float>(i * i % 7);
  Tensor four = image(sixteen, 1, 4, 4);
  out = values(rotate(four, 90));
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) EXPECT_NEAR(out[y * 4 + x], sixteen[x * 4 + (3 - y)], 1e-5) << y << "," << x;
  // -90 undoes 90; 180 is both flips
  out = values(rotate(rotate(four, 90), -90));
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(out[i], sixteen[i], 1e-5);
  out = values(rotate(nine(), 180));
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(out[i], 9 - i, 1e-5);
}

TEST(Transforms, RotationInterpolatesBilinearlyAndFillsZero) {
  // 45 degrees counter-clockwise on the 3x3 image; output (y, x) reads the input at
  //   x' = 1 + (x - 1) cos45 - (y - 1) sin45,   y' = 1 + (x - 1) sin45 + (y - 1) cos45
  Tensor out = rotate(nine(), 45);
  const double s = std::sqrt(0.5);          // sin45 = cos45
  EXPECT_NEAR(out.at({0, 1, 1}), 5, 1e-5);  // the centre stays
  // (0, 1) reads (y', x') = (1 - s, 1 + s) = (0.29, 1.71): between pixels 2, 3, 5 and 6
  const double wy = 1 - s, wx = s;  // the distances past row 0 and column 1
  EXPECT_NEAR(out.at({0, 0, 1}), (1 - wy) * ((1 - wx) * 2 + wx * 3) + wy * ((1 - wx) * 5 + wx * 6), 1e-5);
  // (0, 0) reads (1 - 2s, 1) = (-0.41, 1): 0.41 of the way from row 0 up into the zeros outside
  EXPECT_NEAR(out.at({0, 0, 0}), (2 - 2 * s) * 2, 1e-5);
  // RandomRotation with 0 degrees changes nothing
  Generator gen(3);
  EXPECT_EQ(values(RandomRotation{0}(nine(), gen)), values(nine()));
}

TEST(Transforms, BrightnessContrastAndJitter) {
  Tensor x = image({0.0f, 0.25f, 0.5f, 1.0f}, 1, 2, 2);
  EXPECT_EQ(values(adjust_brightness(x, 0.5)), (std::vector<float>{0, 0.125f, 0.25f, 0.5f}));
  EXPECT_EQ(values(adjust_brightness(x, 2.0)), (std::vector<float>{0, 0.5f, 1, 1}));  // clamped to 1
  // contrast: mean 0.4375; m + (x - m) * 2 = 2x - m
  std::vector<float> c = values(adjust_contrast(x, 2.0));
  std::vector<float> expected = {0, 0.0625f, 0.5625f, 1};  // -0.4375 and 1.5625 clamped
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(c[i], expected[i], 1e-6);
  std::vector<float> flat = values(adjust_contrast(x, 0.0));
  for (float v : flat) EXPECT_NEAR(v, 0.4375, 1e-6);
  // each image of a batch has its own mean
  Tensor batch = Tensor::from_vector(std::vector<float>{0.2f, 0.4f, 0.6f, 0.8f}, {2, 1, 1, 2});
  std::vector<float> b = values(adjust_contrast(batch, 2.0));
  std::vector<float> b_expected = {0.1f, 0.5f, 0.5f, 0.9f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(b[i], b_expected[i], 1e-6);
  // ColorJitter: reproducible per generator seed, values stay in [0, 1]
  Generator g1(9), g2(9);
  std::vector<float> j1 = values(ColorJitter{0.5, 0.5}(x, g1)), j2 = values(ColorJitter{0.5, 0.5}(x, g2));
  EXPECT_EQ(j1, j2);
  EXPECT_NE(j1, values(x));
  for (float v : j1) EXPECT_TRUE(v >= 0 && v <= 1);
  EXPECT_EQ(values(ColorJitter{0, 0}(x, g1)), values(x));
}

TEST(Transforms, NormalizePerChannel) {
  // two channels of two pixels
  Tensor x = image({0.0f, 1.0f, 0.5f, 0.25f}, 2, 1, 2);
  Generator gen(0);
  std::vector<float> out = values(Normalize{{0.5, 0.25}, {0.5, 0.25}}(x, gen));
  std::vector<float> expected = {-1, 1, 1, 0};  // (0-0.5)/0.5, (1-0.5)/0.5, (0.5-0.25)/0.25, 0
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out[i], expected[i]);
  // one mean/std for all channels, on a batch
  Tensor batch = Tensor::full({3, 2, 1, 1}, 0.75);
  for (float v : values(normalize(batch, {0.5}, {0.25}))) EXPECT_FLOAT_EQ(v, 1.0f);
  EXPECT_CONTAINS(error_of([&] {
                    normalize(x, {0.5, 0.5, 0.5}, {1, 1, 1});
                  }),
                  "normalize: 3 means and 3 stds for an image with 2 channels (shape [2, 1, 2])");
  EXPECT_CONTAINS(error_of([&] { normalize(x, {0.5}, {0}); }), "normalize: std must be positive");
}

// --max_shift near INT64_MAX overflowed max_shift + 1 (UBSan: signed overflow): now a range error.
TEST(Transforms, HugeShiftsAreRangeErrorsOrEmptyImagesNeverOverflows) {
  Generator gen(1);
  const int64_t huge = std::numeric_limits<int64_t>::max();
  EXPECT_CONTAINS(error_of([&] { RandomShift{huge}(nine(), gen); }),
                  "RandomShift: max_shift must be from 0 to 2 for images of 3x3 pixels, got 9223372036854775807");
  EXPECT_CONTAINS(error_of([&] { RandomShift{3}(nine(), gen); }), "max_shift must be from 0 to 2");
  EXPECT_CONTAINS(error_of([&] { RandomShift{-1}(nine(), gen); }), "got -1");
  EXPECT_EQ(RandomShift{2}(nine(), gen).shape(), (Shape{1, 3, 3}));
  // shift() itself: moved out entirely, whatever the distance
  const std::vector<float> zeros(9, 0.0f);
  EXPECT_EQ(values(shift(nine(), std::numeric_limits<int64_t>::min(), huge)), zeros);
  EXPECT_EQ(values(shift(nine(), huge, std::numeric_limits<int64_t>::min())), zeros);
  EXPECT_EQ(values(shift(nine(), 3, 0)), zeros);
}

TEST(Transforms, RandomShiftDrawsPerImageAndComposeChains) {
  Generator gen(11);
  // a batch of 16 identical images: each gets its own shift, so they do not all stay identical
  Tensor batch = Tensor::zeros({16, 1, 3, 3});
  for (int64_t i = 0; i < 16; ++i) batch.data<float>()[i * 9 + 4] = 1;  // a dot in the centre
  Tensor out = RandomShift{1}(batch, gen);
  EXPECT_EQ(out.shape(), batch.shape());
  int distinct_positions = 0;
  std::vector<bool> seen(9, false);
  for (int64_t i = 0; i < 16; ++i)
    for (int p = 0; p < 9; ++p)
      if (out.data<float>()[i * 9 + p] == 1 && !seen[p]) seen[p] = true, ++distinct_positions;
  EXPECT_GT(distinct_positions, 3);
  // same seed, same result
  Generator a(4), b(4);
  EXPECT_EQ(values(RandomShift{2}(nine(), a)), values(RandomShift{2}(nine(), b)));
  // Compose applies in order: shift right by one, then normalise
  Transform t = Compose{{[](const Tensor& x, Generator&) { return shift(x, 0, 1); }, Normalize{{1}, {2}}}};
  EXPECT_EQ(values(t(nine(), gen)), (std::vector<float>{-0.5f, 0, 0.5f, -0.5f, 1.5f, 2, -0.5f, 3, 3.5f}));
  // errors name the transform and the shape
  EXPECT_CONTAINS(error_of([&] {
                    RandomShift{1}(Tensor::zeros({3, 3}), gen);
                  }),
                  "RandomShift: expected a float32 image [C, H, W] or batch [N, C, H, W], got float32 [3, 3]");
  EXPECT_CONTAINS(error_of([&] {
                    hflip(Tensor::zeros({1, 3, 3}, DType::Float64));
                  }),
                  "hflip: expected a float32 image");
}

}  // namespace test_datasets_transforms
