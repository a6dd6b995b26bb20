#pragma once
// Storage: one flat block of memory that one or more tensors look into, on one device: 64-byte
// aligned CPU memory, or GPU memory for a CUDA tensor. Views (reshape, slicing along the first
// dimension) share a Storage; it is freed when the last tensor that uses it goes away (it lives in
// a shared_ptr). The memory comes from the device's Allocator (below).
#include <cstddef>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/error.h"

namespace ember {

// What Storage throws when the memory cannot be had ("storage: cannot allocate 1.0 PiB of cpu
// memory ..."); Tensor::empty catches it and says which tensor (shape and dtype) asked.
struct OutOfMemory : Error {
  OutOfMemory(size_t nbytes, const std::string& reason, Device device = Device::CPU);
  std::string reason;  // why, e.g. "this machine has 15 GiB of memory and swap together"
};

// Where a device's memory comes from. Both keep freed blocks for the next request of the same size
// (a training step asks for the same sizes every time): the CPU's in storage.cpp, the GPU's over
// cudaMalloc in cuda/allocator.cu (see cuda_memory_stats() in core/cuda_backend.h).
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;                // throws OutOfMemory
  virtual void release(void* p, size_t nbytes) noexcept = 0;  // back to the cache (or the system)
  virtual void release_cached() = 0;                        // the cached blocks back to the system
};

// The allocator of a device; for Device::CUDA an error when the build or the machine has no GPU.
Allocator& allocator_for(Device device);

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
  Allocator* allocator_ = nullptr;
};

// Freed blocks are kept for reuse by the next tensor of the same size (storage.cpp); this
// returns them all to the system (the GPU's too, where one is in use).
void release_cached_memory();

// A size for people: "512 bytes", "3.7 KiB", "3.7 TiB", "1.0 PiB".
std::string format_bytes(size_t nbytes);

}  // namespace ember
