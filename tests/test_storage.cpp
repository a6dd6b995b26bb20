// Storage when memory runs out: a request no machine can meet is an ember::Error that names the
// size (and, through Tensor::empty, the shape and dtype), and the process carries on.
#include <gtest/gtest.h>

#include <cstdint>
#include <type_traits>

#include "core/storage.h"
#include "core/tensor.h"
#include "tests/test_util.h"

// In the sanitizer build, let a refused allocation come back as nullptr (as it does without
// AddressSanitizer) instead of ASan stopping the process.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif

using namespace ember;

namespace test_storage {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

TEST(Storage, AskingForTwoToTheFiftyBytesIsAnErrorAndTheProcessGoesOn) {
  const size_t huge = size_t(1) << 50;
  const std::string message = error_of([&] { Storage storage(huge, Device::CPU); });
  EXPECT_NE(message.find("storage: cannot allocate 1.0 PiB (1125899906842624 bytes) of cpu memory"),
            std::string::npos)
      << message;
  try {
    Storage storage(huge, Device::CPU);
    FAIL() << "no error for 2^50 bytes";
  } catch (const OutOfMemory& e) {
    EXPECT_FALSE(e.reason.empty());
  }

  // Life goes on: small blocks still come, and can be written.
  Storage small(1000, Device::CPU);
  static_cast<char*>(small.data())[999] = 1;
  Tensor t = Tensor::ones({4, 5});
  EXPECT_EQ(t.sum().item(), 20.0);
}

TEST(Storage, ATensorTooLargeForMemoryNamesItsShapeAndDtype) {
  // 2^48 float32 elements = 2^50 bytes
  const std::string message = error_of([] { Tensor::empty({int64_t(1) << 24, int64_t(1) << 24}, DType::Float32); });
  EXPECT_NE(message.find("cannot allocate 1.0 PiB for a float32 tensor of shape [16777216, 16777216]"),
            std::string::npos)
      << message;
  EXPECT_NE(Tensor::zeros({3}).defined(), false);
}

TEST(Storage, TheDestructorCannotThrow) {
  // ~Storage runs while another exception unwinds (a failed allocation in the middle of building a
  // model): a throw there would end the program.
  static_assert(std::is_nothrow_destructible_v<Storage>);
  for (int i = 0; i < 100; ++i) Storage block(size_t(1) << (i % 20), Device::CPU);  // into the cache and out
  release_cached_memory();
}

TEST(Storage, SizesAreWrittenForPeople) {
  EXPECT_EQ(format_bytes(0), "0 bytes");
  EXPECT_EQ(format_bytes(1), "1 byte");
  EXPECT_EQ(format_bytes(1023), "1023 bytes");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(size_t(3) << 20), "3.0 MiB");
  EXPECT_EQ(format_bytes(size_t(37) << 40), "37 TiB");
  EXPECT_EQ(format_bytes(size_t(4070) << 30), "4.0 TiB");
}

}  // namespace test_storage
