// read_file and InputFile (core/fs.h): only regular files, never more than the cap, errors that
// name the path.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"

using ember::error_of;
namespace fs = std::filesystem;

namespace test_common_files_fs {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch(const std::string& name) {
  fs::path dir = fs::path(EMBER_TEST_TMP) / ("fs_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(CoreFs, ReadFileRefusesWhatIsNotARegularFile) {
  std::string msg = error_of([] { ember::read_file("/dev/zero"); });
  EXPECT_TRUE(contains(msg, "read_file: '/dev/zero' is a character device, not a regular file")) << msg;

  const std::string dir = scratch("kinds");
  msg = error_of([&] { ember::read_file(dir); });
  EXPECT_TRUE(contains(msg, "read_file: '" + dir + "' is a folder, not a regular file")) << msg;

  ASSERT_EQ(mkfifo((dir + "/pipe").c_str(), 0600), 0);
  msg = error_of([&] { ember::read_file(dir + "/pipe"); });  // returns at once, no writer needed
  EXPECT_TRUE(contains(msg, "read_file: '" + dir + "/pipe' is a FIFO (named pipe), not a regular file")) << msg;

  // a symbolic link to a regular file is fine
  ember::write_file_atomic(dir + "/target.txt", "through the link");
  fs::create_symlink(dir + "/target.txt", dir + "/link.txt");
  EXPECT_EQ(ember::read_file(dir + "/link.txt"), "through the link");
}

TEST(CoreFs, ReadFileCapNamesTheCap) {
  const std::string dir = scratch("cap");
  ember::write_file_atomic(dir + "/ten.txt", "0123456789");
  EXPECT_EQ(ember::read_file(dir + "/ten.txt", 10), "0123456789");
  std::string msg = error_of([&] { ember::read_file(dir + "/ten.txt", 9); });
  EXPECT_TRUE(contains(msg, "read_file: '" + dir + "/ten.txt' is 10 bytes, more than the cap of 9 bytes")) << msg;
  EXPECT_EQ(ember::kDefaultReadCap, uint64_t(1) << 30);
}

TEST(CoreFs, InputFileReadsAtOffsetsAndNamesTheEnd) {
  const std::string dir = scratch("input");
  ember::write_file_atomic(dir + "/f.bin", "abcdef");
  ember::InputFile file(dir + "/f.bin", "loader");
  EXPECT_EQ(file.size(), 6u);
  char buffer[3];
  file.read_at(2, buffer, 3);
  EXPECT_EQ(std::string(buffer, 3), "cde");
  std::string msg = error_of([&] { file.read_at(4, buffer, 3); });
  EXPECT_TRUE(contains(msg, "loader: '" + dir + "/f.bin' ends at offset 6, expected 3 bytes from offset 4")) << msg;
  msg = error_of([&] { ember::InputFile missing(dir + "/nope", "loader"); });
  EXPECT_TRUE(contains(msg, "loader: cannot open '" + dir + "/nope': No such file or directory")) << msg;
}

}  // namespace test_common_files_fs
