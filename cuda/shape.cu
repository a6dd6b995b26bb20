// Shape ops that copy, on the GPU: the kernels of core/ops/shape.cpp.
//
//   permute:       out[i0, ..., i_{r-1}] = x[the same element in x's order of dimensions]
//   slice, concat, index_select: blocks of whole rows, the same copy_rows as the CPU's
//   index_select backward: dx[index[i], :] += g[i, :] (a row picked twice gets both gradients)
//
// permute: one thread per output element i. It decomposes i into the output's coordinates (last
// dimension fastest) and adds up, per output dimension, the stride that steps through x along the
// input dimension it came from (PermuteIndex::step, filled by shape.cpp):
//   src = sum_d idx_d * step[d]        out[i] = x[src]
// Consecutive threads write consecutive outputs (coalesced writes); the reads are strided.
// A permute moves bits and does no arithmetic, so the kernel is written per element size (4 or 8
// bytes), which covers float32, float64 and int64.
//
// copy_rows is cudaMemcpy2D: `rows` rows of row_bytes, each `pitch` bytes after the last, the GPU's
// copy engine doing the strided walk that the CPU does with one memcpy per row.
// index_add_rows: one thread per element of g, atomicAdd into dx, because two positions may name the
// same row (the order of those additions varies from run to run: last-bit differences only).
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename E>  // E: a 4- or 8-byte word, whatever the element type
__global__ void permute_kernel(const E* x, E* out, int64_t n, PermuteIndex index) {
  GRID_STRIDE_LOOP(i, n) {
    int64_t rest = i, src = 0;
    for (int d = index.rank - 1; d >= 0; --d) {
      src += (rest % index.size[d]) * index.step[d];
      rest /= index.size[d];
    }
    out[i] = x[src];
  }
}

template <typename T>
__global__ void index_add_rows_kernel(const int64_t* index, int64_t n, const T* g, T* dx, int64_t row_len) {
  GRID_STRIDE_LOOP(e, n * row_len) {
    const int64_t i = e / row_len, j = e % row_len;
    atomicAdd(dx + index[i] * row_len + j, g[e]);
  }
}

}  // namespace

void copy_rows(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes, int64_t rows) {
  if (rows <= 0 || row_bytes == 0) return;
  CUDA_CHECK(cudaMemcpy2D(dst, dst_pitch, src, src_pitch, row_bytes, static_cast<size_t>(rows),
                          cudaMemcpyDeviceToDevice));
}

void permute(size_t element_size, const void* x, void* out, int64_t n, const PermuteIndex& index) {
  if (n <= 0) return;
  if (element_size == 4)
    permute_kernel<<<blocks_for(n), kThreads>>>(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(out), n, index);
  else if (element_size == 8)
    permute_kernel<<<blocks_for(n), kThreads>>>(static_cast<const uint64_t*>(x), static_cast<uint64_t*>(out), n, index);
  else
    fail("permute: no CUDA kernel for elements of ", element_size, " bytes");
  CUDA_CHECK_LAUNCH();
}

void index_add_rows(DType dtype, const int64_t* index, int64_t n, const void* g, void* dx, int64_t row_len) {
  if (n <= 0 || row_len <= 0) return;
  dispatch_float(dtype, "index_select", [&](auto tag) {
    using T = decltype(tag);
    index_add_rows_kernel<<<blocks_for(n * row_len), kThreads>>>(index, n, static_cast<const T*>(g),
                                                                 static_cast<T*>(dx), row_len);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
