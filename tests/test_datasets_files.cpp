// Reading datasets from files: IDX (raw and gzip), MNIST, Fashion-MNIST, CIFAR-10. The tests write
// small files of known content into a scratch folder and read them back; the error tests cut or
// corrupt those files and check that the message names the file and what was expected.
#include <gtest/gtest.h>

#include "tests/test_util.h"
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "datasets/cifar10.h"
#include "datasets/idx.h"
#include "datasets/mnist.h"
#include "core/fs.h"

using namespace ember;

namespace test_datasets_files {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// A fresh folder for the running test (ctest runs tests in parallel, each in its own process).
std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = std::string(EMBER_TEST_TMP) + "/datasets/" + info->test_suite_name() + "." + info->name();
  std::filesystem::remove_all(dir);
  make_dirs(dir);
  return dir;
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// gzip-compresses `bytes` into `path` with zlib directly (not through write_idx).
void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text) << "\nexpected: " << (part)

std::vector<uint8_t> counting_bytes(int64_t n, int mul = 7) {
  std::vector<uint8_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * mul + 3) % 256);
  return v;
}

// ---- IDX -------------------------------------------------------------------------------------------

TEST(Idx, HeaderIsBigEndianMagicAndSizes) {
  const std::string dir = scratch_dir();
  write_idx(dir + "/a", {3, 4, 258}, counting_bytes(3 * 4 * 258));
  const std::string file = read_file(dir + "/a");
  // magic 0x00000803, then 3, 4 and 258 = 0x102 as 32-bit big-endian numbers
  const std::string header("\x00\x00\x08\x03\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x01\x02", 16);
  ASSERT_EQ(file.size(), 16u + 3 * 4 * 258);
  EXPECT_EQ(file.substr(0, 16), header);
  EXPECT_EQ(static_cast<uint8_t>(file[16]), 3);  // the first element
}

TEST(Idx, RoundTripRawAndGzip) {
  const std::string dir = scratch_dir();
  const std::vector<uint8_t> images = counting_bytes(5 * 28 * 28);
  write_idx(dir + "/raw", {5, 28, 28}, images);
  write_idx(dir + "/packed", {5, 28, 28}, images, /*gzip=*/true);
  const std::string packed = read_file(dir + "/packed");
  EXPECT_EQ(static_cast<uint8_t>(packed[0]), 0x1f);  // the gzip magic bytes
  EXPECT_EQ(static_cast<uint8_t>(packed[1]), 0x8b);
  for (const char* name : {"/raw", "/packed"}) {
    IdxFile idx = read_idx(dir + name, 3);
    EXPECT_EQ(idx.dims, (std::vector<int64_t>{5, 28, 28}));
    EXPECT_EQ(idx.bytes, images);
  }
  // gzip is detected by content, not by name; and a gzip file made by zlib itself reads too
  std::string raw = read_file(dir + "/raw");
  write_gzip(dir + "/by-zlib.bin", raw);
  EXPECT_EQ(read_idx(dir + "/by-zlib.bin").bytes, images);
  // labels: one dimension
  write_idx(dir + "/labels.gz", {4}, {1, 2, 3, 9}, true);
  IdxFile labels = read_idx(dir + "/labels.gz", 1);
  EXPECT_EQ(labels.dims, (std::vector<int64_t>{4}));
  EXPECT_EQ(labels.bytes, (std::vector<uint8_t>{1, 2, 3, 9}));
}

TEST(Idx, TruncatedFilesNameTheFileAndTheSizes) {
  const std::string dir = scratch_dir();
  // A t10k image file cut after 4096 bytes and then gzipped: the header promises 16 + 10000*28*28.
  std::string header("\x00\x00\x08\x03\x00\x00\x27\x10\x00\x00\x00\x1c\x00\x00\x00\x1c", 16);
  std::string cut = header + std::string(4096 - 16, '\x7f');
  write_gzip(dir + "/t10k-images-idx3-ubyte.gz", cut);
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/t10k-images-idx3-ubyte.gz", 3); }),
                  "idx: truncated file " + dir + "/t10k-images-idx3-ubyte.gz: expected 7840016 bytes, got 4096");
  // the same, not compressed
  write_bytes(dir + "/t10k-images-idx3-ubyte", cut);
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/t10k-images-idx3-ubyte", 3); }),
                  "idx: truncated file " + dir + "/t10k-images-idx3-ubyte: expected 7840016 bytes, got 4096");
  // cut inside the header
  write_bytes(dir + "/short", header.substr(0, 10));
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/short"); }), "expected at least 16 bytes");
  // a gzip download that stopped half way: the compressed stream itself is cut
  write_idx(dir + "/full.gz", {20, 28, 28}, counting_bytes(20 * 28 * 28, 13), true);
  std::string gz = read_file(dir + "/full.gz");
  write_bytes(dir + "/half.gz", gz.substr(0, gz.size() / 2));
  std::string message = error_of([&] { read_idx(dir + "/half.gz", 3); });
  EXPECT_CONTAINS(message, "idx: truncated file " + dir + "/half.gz: expected 15696 bytes, got ");
  // only the 8-byte gzip trailer (CRC and length) missing: all the data is there, the file is still cut
  write_bytes(dir + "/no-trailer.gz", gz.substr(0, gz.size() - 8));
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/no-trailer.gz", 3); }), "truncated file " + dir + "/no-trailer.gz");
}

