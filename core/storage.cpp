#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace ember {

// Every allocation of tensor memory goes through here: this is where a GPU backend would call
// cudaMalloc instead.
Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  check(device == Device::CPU, "storage: device '", device_name(device),
        "' has no backend in this build (only cpu)");
  // aligned_alloc wants a size that is a multiple of the alignment; round up (and never ask for 0).
  size_t rounded = ((nbytes + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  data_ = std::aligned_alloc(64, rounded);
  if (!data_) throw std::bad_alloc();
}

Storage::~Storage() { std::free(data_); }

}  // namespace ember
