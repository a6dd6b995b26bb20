#pragma once
// Storage: one flat, 64-byte aligned block of memory that one or more tensors look into.
// Views (reshape, slicing along the first dimension) share a Storage; it is freed when the last
// tensor that uses it goes away (it lives in a shared_ptr).
#include <cstddef>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/error.h"

namespace ember {

// What Storage throws when the memory cannot be had ("storage: cannot allocate 1.0 PiB of cpu
// memory ..."); Tensor::empty catches it and says which tensor (shape and dtype) asked.
struct OutOfMemory : Error {
  OutOfMemory(size_t nbytes, const std::string& reason);
  std::string reason;  // why, e.g. "this machine has 15 GiB of memory and swap together"
};

class Storage {
 public:
  // Throws OutOfMemory when `nbytes` cannot be allocated (the process goes on).
  Storage(size_t nbytes, Device device);
  ~Storage();  // never throws: the block goes back to the cache, or to the system
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

// A size for people: "512 bytes", "3.7 KiB", "3.7 TiB", "1.0 PiB".
std::string format_bytes(size_t nbytes);

}  // namespace ember
