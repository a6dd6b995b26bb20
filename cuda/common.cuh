#pragma once
// What every kernel file of the CUDA backend shares: error checks that say where and why, the launch
// arithmetic, float/double dispatch, and the warp and block sums that the reductions build on.
#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"
#include "core/error.h"

namespace ember::cuda {

// Throws ember::Error naming the call, the file and line, and CUDA's own words, with a hint for the
// errors people meet first. Used through CUDA_CHECK(call) and CUDA_CHECK_LAUNCH().
[[noreturn]] inline void fail_cuda(cudaError_t err, const char* what, const char* file, int line) {
  const char* hint = "";
  if (err == cudaErrorNoKernelImageForDevice || err == cudaErrorUnsupportedPtxVersion)
    hint = " (this build has no code for this GPU: configure with -DCMAKE_CUDA_ARCHITECTURES=native and rebuild)";
  else if (err == cudaErrorMemoryAllocation)
    hint = " (the GPU is out of memory: a smaller batch asks for less)";
  else if (err == cudaErrorIllegalAddress || err == cudaErrorLaunchFailure)
    hint = " (a kernel read or wrote outside its memory: the process cannot use the GPU any more; "
           "compute-sanitizer names the kernel)";
  fail("cuda: ", what, " failed at ", file, ":", line, ": ", cudaGetErrorName(err), ": ", cudaGetErrorString(err),
       hint);
}

#define CUDA_CHECK(call)                                                            \
  do {                                                                              \
    cudaError_t err_ = (call);                                                      \
    if (err_ != cudaSuccess) ::ember::cuda::fail_cuda(err_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: a bad launch configuration shows here (a fault inside the kernel shows at
// the next call that waits for it).
#define CUDA_CHECK_LAUNCH()                                                                      \
  do {                                                                                           \
    cudaError_t err_ = cudaGetLastError();                                                       \
    if (err_ != cudaSuccess) ::ember::cuda::fail_cuda(err_, "kernel launch", __FILE__, __LINE__); \
  } while (0)

constexpr int kThreads = 256;  // threads per block for element-wise kernels
constexpr int kWarp = 32;

// Blocks for n elements, kThreads each. Kernels loop with a grid stride, so a capped grid still
// covers every element: for (i = first; i < n; i += stride).
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

#define GRID_STRIDE_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

// Calls f(float{}) or f(double{}) as the dtype says (the CUDA kernels take float32 and float64).
template <typename F>
void dispatch_float(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    default: fail(op, ": expected a float32 or float64 tensor on cuda, got ", dtype_name(dtype));
  }
}

// The sum of v over the 32 threads of a warp, in every thread: each step adds the value of the
// thread `offset` lanes away (xor pairs them up), halving the distance: 16, 8, 4, 2, 1.
template <typename T>
__device__ inline T warp_sum(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <typename T>
__device__ inline T warp_max(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    T other = __shfl_xor_sync(0xffffffffu, v, offset);
    v = other > v ? other : v;
  }
  return v;
}

// The sum of v over the whole block (blockDim.x a multiple of 32, at most 1024), returned to every
// thread: each warp sums its 32 values, warp leaders meet in shared memory, warp 0 sums those.
// A fixed tree: the same inputs give the same bits on every run.
template <typename T>
__device__ inline T block_sum(T v) {
  __shared__ T partial[kWarp];
  __shared__ T total;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = lane < static_cast<int>(blockDim.x / kWarp) ? partial[lane] : T(0);
    w = warp_sum(w);
    if (lane == 0) total = w;
  }
  __syncthreads();
  T result = total;
  __syncthreads();  // `partial` and `total` may be used again by the caller's next block_sum
  return result;
}

}  // namespace ember::cuda
