#include "core/storage.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

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
      if (!p) throw std::bad_alloc();
    }
    return p;
  }

  void put(void* p, size_t bytes) {
#ifdef EMBER_NO_BLOCK_CACHE
    std::free(p);  // sanitizer builds: a reused block would hide a use-after-free from ASan
    return;
#endif
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_bytes_ + bytes <= kMaxCachedBytes) {
        free_[bytes].push_back(p);
        cached_bytes_ += bytes;
        return;
      }
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
size_t rounded_size(size_t nbytes) {
  size_t rounded = ((nbytes + 63) / 64) * 64;
  return rounded == 0 ? 64 : rounded;
}

}  // namespace

// Every allocation of tensor memory goes through here: this is where a GPU backend would call
// cudaMalloc instead.
Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  check(device == Device::CPU, "storage: device '", device_name(device),
        "' has no backend in this build (only cpu)");
  data_ = block_cache().get(rounded_size(nbytes));
}

Storage::~Storage() { block_cache().put(data_, rounded_size(nbytes_)); }

void release_cached_memory() { block_cache().release_all(); }

}  // namespace ember
