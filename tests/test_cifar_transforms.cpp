// The augmentations for colour photos (datasets/transforms.h), on tiny images with known results.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>

#include "datasets/transforms.h"

using namespace ember;

namespace test_cifar_transforms {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }
std::vector<double> doubles(const Tensor& t) { return t.to_vector<double>(); }

// The 3x3 image   1 2 3
//                 4 5 6
//                 7 8 9
Tensor nine() { return Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3}); }

// One RGB pixel [3, 1, 1].
Tensor pixel(float r, float g, float b) { return Tensor::from_vector(std::vector<float>{r, g, b}, {3, 1, 1}); }

// Row y of a [1, H, W] image.
std::vector<float> row(const Tensor& image, int64_t y) { return values(image.slice(1, y, y + 1)); }

TEST(CifarTransforms, PadReflectEdgeAndZero) {
  // the top row of the image, [1, 2, 3], padded by 2 (it is row 2 of the padded image)
  EXPECT_EQ(row(pad(nine(), 2, PadMode::Reflect), 2), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  EXPECT_EQ(row(pad(nine(), 2, PadMode::Edge), 2), (std::vector<float>{1, 1, 1, 2, 3, 3, 3}));
  EXPECT_EQ(row(pad(nine(), 2, PadMode::Zero), 2), (std::vector<float>{0, 0, 1, 2, 3, 0, 0}));
  // rows are mirrored too: row 0 of the reflect-padded image is image row 2, [7, 8, 9]
  Tensor reflected = pad(nine(), 2, PadMode::Reflect);
  EXPECT_EQ(reflected.shape(), (Shape{1, 7, 7}));
  EXPECT_EQ(row(reflected, 0), (std::vector<float>{9, 8, 7, 8, 9, 8, 7}));
  EXPECT_EQ(row(reflected, 6), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  EXPECT_EQ(row(pad(nine(), 1, PadMode::Edge), 0), (std::vector<float>{1, 1, 2, 3, 3}));
  // zero padding is the same as an over-hanging crop
  EXPECT_EQ(values(pad(nine(), 3)), values(crop(nine(), -3, -3, 9, 9)));
  EXPECT_EQ(values(pad(nine(), 0, PadMode::Reflect)), values(nine()));
  // a batch is padded image by image, channel by channel
  Tensor batch = Tensor::rand({2, 3, 4, 5});
  EXPECT_EQ(values(pad(batch, 2, PadMode::Reflect).slice(0, 1, 2)), values(pad(batch.slice(0, 1, 2), 2, PadMode::Reflect)));
  EXPECT_ERROR(pad(nine(), 3, PadMode::Reflect), "pad: reflect padding by 3 needs an image larger than that, got 3x3");
  EXPECT_ERROR(pad(nine(), -1), "pad: padding must be from 0 to 2^20, got -1");
}

TEST(CifarTransforms, RandomCropWithReflectPaddingCutsWindowsOfTheMirroredImage) {
  Generator gen(3);
  const Tensor padded = pad(nine(), 1, PadMode::Reflect);
  int moved = 0;
  for (int i = 0; i < 30; ++i) {
    const std::vector<float> out = values(RandomCrop{3, 1, PadMode::Reflect}(nine(), gen));
    bool is_a_window = false;
    for (int64_t top = 0; top <= 2; ++top)
      for (int64_t left = 0; left <= 2; ++left) is_a_window |= out == values(crop(padded, top, left, 3, 3));
    EXPECT_TRUE(is_a_window);
    for (float v : out) EXPECT_GE(v, 1.0f);  // no black frame
    moved += out != values(nine());
  }
  EXPECT_GT(moved, 10);
  // the same draws as zero padding: the same windows, only the border differs
  Generator a(7), b(7);
  Tensor photo = Tensor::rand({2, 3, 8, 8});
  Tensor zero = RandomCrop{8, 2}(photo, a), reflect = RandomCrop{8, 2, PadMode::Reflect}(photo, b);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_EQ(zero.shape(), reflect.shape());
  EXPECT_ERROR(RandomCrop({3, 3, PadMode::Reflect})(nine(), gen), "RandomCrop: reflect padding by 3 needs");
}

TEST(CifarTransforms, SaturationMovesTowardsOrAwayFromGrey) {
  // red: grey = 0.299
  expect_all_near(doubles(adjust_saturation(pixel(1, 0, 0), 0)), {0.299, 0.299, 0.299}, 1e-6);
  expect_all_near(doubles(adjust_saturation(pixel(1, 0, 0), 0.5)), {0.6495, 0.1495, 0.1495}, 1e-6);
  // exact: g = 0.299 * 0.5 + 0.587 * 0.25 + 0.114 * 0.25 = 0.32475; out = g + (x - g) * 2
  expect_all_near(doubles(adjust_saturation(pixel(0.5, 0.25, 0.25), 2)), {0.67525, 0.17525, 0.17525}, 1e-6);
  // clamped to [0, 1]; factor 1 keeps the image; grey stays grey
  expect_all_near(doubles(adjust_saturation(pixel(1, 0, 0), 3)), {1, 0, 0}, 1e-6);
  Tensor photo = Tensor::rand({2, 3, 4, 4});
  expect_all_near(doubles(adjust_saturation(photo, 1)), doubles(photo), 1e-6);
  expect_all_near(doubles(adjust_saturation(pixel(0.4, 0.4, 0.4), 1.7)), {0.4, 0.4, 0.4}, 1e-6);
  EXPECT_ERROR(adjust_saturation(nine(), 0.5), "adjust_saturation: expected an RGB image [3, H, W] or batch");
}

TEST(CifarTransforms, HueTurnsTheColourWheel) {
  // a third of a turn: red -> green -> blue -> red
  expect_all_near(doubles(adjust_hue(pixel(1, 0, 0), 1.0 / 3)), {0, 1, 0}, 1e-6);
  expect_all_near(doubles(adjust_hue(pixel(0, 1, 0), 1.0 / 3)), {0, 0, 1}, 1e-6);
  expect_all_near(doubles(adjust_hue(pixel(0, 0, 1), 1.0 / 3)), {1, 0, 0}, 1e-6);
  expect_all_near(doubles(adjust_hue(pixel(1, 0, 0), -1.0 / 3)), {0, 0, 1}, 1e-6);
  // half a turn: red -> cyan; dark orange (hue 30 degrees) + 30 degrees -> dark yellow
  expect_all_near(doubles(adjust_hue(pixel(1, 0, 0), 0.5)), {0, 1, 1}, 1e-6);
  expect_all_near(doubles(adjust_hue(pixel(0.8, 0.4, 0), 1.0 / 12)), {0.8, 0.8, 0}, 1e-6);
  // a pale pink keeps its saturation and value: (0.9, 0.6, 0.6) -> half a turn -> (0.6, 0.9, 0.9)
  expect_all_near(doubles(adjust_hue(pixel(0.9, 0.6, 0.6), 0.5)), {0.6, 0.9, 0.9}, 1e-6);
  // grey has no hue; shift 0 and three thirds are the round trip RGB -> HSV -> RGB
  expect_all_near(doubles(adjust_hue(pixel(0.3, 0.3, 0.3), 0.25)), {0.3, 0.3, 0.3}, 1e-6);
  Tensor photo = Tensor::rand({2, 3, 5, 5});
  expect_all_near(doubles(adjust_hue(photo, 0)), doubles(photo), 1e-6);
  Tensor turned = adjust_hue(adjust_hue(adjust_hue(photo, 1.0 / 3), 1.0 / 3), 1.0 / 3);
  expect_all_near(doubles(turned), doubles(photo), 1e-5);
  EXPECT_ERROR(adjust_hue(photo, 0.6), "adjust_hue: shift must be in [-0.5, 0.5]");
  EXPECT_ERROR(adjust_hue(nine(), 0.1), "adjust_hue: expected an RGB image");
}

TEST(CifarTransforms, ColorJitterWithSaturationAndHue) {
  Tensor photo = Tensor::rand({4, 3, 6, 6});
  Generator a(11), b(11);
  ColorJitter jitter{0.3, 0.3, 0.4, 0.1};
  EXPECT_EQ(values(jitter(photo, a)), values(jitter(photo, b)));  // reproducible
  // only saturation: the result is adjust_saturation with the factor drawn from [0.6, 1.4]
  Generator c(5), d(5);
  Tensor one = photo.slice(0, 0, 1).reshape({3, 6, 6});
  Tensor out = ColorJitter{0, 0, 0.4, 0}(one, c);
  const double factor = d.uniform(0.6, 1.4);
  EXPECT_EQ(values(out), values(adjust_saturation(one, factor)));
  // a grey image is unchanged by saturation and hue
  Tensor grey = Tensor::full({3, 4, 4}, 0.5);
  EXPECT_EQ(values(ColorJitter{0, 0, 0.5, 0.5}(grey, c)), values(grey));
  // without colour it still works on grey (1-channel) images; with it, it asks for RGB
  EXPECT_EQ((ColorJitter{0.2, 0.2}(nine(), c).shape()), (Shape{1, 3, 3}));
  EXPECT_ERROR((ColorJitter{0, 0, 0.2, 0}(nine(), c)), "ColorJitter (saturation, hue): expected an RGB image");
  EXPECT_ERROR((ColorJitter{0, 0, 0, 0.7}(photo, c)), "hue in [0, 0.5], got 0 and 0.7");
}

TEST(CifarTransforms, EraseAndCutout) {
  EXPECT_EQ(values(erase(nine(), 1, 1, 5, 5)), (std::vector<float>{1, 2, 3, 4, 0, 0, 7, 0, 0}));
  EXPECT_EQ(values(erase(nine(), -1, 0, 2, 2, 0.5)), (std::vector<float>{0.5, 0.5, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(values(erase(nine(), 5, 5, 2, 2)), values(nine()));  // entirely outside
  EXPECT_EQ(values(nine()), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}));  // the input is untouched
  // every channel gets the same hole
  Tensor rgb = Tensor::ones({3, 2, 2});
  EXPECT_EQ(values(erase(rgb, 0, 0, 1, 1)), (std::vector<float>{0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1}));
  EXPECT_ERROR(erase(nine(), 0, 0, -1, 2), "erase: the rectangle at (0, 0) of -1x2 is out of range");

  // Cutout{2} on 6x6 ones: a 2x2 square (or the part of it inside the image) of zeros
  Generator gen(2);
  const Tensor ones = Tensor::ones({1, 6, 6});
  for (int i = 0; i < 40; ++i) {
    const std::vector<float> out = values(Cutout{2}(ones, gen));
    int zeros = 0, min_y = 6, max_y = -1, min_x = 6, max_x = -1;
    for (int j = 0; j < 36; ++j)
      if (out[j] == 0) {
        ++zeros;
        min_y = std::min(min_y, j / 6), max_y = std::max(max_y, j / 6);
        min_x = std::min(min_x, j % 6), max_x = std::max(max_x, j % 6);
      }
    ASSERT_TRUE(zeros == 1 || zeros == 2 || zeros == 4) << zeros;
    EXPECT_EQ((max_y - min_y + 1) * (max_x - min_x + 1), zeros);  // a filled rectangle
  }
  EXPECT_EQ(values((Cutout{3, 0.0}(ones, gen))), values(ones));  // p = 0: never
  Generator a(4), b(4);
  Tensor batch = Tensor::rand({3, 3, 8, 8});
  EXPECT_EQ(values(Cutout{4}(batch, a)), values(Cutout{4}(batch, b)));
  EXPECT_ERROR((Cutout{9}(ones, gen)), "Cutout: size must be from 0 to 6");
}

TEST(CifarTransforms, ChannelMeanStdOfATrainingSet) {
  // 2 images, 2 channels, 1x2 pixels: channel 0 holds 1, 3, 5, 7 and channel 1 holds 0, 0, 2, 2
  Tensor images = Tensor::from_vector(std::vector<float>{1, 3, 0, 0, 5, 7, 2, 2}, {2, 2, 1, 2});
  ChannelStats stats = channel_mean_std(images);
  expect_all_near(stats.mean, {4, 1}, 1e-12);
  expect_all_near(stats.std, {std::sqrt(5.0), 1}, 1e-12);  // population: (9 + 1 + 1 + 9) / 4 = 5
  // normalising with them gives mean 0 and std 1 per channel
  Generator gen(0);
  ChannelStats after = channel_mean_std(Normalize{stats.mean, stats.std}(images, gen));
  expect_all_near(after.mean, {0, 0}, 1e-6);
  expect_all_near(after.std, {1, 1}, 1e-6);
  // one image [C, H, W] works too
  expect_all_near(channel_mean_std(nine()).mean, {5}, 1e-12);
  EXPECT_ERROR(channel_mean_std(Tensor::zeros({2, 3})), "channel_mean_std: expected a float32 image");
}

}  // namespace test_cifar_transforms
