// ImageFolder on generated PNG/JPEG files, and resize()'s known values.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <stb_image_write.h>  // declarations only: the implementation is in datasets/image_file.cpp

#include <algorithm>
#include <set>

#include "core/fs.h"
#include "datasets/image_folder.h"
#include "datasets/transforms.h"

using namespace ember;

namespace test_cifar_image_folder {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }
std::vector<double> doubles(const Tensor& t) { return t.to_vector<double>(); }

// A width x height RGB PNG of one colour.
void solid_png(const std::string& path, int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < width * height; ++i) pixels.insert(pixels.end(), {r, g, b});
  save_png(path, width, height, 3, pixels.data());
}

void solid_jpeg(const std::string& path, int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < width * height; ++i) pixels.insert(pixels.end(), {r, g, b});
  ASSERT_NE(stbi_write_jpg(path.c_str(), width, height, 3, pixels.data(), 95), 0) << path;
}

// The first value of each image of a set: which generated file it was (files are solid colours).
std::vector<int> red_levels(const ImageSet& set) {
  std::vector<int> out;
  for (int64_t i = 0; i < set.images.size(0); ++i) out.push_back(static_cast<int>(std::lround(set.images.at({i, 0, 0, 0}) * 255)));
  return out;
}

// ---- resize --------------------------------------------------------------------------------------

TEST(CifarResize, ShrinkAveragesTheSourcePixelsUnderEachOutputPixel) {
  // 4x4 -> 2x2: the mean of each 2x2 block
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4,  5, 6, 7, 8,  9, 10, 11, 12,  13, 14, 15, 16}, {1, 4, 4});
  expect_all_near(doubles(resize(x, 2, 2)), {3.5, 5.5, 11.5, 13.5}, 1e-6);
  // 3 -> 2 along a row: (2a + b) / 3 and (b + 2c) / 3 (pixel 1 is split between both)
  Tensor row = Tensor::from_vector(std::vector<float>{3, 6, 9}, {1, 1, 3});
  expect_all_near(doubles(resize(row, 1, 2)), {4, 8}, 1e-6);
  // 4 -> 1: the mean of all
  expect_all_near(doubles(resize(x, 1, 1)), {8.5}, 1e-6);
  // an alternating stripe pattern halves to flat grey (anti-aliased), not to one of the stripes
  Tensor stripes = Tensor::from_vector(std::vector<float>{0, 1, 0, 1, 0, 1, 0, 1}, {1, 1, 8});
  expect_all_near(doubles(resize(stripes, 1, 4)), {0.5, 0.5, 0.5, 0.5}, 1e-6);
}

TEST(CifarResize, EnlargeInterpolatesBilinearly) {
  // 2 -> 4: [a, 0.75 a + 0.25 b, 0.25 a + 0.75 b, b] (centres aligned, edges clamped)
  Tensor row = Tensor::from_vector(std::vector<float>{0, 4}, {1, 1, 2});
  expect_all_near(doubles(resize(row, 1, 4)), {0, 1, 3, 4}, 1e-6);
  // 2x2 -> 4x4: the same in both directions (rows then columns)
  Tensor x = Tensor::from_vector(std::vector<float>{0, 4, 8, 12}, {1, 2, 2});
  Tensor y = resize(x, 4, 4);
  expect_all_near(doubles(y.slice(1, 0, 1)), {0, 1, 3, 4}, 1e-6);   // the top row
  expect_all_near(doubles(y.slice(1, 1, 2)), {2, 3, 5, 6}, 1e-6);   // 0.75 top + 0.25 bottom
  expect_all_near(doubles(y.slice(1, 3, 4)), {8, 9, 11, 12}, 1e-6);  // the bottom row
  // the same size is the identity; a batch and several channels are resized plane by plane
  EXPECT_EQ(values(resize(x, 2, 2)), values(x));
  Tensor batch = Tensor::rand({2, 3, 5, 7});
  Tensor small = resize(batch, 3, 4);
  EXPECT_EQ(small.shape(), (Shape{2, 3, 3, 4}));
  EXPECT_EQ(values(small.slice(0, 1, 2).slice(1, 2, 3).reshape({1, 3, 4})),
            values(resize(batch.slice(0, 1, 2).slice(1, 2, 3).reshape({1, 5, 7}), 3, 4)));
  // a mixed case: shrink one axis, enlarge the other
  EXPECT_EQ(resize(batch, 10, 2).shape(), (Shape{2, 3, 10, 2}));
  EXPECT_ERROR(resize(x, 0, 3), "resize: the size must be at least 1x1, got 0x3 (image shape [1, 2, 2])");
  Generator gen(0);
  EXPECT_EQ((Resize{3, 3}(x, gen).shape()), (Shape{1, 3, 3}));
}

