// Sums on the GPU: the kernels of core/ops/reduce.cpp's sum (mean and var are built from it).
//
// x is seen as [outer, n, inner] around the summed dimension (core/ops/lines.h), out is [outer, inner]:
//   out[o, i] = sum_k x[o, k, i]
// Like the CPU, every sum is accumulated in double and rounded once at the end.
//
// Two shapes of work:
// - rows (inner = 1): one block of 256 threads per row. Thread t adds elements t, t + 256, ... (the
//   block reads the row in coalesced sweeps), then block_sum (cuda/common.cuh) adds the 256 partial
//   sums with warp shuffles: within a warp, __shfl_xor_sync passes registers between lanes without
//   shared memory; the 8 warp totals meet in shared memory.
// - columns (inner > 1): one thread per output (o, i), looping over k. Neighbouring threads read
//   neighbouring i, so each step of the loop is one coalesced read.
// All of every element (sum_all): blocks sum fixed slices into a scratch array, then one block sums
// those. The order of additions is fixed, so the result is the same on every run.
#include <algorithm>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void sum_rows_kernel(const T* x, T* out, int64_t n) {
  const T* row = x + blockIdx.x * n;
  double acc = 0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) acc += row[k];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<T>(acc);
}

template <typename T>
__global__ void sum_columns_kernel(const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  GRID_STRIDE_LOOP(j, outer * inner) {
    const int64_t o = j / inner, i = j % inner;
    const T* column = x + o * n * inner + i;
    double acc = 0;
    for (int64_t k = 0; k < n; ++k) acc += column[k * inner];
    out[j] = static_cast<T>(acc);
  }
}

// Pass 1 of sum_all: block b sums elements b*256 + t, stepping by the whole grid, into partial[b].
template <typename T>
__global__ void sum_partial_kernel(const T* x, double* partial, int64_t n) {
  double acc = 0;
  GRID_STRIDE_LOOP(i, n) acc += x[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// Pass 2: one block sums the partial sums.
template <typename T>
__global__ void sum_final_kernel(const double* partial, int64_t count, T* out) {
  double acc = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) acc += partial[k];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[0] = static_cast<T>(acc);
}

constexpr unsigned kMaxRowsPerLaunch = 65535u * 32;  // grid x limit is 2^31 - 1; keep launches modest

}  // namespace

void sum_dim(DType dtype, const void* x, void* out, int64_t outer, int64_t n, int64_t inner) {
  dispatch_float(dtype, "sum", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x);
    T* po = static_cast<T*>(out);
    if (inner == 1 && n >= 64) {
      for (int64_t first = 0; first < outer; first += kMaxRowsPerLaunch) {
        const int64_t rows = std::min<int64_t>(kMaxRowsPerLaunch, outer - first);
        sum_rows_kernel<<<static_cast<unsigned>(rows), kThreads>>>(px + first * n, po + first, n);
      }
    } else {
      sum_columns_kernel<<<blocks_for(outer * inner), kThreads>>>(px, po, outer, n, inner);
    }
  });
  CUDA_CHECK_LAUNCH();
}

void sum_all(DType dtype, const void* x, void* out, int64_t n) {
  const unsigned blocks = std::min<unsigned>(blocks_for(n), 1024);
  Workspace partial(blocks * sizeof(double));
  dispatch_float(dtype, "sum", [&](auto tag) {
    using T = decltype(tag);
    double* pp = static_cast<double*>(partial.data);
    sum_partial_kernel<<<blocks, kThreads>>>(static_cast<const T*>(x), pp, n);
    sum_final_kernel<<<1, kThreads>>>(pp, blocks, static_cast<T*>(out));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda

// ---- max and argmax -----------------------------------------------------------------------------
// out[o, i] = max_k x[o, k, i] and the first k where it is, as core/ops/reduce.cpp's max_kernel:
// a NaN wins (it shows up instead of hiding), a later equal value does not replace an earlier one.
// One thread per output (o, i), looping over k in order: neighbouring threads read neighbouring i
// (coalesced when inner > 1), and the first-maximum rule is the CPU's loop exactly.
// Backward: dx is zero except dx[o, indices[o, i], i] = g[o, i]; each thread writes its own element.

namespace ember::cuda {

namespace {

template <typename T>
__global__ void max_dim_kernel(const T* x, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner) {
  GRID_STRIDE_LOOP(j, outer * inner) {
    const int64_t o = j / inner, i = j % inner;
    const T* line = x + o * n * inner + i;
    T best = line[0];
    int64_t best_k = 0;
    for (int64_t k = 1; k < n; ++k) {
      const T v = line[k * inner];
      if (v > best || (isnan(v) && !isnan(best))) {
        best = v;
        best_k = k;
      }
    }
    values[j] = best;
    indices[j] = best_k;
  }
}

template <typename T>
__global__ void max_dim_backward_kernel(const T* g, const int64_t* indices, T* dx, int64_t outer, int64_t n,
                                        int64_t inner) {
  GRID_STRIDE_LOOP(j, outer * inner) {
    const int64_t o = j / inner, i = j % inner;
    dx[(o * n + indices[j]) * inner + i] = g[j];
  }
}

}  // namespace

void max_dim(DType dtype, const void* x, void* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner) {
  if (outer * inner == 0) return;
  dispatch_float(dtype, "max", [&](auto tag) {
    using T = decltype(tag);
    max_dim_kernel<<<blocks_for(outer * inner), kThreads>>>(static_cast<const T*>(x), static_cast<T*>(values),
                                                             indices, outer, n, inner);
  });
  CUDA_CHECK_LAUNCH();
}

void max_dim_backward(DType dtype, const void* g, const int64_t* indices, void* dx, int64_t outer, int64_t n,
                      int64_t inner) {
  if (outer * inner == 0) return;
  dispatch_float(dtype, "max", [&](auto tag) {
    using T = decltype(tag);
    CUDA_CHECK(cudaMemset(dx, 0, outer * n * inner * sizeof(T)));
    max_dim_backward_kernel<<<blocks_for(outer * inner), kThreads>>>(static_cast<const T*>(g), indices,
                                                                      static_cast<T*>(dx), outer, n, inner);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