TEST(Idx, WrongMagicNumberExtraBytesAndMissingFile) {
  const std::string dir = scratch_dir();
  write_idx(dir + "/images", {2, 3, 3}, counting_bytes(18));
  EXPECT_CONTAINS(
      error_of([&] { read_idx(dir + "/images", 1); }),
      "idx: wrong magic number in " + dir + "/images: 0x00000803, expected 0x00000801 (unsigned bytes, 1 dimension)");
  write_bytes(dir + "/text.txt", "hello, world");
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/text.txt"); }),
                  "idx: wrong magic number in " + dir + "/text.txt: 0x68656C6C, expected 0x000008NN");
  // an IDX file of floats (type 0x0D) is a valid IDX file, but not one this reader supports
  write_bytes(dir + "/floats", std::string("\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x80\x3f", 12));
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/floats"); }), "0x00000D01, expected 0x000008NN (unsigned bytes");
  // one byte too many
  write_bytes(dir + "/long", read_file(dir + "/images") + "x");
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/long", 3); }),
                  "idx: " + dir + "/long has 35 bytes, expected 34 for dimensions [2, 3, 3]");
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/nothing-here"); }), "idx: file not found: " + dir + "/nothing-here");
  // gzip magic bytes followed by garbage
  write_bytes(dir + "/bad.gz", std::string("\x1f\x8b\x08\x00garbage-garbage-garbage", 27));
  EXPECT_CONTAINS(error_of([&] { read_idx(dir + "/bad.gz"); }), "idx: " + dir + "/bad.gz is not a valid gzip file");
  // write_idx checks its arguments
  EXPECT_CONTAINS(error_of([&] {
                    write_idx(dir + "/x", {2, 3}, counting_bytes(5));
                  }),
                  "write_idx: " + dir + "/x: dimensions [2, 3] need 6 bytes, got 5");
}

// ---- MNIST -----------------------------------------------------------------------------------------

// Writes an MNIST-style split: n images whose pixel (i, y, x) is (i * 31 + y * 28 + x) % 256, and
// the labels given; images gzipped, labels raw (both forms occur).
void write_mnist_split(const std::string& dir, const std::string& prefix, const std::vector<uint8_t>& labels) {
  const int64_t n = static_cast<int64_t>(labels.size());
  std::vector<uint8_t> pixels(n * 28 * 28);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < 28 * 28; ++p) pixels[i * 784 + p] = static_cast<uint8_t>((i * 31 + p) % 256);
  write_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz", {n, 28, 28}, pixels, true);
  write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", {n}, labels);
}

TEST(Mnist, LoadsBothSplitsFromGeneratedFiles) {
  const std::string dir = scratch_dir();
  write_mnist_split(dir, "train", {5, 0, 4, 1, 9});
  write_mnist_split(dir, "t10k", {7, 2});
  EXPECT_TRUE(has_mnist(dir));
  MnistData train = load_mnist(dir, Split::Train);
  EXPECT_EQ(train.name, "MNIST");
  EXPECT_EQ(train.images.shape(), (Shape{5, 1, 28, 28}));
  EXPECT_EQ(train.images.dtype(), DType::Float32);
  EXPECT_EQ(train.labels.to_vector<int64_t>(), (std::vector<int64_t>{5, 0, 4, 1, 9}));
  EXPECT_EQ(train.class_names[5], "5");
  // every pixel is its byte / 255
  const float* p = train.images.data<float>();
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t y = 0; y < 28; ++y)
      for (int64_t x = 0; x < 28; ++x)
        ASSERT_EQ(p[((i * 28) + y) * 28 + x], static_cast<float>((i * 31 + y * 28 + x) % 256) / 255.0f);
  EXPECT_FLOAT_EQ(train.images.at({1, 0, 7, 20}), ((31 + 7 * 28 + 20) % 256) / 255.0f);
  MnistData test = load_mnist(dir, Split::Test);
  EXPECT_EQ(test.images.shape(), (Shape{2, 1, 28, 28}));
  EXPECT_EQ(test.labels.to_vector<int64_t>(), (std::vector<int64_t>{7, 2}));
  // the same files read as Fashion-MNIST get its class names
  MnistData fashion = load_fashion_mnist(Split::Test, dir);
  EXPECT_EQ(fashion.name, "Fashion-MNIST");
  EXPECT_EQ(fashion.class_names[fashion.labels.data<int64_t>()[0]], "Sneaker");
  EXPECT_EQ(fashion.class_names[9], "Ankle boot");
}

