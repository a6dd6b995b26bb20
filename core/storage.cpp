#include "core/storage.h"

#include <sys/sysinfo.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "core/cuda_backend.h"
#include "core/error.h"

namespace ember {

namespace {

// A small caching allocator. A training loop asks for the same sizes at every step (activations,
// gradients, workspaces); returning a freed block to the next request of the same size avoids both
// the allocation and - for large blocks, which the C library gets fresh from the kernel - the page
// faults of touching new memory (measured: most of the time of a 16M-element relu went to them).
// Blocks are kept by exact (rounded) size, up to a total cap; beyond it they are freed as usual.
class BlockCache {
 public:
  void* get(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= bytes;
        return p;
      }
    }
    void* p = std::aligned_alloc(64, bytes);
    if (!p) {
      release_all();  // give the cached blocks back and try once more
      p = std::aligned_alloc(64, bytes);
    }
    return p;  // nullptr when the system has no such block: the caller says who asked
  }

  // Called from ~Storage, so it must not throw: during the unwinding of another exception (a
  // failed allocation, say) a throw here would end the program. Recording the block in the map
  // can itself need memory; when that fails the block is simply freed.
  void put(void* p, size_t bytes) noexcept {
#ifdef EMBER_NO_BLOCK_CACHE
    std::free(p);  // sanitizer builds: a reused block would hide a use-after-free from ASan
    return;
#endif
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_bytes_ + bytes <= kMaxCachedBytes) {
        free_[bytes].push_back(p);
        cached_bytes_ += bytes;
        return;
      }
    } catch (...) {
      // no room to remember the block (or the lock failed): give it back to the system below
    }
    std::free(p);
  }

  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    cached_bytes_ = 0;
  }

  ~BlockCache() { release_all(); }

 private:
  static constexpr size_t kMaxCachedBytes = size_t(2) << 30;  // 2 GiB
  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // size -> free blocks of that size
  size_t cached_bytes_ = 0;
};

BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache();  // never destroyed: tensors may outlive static destructors
  return *cache;
}

// aligned_alloc wants a size that is a multiple of the alignment; round up (and never ask for 0).
// Only called with nbytes <= kLargestRequest, so the rounding cannot wrap around.
size_t rounded_size(size_t nbytes) {
  size_t rounded = ((nbytes + 63) / 64) * 64;
  return rounded == 0 ? 64 : rounded;
}

// Far beyond any machine's memory, and small enough that rounding up stays in range.
constexpr size_t kLargestRequest = size_t(1) << 62;

// The machine's memory and swap together, in bytes (0 if the system does not say). A block larger
// than that can never be filled: refusing it at once beats the system killing the process later,
// when the pages are first touched (Linux may promise more memory than it has).
size_t memory_and_swap_bytes() {
  struct sysinfo info {};
  if (sysinfo(&info) != 0) return 0;
  const unsigned long long total =
      (static_cast<unsigned long long>(info.totalram) + info.totalswap) * std::max<unsigned>(info.mem_unit, 1);
  return static_cast<size_t>(total);
}

}  // namespace

std::string format_bytes(size_t nbytes) {
  if (nbytes < 1024) return std::to_string(nbytes) + (nbytes == 1 ? " byte" : " bytes");
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(nbytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, value < 10 ? "%.1f %s" : "%.0f %s", value, units[unit]);
  return text;
}

OutOfMemory::OutOfMemory(size_t nbytes, const std::string& why, Device device)
    : Error("storage: cannot allocate " + format_bytes(nbytes) + " (" + std::to_string(nbytes) + " bytes) of " +
            device_name(device) + " memory: " + why),
      reason(why) {}

namespace {

// The CPU's memory: the block cache above, after checking that the request can be met at all.
class CpuAllocator : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    auto refuse = [nbytes](const std::string& why) { throw OutOfMemory(nbytes, why); };
    static const size_t available = memory_and_swap_bytes();  // asked once: it does not change
    if (available > 0 && nbytes > available)
      refuse("this machine has " + format_bytes(available) + " of memory and swap together");
    if (nbytes > kLargestRequest) refuse("more than any machine has");
    void* p = block_cache().get(rounded_size(nbytes));
    if (p == nullptr) refuse("the system refused (the memory is used up)");
    return p;
  }
  void release(void* p, size_t nbytes) noexcept override { block_cache().put(p, rounded_size(nbytes)); }
  void release_cached() override { block_cache().release_all(); }
};

// The GPU's memory, through the CUDA backend's caching allocator (cuda/allocator.cu).
class CudaAllocator : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    const CudaKernels& cuda = cuda_kernels();
    void* p = cuda.allocate(nbytes);
    if (p == nullptr) {
      size_t free_bytes = 0, total_bytes = 0;
      cuda.memory_info(&free_bytes, &total_bytes);
      throw OutOfMemory(nbytes,
                        "the GPU has " + format_bytes(free_bytes) + " free of " + format_bytes(total_bytes) +
                            " (cuda_memory_stats() shows what tensors hold)",
                        Device::CUDA);
    }
    return p;
  }
  void release(void* p, size_t nbytes) noexcept override {
    // A CUDA storage exists only once the table was found, so cuda_kernels() cannot throw here.
    cuda_kernels().release(p, nbytes);
  }
  void release_cached() override { cuda_kernels().release_cached(); }
};

}  // namespace

Allocator& allocator_for(Device device) {
  static CpuAllocator* cpu = new CpuAllocator();     // never destroyed: tensors may outlive static destructors
  static CudaAllocator* gpu = new CudaAllocator();
  return device == Device::CPU ? static_cast<Allocator&>(*cpu) : static_cast<Allocator&>(*gpu);
}

// Every allocation of tensor memory goes through here: the device's allocator gives the block.
Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  allocator_ = &allocator_for(device);
  data_ = allocator_->allocate(nbytes);
}

Storage::~Storage() { allocator_->release(data_, nbytes_); }

void release_cached_memory() {
  allocator_for(Device::CPU).release_cached();
  if (cuda_is_available()) allocator_for(Device::CUDA).release_cached();
}

}  // namespace ember
