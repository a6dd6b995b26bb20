// Dropout on the GPU: the kernel of core/ops/dropout.cpp, with the SAME mask.
//
//   y_i = x_i * m_i,  m_i = 0 when element i is dropped, else scale = 1 / (1 - p)
//   backward: dx_i = g_i * m_i, the same call on g with the same seed
//
// Which elements are dropped is DropoutMask::keep(i) (core/ops/dropout_mask.h): a splitmix64 hash
// of (seed, i), a pure function of the element's index. The CPU loop and this kernel call the very
// same function (it is __host__ __device__), so one seed gives one mask on both devices, bit for
// bit: the test draws the same seed on each and compares the masks. One thread per element; no
// random state is carried from thread to thread.
#include "core/ops/dropout_mask.h"
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void dropout_kernel(const T* in, T* out, int64_t n, DropoutMask mask, T scale) {
  GRID_STRIDE_LOOP(i, n) out[i] = mask.keep(static_cast<uint64_t>(i)) ? in[i] * scale : T(0);
}

}  // namespace

void dropout(DType dtype, const void* in, void* out, int64_t n, uint64_t seed, double p, double scale) {
  if (n == 0) return;
  const DropoutMask mask(seed, p);  // the threshold computed on the CPU, as dropout.cpp does
  dispatch_float(dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    dropout_kernel<<<blocks_for(n), kThreads>>>(static_cast<const T*>(in), static_cast<T*>(out), n, mask,
                                                static_cast<T>(scale));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