TEST(Mnist, ErrorsNameTheFilesAndTheFolder) {
  const std::string dir = scratch_dir();
  std::string message = error_of([&] { load_mnist(dir, Split::Train); });
  const std::string looked_for = "looked for train-images-idx3-ubyte and train-images-idx3-ubyte.gz in " + dir + "/";
  EXPECT_CONTAINS(message, "MNIST: train split not found: " + looked_for);
  EXPECT_CONTAINS(message, "scripts/get_mnist.sh");
  EXPECT_FALSE(has_mnist(dir));
  write_mnist_split(dir, "train", {1, 2, 3});
  EXPECT_FALSE(has_mnist(dir));  // no test split yet
  EXPECT_CONTAINS(error_of([&] { load_mnist(dir, Split::Test); }), "looked for t10k-images-idx3-ubyte");
  EXPECT_CONTAINS(error_of([&] { load_mnist(dir, Split::Val); }), "MNIST: there is no val split");
  // three images, two labels
  write_idx(dir + "/train-labels-idx1-ubyte", {2}, {1, 2});
  EXPECT_CONTAINS(error_of([&] { load_mnist(dir, Split::Train); }),
                  "train-images-idx3-ubyte.gz has 3 images but " + dir + "/train-labels-idx1-ubyte has 2 labels");
  // a label that is not a digit
  write_idx(dir + "/train-labels-idx1-ubyte", {3}, {1, 12, 3});
  EXPECT_CONTAINS(error_of([&] { load_mnist(dir, Split::Train); }), "MNIST: label 12 of example 1");
  // images of the wrong size
  write_idx(dir + "/t10k-images-idx3-ubyte", {2, 32, 32}, counting_bytes(2 * 32 * 32));
  write_idx(dir + "/t10k-labels-idx1-ubyte", {2}, {1, 2});
  EXPECT_CONTAINS(error_of([&] { load_mnist(dir, Split::Test); }), "holds images of size [32, 32], expected [28, 28]");
  // labels and images swapped: the magic number says so
  std::filesystem::copy_file(dir + "/t10k-labels-idx1-ubyte", dir + "/train-images-idx3-ubyte");
  EXPECT_CONTAINS(error_of([&] { load_mnist(dir, Split::Train); }),
                  "wrong magic number in " + dir + "/train-images-idx3-ubyte: 0x00000801, expected 0x00000803");
}

TEST(Mnist, RealFashionMnistWhenInstalled) {
  if (!has_mnist(kFashionMnistDir)) GTEST_SKIP() << "Fashion-MNIST is not installed in " << kFashionMnistDir;
  MnistData test = load_fashion_mnist(Split::Test);
  ASSERT_EQ(test.images.shape(), (Shape{10000, 1, 28, 28}));
  // the Fashion-MNIST test set has exactly 1000 images of each class
  std::vector<int64_t> per_class(10, 0);
  for (int64_t label : test.labels.to_vector<int64_t>()) per_class.at(label)++;
  EXPECT_EQ(per_class, std::vector<int64_t>(10, 1000));
  const float* p = test.images.data<float>();
  float lo = 1, hi = 0;
  for (int64_t i = 0; i < test.images.numel(); ++i) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}

TEST(Mnist, RealDigitsWhenFetched) {
  const std::string dir = std::string(EMBER_SOURCE_DIR) + "/" + kMnistDir;
  if (!has_mnist(dir)) GTEST_SKIP() << "no MNIST in " << dir << " (scripts/get_mnist.sh fetches it)";
  MnistData test = load_mnist(dir, Split::Test);
  const int64_t n = test.labels.numel();
  EXPECT_GE(n, 2000);
  std::vector<int64_t> per_class(10, 0);
  for (int64_t label : test.labels.to_vector<int64_t>()) per_class.at(label)++;
  for (int64_t count : per_class) EXPECT_GT(count, n / 20);  // every digit is there, roughly a tenth each
  // handwritten digits: mostly black background; MNIST's mean pixel is 0.13
  EXPECT_NEAR(test.images.mean().item(), 0.13, 0.02);
}

