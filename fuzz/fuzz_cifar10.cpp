// CIFAR-10 binary batches (datasets/cifar10.cpp): the bytes are test_batch.bin.
#include "core/error.h"
#include "datasets/cifar10.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember_fuzz::write_input("test_batch.bin", data, size);
  try {
    ember::Cifar10Data d = ember::load_cifar10(ember_fuzz::scratch_folder(), ember::Split::Test);
    if (d.images.shape()[0] * 3073 != static_cast<int64_t>(size)) std::abort();  // every record, nothing else
  } catch (const ember::Error&) {
  }
  return 0;
}