// ---- ImageFolder -----------------------------------------------------------------------------------

TEST(CifarImageFolder, SplitsEveryClassWithASeededShuffle) {
  const std::string root = scratch_dir("cifar_folder") + "/pets";
  make_dirs(root + "/dog");
  make_dirs(root + "/cat");
  // cats: 5 PNGs, red level 10, 20, ..., 50; dogs: 5 PNGs, red 110, ..., 150 (sizes differ: 6x4 and 3x3)
  for (int i = 1; i <= 5; ++i) {
    solid_png(root + "/cat/" + std::to_string(i) + ".png", 6, 4, static_cast<uint8_t>(10 * i), 0, 0);
    solid_png(root + "/dog/" + std::to_string(i) + ".PNG", 3, 3, static_cast<uint8_t>(100 + 10 * i), 0, 0);
  }
  write_file_atomic(root + "/dog/notes.txt", "not an image: ignored");
  write_file_atomic(root + "/.hidden_folder_is_no_class", "");

  ImageFolderOptions options;
  options.height = 2;
  options.width = 2;
  ImageFolderData data = load_image_folder(root, options);
  EXPECT_FALSE(data.had_train_test_folders);
  EXPECT_EQ(data.train.class_names, (std::vector<std::string>{"cat", "dog"}));  // sorted
  EXPECT_EQ(data.test.class_names, data.train.class_names);
  ASSERT_EQ(data.train.images.shape(), (Shape{8, 3, 2, 2}));  // 4 of each class
  ASSERT_EQ(data.test.images.shape(), (Shape{2, 3, 2, 2}));   // round(0.2 * 5) = 1 of each
  EXPECT_EQ(data.train.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(data.test.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
  // train and test together are every image once; each example is the file it names
  std::vector<int> all = red_levels(data.train), test = red_levels(data.test);
  all.insert(all.end(), test.begin(), test.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<int>{10, 20, 30, 40, 50, 110, 120, 130, 140, 150}));
  for (const ImageSet* set : {&data.train, &data.test})
    for (size_t i = 0; i < set->files.size(); ++i) {
      const std::string& file = set->files[i];
      const int number = file[file.size() - 5] - '0';  // ".../3.png"
      const int want = (file.find("/cat/") != std::string::npos ? 0 : 100) + 10 * number;
      EXPECT_EQ(red_levels(*set)[i], want) << file;
    }

  // the same seed gives the same split; the split depends on the seed
  EXPECT_EQ(load_image_folder(root, options).test.files, data.test.files);
  std::set<std::vector<std::string>> splits;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    options.seed = seed;
    splits.insert(load_image_folder(root, options).test.files);
  }
  EXPECT_GT(splits.size(), 1u);

  // a larger fraction; every class keeps at least one training image
  options.test_fraction = 0.9;
  EXPECT_EQ(load_image_folder(root, options).train.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
  options.test_fraction = 1.0;
  EXPECT_ERROR(load_image_folder(root, options), "test_fraction must be in (0, 1), got 1");
}

TEST(CifarImageFolder, TrainAndTestFoldersAreUsedAsTheyAre) {
  const std::string root = scratch_dir("cifar_folder") + "/split";
  for (const char* part : {"train", "test"})
    for (const char* cls : {"ant", "bee"}) make_dirs(root + "/" + part + "/" + cls);
  solid_png(root + "/train/ant/a.png", 8, 8, 10, 20, 30);
  solid_jpeg(root + "/train/ant/b.jpg", 8, 8, 200, 100, 50);
  solid_png(root + "/train/bee/a.bmp.png", 4, 4, 40, 40, 40);
  solid_jpeg(root + "/test/bee/x.jpeg", 16, 16, 250, 250, 250);
  solid_png(root + "/test/ant/y.png", 2, 2, 0, 0, 0);

  ImageFolderOptions options;
  options.height = 4;
  options.width = 4;
  ImageFolderData data = load_image_folder(root, options);
  EXPECT_TRUE(data.had_train_test_folders);
  EXPECT_EQ(data.train.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(data.test.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(data.train.files[1], root + "/train/ant/b.jpg");
  // a solid JPEG decodes to about its colour, resized to 4x4 it stays solid
  Tensor jpeg = data.train.images.slice(0, 1, 2);
  for (int64_t c = 0; c < 3; ++c)
    EXPECT_NEAR(jpeg.at({0, c, 3, 3}), (std::vector<double>{200, 100, 50}[c]) / 255.0, 3 / 255.0) << c;
  EXPECT_NEAR(data.train.images.at({0, 2, 1, 2}), 30 / 255.0, 1e-6);  // the PNG is exact

  // grey: stb's (77 R + 150 G + 29 B) >> 8
  options.channels = 1;
  ImageFolderData grey = load_image_folder(root, options);
  EXPECT_EQ(grey.train.images.shape(), (Shape{3, 1, 4, 4}));
  EXPECT_NEAR(grey.train.images.at({0, 0, 0, 0}), ((77 * 10 + 150 * 20 + 29 * 30) >> 8) / 255.0, 1e-6);

  // the two halves must have the same classes
  make_dirs(root + "/test/cow");
  solid_png(root + "/test/cow/c.png", 2, 2, 1, 2, 3);
  EXPECT_ERROR(load_image_folder(root, options), "only in train: (none); only in test: cow");
}

TEST(CifarImageFolder, AnUnreadableFileIsAnErrorOrAWarning) {
  const std::string root = scratch_dir("cifar_folder") + "/bad";
  make_dirs(root + "/a");
  make_dirs(root + "/b");
  for (int i = 0; i < 3; ++i) {
    solid_png(root + "/a/" + std::to_string(i) + ".png", 4, 4, 1, 2, 3);
    solid_png(root + "/b/" + std::to_string(i) + ".png", 4, 4, 4, 5, 6);
  }
  write_file_atomic(root + "/b/broken.jpg", "this is text, not a JPEG");
  std::string message = error_of([&] { load_image_folder(root); });
  EXPECT_NE(message.find("image_folder: load_image: cannot read '" + root + "/b/broken.jpg': "), std::string::npos)
      << message;
  EXPECT_NE(message.find("skip_bad_images"), std::string::npos) << message;
  // stb's own reason follows the name
  const std::string reason = message.substr(message.find("broken.jpg': ") + 13);
  EXPECT_FALSE(reason.empty() || reason[0] == ' ' || reason[0] == '(') << message;

  ImageFolderOptions options;
  options.skip_bad_images = true;
  testing::internal::CaptureStderr();
  ImageFolderData data = load_image_folder(root, options);
  const std::string warning = testing::internal::GetCapturedStderr();
  ASSERT_EQ(data.skipped.size(), 1u);
  EXPECT_NE(data.skipped[0].find(root + "/b/broken.jpg"), std::string::npos) << data.skipped[0];
  EXPECT_NE(warning.find("image_folder: warning: skipped 1 unreadable image in " + root), std::string::npos) << warning;
  EXPECT_EQ(data.train.images.size(0) + data.test.images.size(0), 6);
}

TEST(CifarImageFolder, FoldersThatCannotBeUsedAreNamed) {
  const std::string root = scratch_dir("cifar_folder") + "/odd";
  EXPECT_ERROR(load_image_folder(root + "/missing"), "image_folder: " + root + "/missing is not a folder");
  make_dirs(root);
  EXPECT_ERROR(load_image_folder(root), "has no class folders");
  make_dirs(root + "/empty_class");
  EXPECT_ERROR(load_image_folder(root), "the class folder " + root + "/empty_class has no images");
  solid_png(root + "/empty_class/only.png", 2, 2, 0, 0, 0);
  EXPECT_ERROR(load_image_folder(root), "the class empty_class (" + root +
                                            "/empty_class) has 1 readable image; a split needs at least 2");
  ImageFolderOptions options;
  options.channels = 4;
  EXPECT_ERROR(load_image_folder(root, options), "channels must be 1 (grey) or 3 (RGB), got 4");
  // one file alone
  Tensor one = load_image_tensor(root + "/empty_class/only.png", 5, 3);
  EXPECT_EQ(one.shape(), (Shape{3, 5, 3}));
}

}  // namespace test_cifar_image_folder