// ---- CIFAR-10 --------------------------------------------------------------------------------------

// A CIFAR-10 binary file of records whose pixel (c, y, x) of record r is (first + r + c * 50 + y * 32 + x) % 256.
std::string cifar_records(const std::vector<uint8_t>& labels, int first) {
  std::string file;
  for (size_t r = 0; r < labels.size(); ++r) {
    file.push_back(static_cast<char>(labels[r]));
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) file.push_back(static_cast<char>((first + int(r) + c * 50 + p) % 256));
  }
  return file;
}

TEST(Cifar10, LoadsGeneratedBinaryFiles) {
  const std::string dir = scratch_dir();
  // train: 2 + 1 + 1 + 1 + 1 records, test: 2
  write_bytes(dir + "/data_batch_1.bin", cifar_records({3, 8}, 10));
  for (int i = 2; i <= 5; ++i)
    write_bytes(dir + "/data_batch_" + std::to_string(i) + ".bin", cifar_records({uint8_t(i)}, i * 100));
  write_bytes(dir + "/test_batch.bin", cifar_records({9, 0}, 7));

  Cifar10Data train = load_cifar10(dir, Split::Train);
  EXPECT_EQ(train.images.shape(), (Shape{6, 3, 32, 32}));
  EXPECT_EQ(train.labels.to_vector<int64_t>(), (std::vector<int64_t>{3, 8, 2, 3, 4, 5}));
  EXPECT_EQ(train.class_names[3], "cat");
  // record 1 of batch 1: red (c=0) at (0, 0), green at (2, 5), blue at (31, 31)
  EXPECT_FLOAT_EQ(train.images.at({1, 0, 0, 0}), ((10 + 1) % 256) / 255.0f);
  EXPECT_FLOAT_EQ(train.images.at({1, 1, 2, 5}), ((10 + 1 + 50 + 2 * 32 + 5) % 256) / 255.0f);
  EXPECT_FLOAT_EQ(train.images.at({1, 2, 31, 31}), ((10 + 1 + 100 + 1023) % 256) / 255.0f);
  // the first record of data_batch_4 is example 4
  EXPECT_FLOAT_EQ(train.images.at({4, 2, 1, 1}), ((400 + 100 + 33) % 256) / 255.0f);

  Cifar10Data test = load_cifar10(dir, Split::Test);
  EXPECT_EQ(test.images.shape(), (Shape{2, 3, 32, 32}));
  EXPECT_EQ(test.labels.to_vector<int64_t>(), (std::vector<int64_t>{9, 0}));
  EXPECT_FLOAT_EQ(test.images.at({0, 1, 0, 3}), ((7 + 50 + 3) % 256) / 255.0f);
}

TEST(Cifar10, ErrorsSayWhereToPutTheFilesAndWhatIsWrong) {
  const std::string dir = scratch_dir();
  std::string message = error_of([&] { load_cifar10(dir + "/cifar10", Split::Train); });
  const std::string not_found = dir + "/cifar10/data_batch_1.bin not found.";
  EXPECT_CONTAINS(message, "cifar10: " + not_found + " Download \"CIFAR-10 binary version\" (cifar-10-binary.tar.gz)");
  EXPECT_CONTAINS(message,
                  "so that " + dir + "/cifar10/ holds data_batch_1.bin ... data_batch_5.bin and test_batch.bin");
  // not a whole number of records
  write_bytes(dir + "/test_batch.bin", cifar_records({1, 2}, 0) + "xyz");
  EXPECT_CONTAINS(error_of([&] { load_cifar10(dir, Split::Test); }),
                  "cifar10: " + dir + "/test_batch.bin has 6149 bytes, which is not a multiple of 3073");
  // a label that is not a CIFAR-10 class
  write_bytes(dir + "/test_batch.bin", cifar_records({1, 42}, 0));
  EXPECT_CONTAINS(error_of([&] { load_cifar10(dir, Split::Test); }),
                  "cifar10: record 1 of " + dir + "/test_batch.bin has label 42, expected 0..9");
  EXPECT_CONTAINS(error_of([&] { load_cifar10(dir, Split::Val); }), "cifar10: there is no val split");
}

}  // namespace test_datasets_files
