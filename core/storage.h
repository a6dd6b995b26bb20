#pragma once
// Storage: one flat, 64-byte aligned block of memory that one or more tensors look into.
// Views (reshape, slicing along the first dimension) share a Storage; it is freed when the last
// tensor that uses it goes away (it lives in a shared_ptr).
#include <cstddef>
#include <memory>

#include "core/dtype.h"

namespace ember {

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_ = Device::CPU;
};

// Freed blocks are kept for reuse by the next tensor of the same size (storage.cpp); this
// returns them all to the system.
void release_cached_memory();

}  // namespace ember
