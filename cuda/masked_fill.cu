// masked_fill on the GPU: the kernel of core/ops/masked_fill.cpp.
//
//   y = mask != 0 ? value : x, element by element; the mask is broadcast to x's shape (a [T, T]
//   causal mask serves scores [B, H, T, T])
//   backward: dx = masked_fill(g, mask, 0), the same kernel
//
// One thread per element i of x. Like binary.cu's broadcasting, the thread decomposes i into x's
// coordinates and adds up the mask's strides (0 along a broadcast dimension) to find its mask
// element. The mask may be float32, float64 or int64 (nonzero = masked).
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T, typename M>
__global__ void masked_fill_kernel(const T* x, const M* mask, T* out, int64_t n, BroadcastIndex index, T value) {
  GRID_STRIDE_LOOP(i, n) {
    int64_t rest = i, im = 0;
    for (int d = index.rank - 1; d >= 0; --d) {
      im += (rest % index.size[d]) * index.stride_b[d];
      rest /= index.size[d];
    }
    out[i] = mask[im] != M(0) ? value : x[i];
  }
}

template <typename T, typename M>
void launch(const void* x, const void* mask, void* out, int64_t n, const BroadcastIndex& index, double value) {
  masked_fill_kernel<<<blocks_for(n), kThreads>>>(static_cast<const T*>(x), static_cast<const M*>(mask),
                                                  static_cast<T*>(out), n, index, static_cast<T>(value));
}

}  // namespace

void masked_fill(DType dtype, const void* x, DType mask_dtype, const void* mask, void* out, int64_t n,
                 const BroadcastIndex& index, double value) {
  if (n == 0) return;
  dispatch_float(dtype, "masked_fill", [&](auto tag) {
    using T = decltype(tag);
    switch (mask_dtype) {
      case DType::Float32: launch<T, float>(x, mask, out, n, index, value); break;
      case DType::Float64: launch<T, double>(x, mask, out, n, index, value); break;
      case DType::Int64: launch<T, int64_t>(x, mask, out, n, index, value); break;
    }
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
