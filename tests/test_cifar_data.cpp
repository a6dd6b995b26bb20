// The CIFAR-10 data helpers: scripts/get_cifar10.sh (offline paths only: the test never downloads)
// and the Fashion-MNIST fallback on generated IDX files.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/fs.h"
#include "datasets/cifar_fallback.h"
#include "datasets/idx.h"

using namespace ember;

namespace test_cifar_data {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

struct ScriptRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs scripts/get_cifar10.sh on `dir`. CIFAR10_URL points at a file that does not exist, so a
// machine with internet does not download 170 MB during the tests either.
ScriptRun get_cifar10(const std::string& dir, const std::string& extra_args = "") {
  const std::string log = dir + ".log";
  const std::string command = "CIFAR10_URL=file:///nonexistent/cifar-10-binary.tar.gz bash " +
                              std::string(EMBER_SOURCE_DIR) + "/scripts/get_cifar10.sh " + dir + extra_args +
                              " >" + log + " 2>&1";
  const int status = std::system(command.c_str());
  ScriptRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.output = read_file(log);
  return run;
}

void write_bytes(const std::string& path, size_t n) {
  std::ofstream(path, std::ios::binary) << std::string(n, '\0');
}

const char* kCifarFiles[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                             "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};

TEST(CifarScript, WithoutNetworkSaysWhereToPutTheFilesAndExits3) {
  const std::string dir = scratch_dir("cifar") + "/cifar10";
  ScriptRun run = get_cifar10(dir);
  EXPECT_EQ(run.exit_code, 3) << run.output;
  for (const char* name : kCifarFiles) EXPECT_NE(run.output.find(name), std::string::npos) << name << "\n" << run.output;
  EXPECT_NE(run.output.find(dir + "/"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("c32a1d4ab5d03f1284b67883e8d87530"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Fashion-MNIST"), std::string::npos) << run.output;
  EXPECT_FALSE(file_exists(dir + "/.download"));  // nothing half-downloaded stays behind
  EXPECT_FALSE(has_cifar10(dir));
}

TEST(CifarScript, FilesAlreadyThereAreKeptAndNothingIsDownloaded) {
  const std::string dir = scratch_dir("cifar") + "/cifar10";
  make_dirs(dir);
  for (const char* name : kCifarFiles) write_bytes(dir + "/" + name, 2 * 3073);  // two records each
  write_file_atomic(dir + "/SOURCE.txt", "made by the test\n");
  EXPECT_TRUE(has_cifar10(dir));
  for (int time = 0; time < 2; ++time) {  // idempotent
    ScriptRun run = get_cifar10(dir);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("found in " + dir + "/ (made by the test)"), std::string::npos) << run.output;
  }
  // a truncated file (not a whole number of records) is not "there"
  write_bytes(dir + "/test_batch.bin", 3000);
  EXPECT_FALSE(has_cifar10(dir));
  EXPECT_EQ(get_cifar10(dir).exit_code, 3);
}

TEST(CifarScript, AnArchiveWithTheWrongMd5IsRefused) {
  const std::string dir = scratch_dir("cifar") + "/cifar10";
  make_dirs(dir);
  write_file_atomic(dir + "/cifar-10-binary.tar.gz", "not the archive");
  ScriptRun run = get_cifar10(dir);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("expected c32a1d4ab5d03f1284b67883e8d87530"), std::string::npos) << run.output;
  EXPECT_FALSE(has_cifar10(dir));
}

TEST(CifarScript, WrongUsageExits2) {
  const std::string dir = scratch_dir("cifar") + "/cifar10";
  ScriptRun run = get_cifar10(dir, " second-argument");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("usage: scripts/get_cifar10.sh [DIR]"), std::string::npos) << run.output;
}

// ---- the Fashion-MNIST fallback ----------------------------------------------------------------

TEST(CifarFallback, PadsTo32x32AndRepeatsTheGreyPlane) {
  // three generated "Fashion-MNIST" images: image i has pixel (y, x) = (i + y + x) % 256
  const std::string dir = scratch_dir("cifar") + "/fashion";
  make_dirs(dir);
  const int64_t n = 3;
  std::vector<uint8_t> pixels(n * 28 * 28);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < 28; ++y)
      for (int64_t x = 0; x < 28; ++x) pixels[(i * 28 + y) * 28 + x] = static_cast<uint8_t>((i + y + x) % 256);
  write_idx(dir + "/train-images-idx3-ubyte.gz", {n, 28, 28}, pixels, /*gzip=*/true);
  write_idx(dir + "/train-labels-idx1-ubyte", {n}, {7, 0, 9});

  Cifar10Data data = load_fashion_mnist_as_cifar(Split::Train, dir);
  ASSERT_EQ(data.images.shape(), (Shape{3, 3, 32, 32}));
  EXPECT_EQ(data.labels.to_vector<int64_t>(), (std::vector<int64_t>{7, 0, 9}));
  EXPECT_EQ(data.class_names, fashion_mnist_class_names());
  EXPECT_EQ(data.class_names[9], "Ankle boot");
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 32; ++y)
        for (int64_t x = 0; x < 32; ++x) {
          const bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          const double want = inside ? ((i + (y - 2) + (x - 2)) % 256) / 255.0 : 0.0;
          ASSERT_NEAR(data.images.at({i, c, y, x}), want, 1e-7) << i << " " << c << " " << y << " " << x;
        }
}

TEST(CifarFallback, ErrorsNameTheProblem) {
  MnistData wrong;
  wrong.images = Tensor::zeros({2, 1, 32, 32});
  wrong.labels = Tensor::zeros({2}, DType::Int64);
  EXPECT_ERROR(mnist_as_cifar(wrong), "mnist_as_cifar: expected float32 images [N, 1, 28, 28], got [2, 1, 32, 32]");
  wrong.images = Tensor::zeros({2, 1, 28, 28});
  wrong.labels = Tensor::zeros({3}, DType::Int64);
  EXPECT_ERROR(mnist_as_cifar(wrong), "mnist_as_cifar: 2 images but labels of shape [3]");
  const std::string empty = scratch_dir("cifar");
  EXPECT_ERROR(load_fashion_mnist_as_cifar(Split::Test, empty), "dataset-fashion-mnist");
  const std::string notice = cifar10_fallback_notice("data/cifar10");
  EXPECT_NE(notice.find("data/cifar10/"), std::string::npos) << notice;
  EXPECT_NE(notice.find("scripts/get_cifar10.sh"), std::string::npos) << notice;
  EXPECT_NE(notice.find("FALLING BACK to Fashion-MNIST"), std::string::npos) << notice;
}

}  // namespace test_cifar_data
