// GPU memory: a caching allocator over cudaMalloc (beside the CPU's block cache in core/storage.cpp),
// and the copies between the CPU and the GPU.
//
// Why a cache: cudaMalloc and cudaFree are slow (cudaFree waits for the whole GPU to finish), and
// a training step asks for the same sizes every time. A freed block is kept in a list by its
// (rounded) size and handed to the next request of that size. When cudaMalloc fails, the cached
// blocks are given back and it is tried once more; release_cached_memory() gives them all back.
//
// Every kernel runs on the default stream, in order: a block freed by one op and reused by the next
// is only written after the first op's kernels have finished reading it.
#include <map>
#include <mutex>
#include <vector>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

class CudaBlockCache {
 public:
  void* get(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(bytes);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      stats_.cached_bytes -= bytes;
      ++stats_.cache_hits;
      note_allocated(bytes);
      return p;
    }
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      (void)cudaGetLastError();  // clear the error: it is answered here, not by the next kernel
      release_all_locked();
      if (cudaMalloc(&p, bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        return nullptr;  // core/storage.cpp says how much the GPU has
      }
    }
    ++stats_.cuda_malloc_calls;
    note_allocated(bytes);
    return p;
  }

  // Never throws (called from ~Storage): when the list cannot grow, the block goes to cudaFree.
  void put(void* p, size_t bytes) noexcept {
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      free_[bytes].push_back(p);
      stats_.allocated_bytes -= bytes;
      stats_.cached_bytes += bytes;
      return;
    } catch (...) {
    }
    cudaFree(p);
  }

  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_all_locked();
  }

  CudaMemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  void note_allocated(size_t bytes) {
    stats_.allocated_bytes += bytes;
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }
  void release_all_locked() {
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) cudaFree(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // size -> free blocks of that size
  CudaMemoryStats stats_;
};

// Never destroyed: tensors may outlive static destructors (and the CUDA runtime, at exit).
CudaBlockCache& cache() {
  static CudaBlockCache* c = new CudaBlockCache();
  return *c;
}

// Sizes are rounded up to 512 bytes (cudaMalloc's own alignment is 256): nearby sizes share a list,
// and every block is aligned for any element type.
size_t rounded(size_t nbytes) { return nbytes == 0 ? 512 : (nbytes + 511) / 512 * 512; }

}  // namespace

void* allocate(size_t nbytes) { return cache().get(rounded(nbytes)); }
void release(void* p, size_t nbytes) noexcept { cache().put(p, rounded(nbytes)); }
void release_cached() { cache().release_all(); }
CudaMemoryStats memory_stats() { return cache().stats(); }

void memory_info(size_t* free_bytes, size_t* total_bytes) {
  *free_bytes = *total_bytes = 0;
  if (cudaMemGetInfo(free_bytes, total_bytes) != cudaSuccess) (void)cudaGetLastError();
}

void copy(void* dst, const void* src, size_t nbytes, CopyKind kind) {
  const cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                           : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                            : cudaMemcpyDeviceToDevice;
  CUDA_CHECK(cudaMemcpy(dst, src, nbytes, k));
}

void synchronize() { CUDA_CHECK(cudaDeviceSynchronize()); }

Workspace::Workspace(size_t size) : nbytes(size) {
  data = allocate(size);
  if (data == nullptr) fail("cuda: cannot allocate ", size, " bytes of GPU scratch memory (the GPU is full)");
}

Workspace::~Workspace() { release(data, nbytes); }

}  // namespace ember::cuda
