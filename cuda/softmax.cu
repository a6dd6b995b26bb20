// Softmax and log-softmax on the GPU: the kernels of core/ops/softmax.cpp, same formulas.
//
//   softmax(x)_k     = exp(x_k - m) / S        m = max_j x_j,   S = sum_j exp(x_j - m)
//   log_softmax(x)_k = x_k - m - log S
//   backward, from the saved output y and g:
//     softmax:      dx_k = y_k (g_k - sum_j g_j y_j)
//     log_softmax:  dx_k = g_k - exp(y_k) sum_j g_j
//
// x is [outer, n, inner] around the softmax dimension; each of the outer * inner lines of n
// elements (`inner` apart) is normalised on its own. One warp (32 threads) per line: lane l takes
// elements l, l + 32, ...; the max and the sum over the line are warp_max / warp_sum (register
// shuffles, cuda/common.cuh). The CPU's softmax_line is the same three steps by one thread.
// Sums are in double, as on the CPU.
#include <cmath>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

constexpr int kLinesPerBlock = kThreads / kWarp;  // 8 warps, 8 lines

// Line j starts at x[o, 0, i] with (o, i) = (j / inner, j % inner).
__device__ inline int64_t line_start(int64_t line, int64_t n, int64_t inner) {
  return (line / inner) * n * inner + line % inner;
}

template <typename T>
__global__ void softmax_kernel(const T* x, T* y, int64_t lines, int64_t n, int64_t inner, bool log) {
  const int64_t line = int64_t(blockIdx.x) * kLinesPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (line >= lines) return;  // the whole warp leaves together, so the shuffles below stay complete
  const int64_t start = line_start(line, n, inner);
  const T* xl = x + start;
  T* yl = y + start;

  T m = -INFINITY;
  for (int64_t k = lane; k < n; k += kWarp) m = xl[k * inner] > m ? xl[k * inner] : m;
  m = warp_max(m);
  double sum = 0;
  for (int64_t k = lane; k < n; k += kWarp) sum += exp(xl[k * inner] - m);
  sum = warp_sum(sum);
  if (log) {
    const T shift = m + static_cast<T>(::log(sum));
    for (int64_t k = lane; k < n; k += kWarp) yl[k * inner] = xl[k * inner] - shift;
  } else {
    const T scale = static_cast<T>(1.0 / sum);
    for (int64_t k = lane; k < n; k += kWarp) yl[k * inner] = exp(xl[k * inner] - m) * scale;
  }
}

template <typename T>
__global__ void softmax_backward_kernel(const T* y, const T* g, T* dx, int64_t lines, int64_t n, int64_t inner,
                                        bool log) {
  const int64_t line = int64_t(blockIdx.x) * kLinesPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (line >= lines) return;
  const int64_t start = line_start(line, n, inner);
  const T* yl = y + start;
  const T* gl = g + start;
  T* dl = dx + start;
  double sum = 0;
  if (log) {
    for (int64_t k = lane; k < n; k += kWarp) sum += gl[k * inner];
    const T total = static_cast<T>(warp_sum(sum));
    for (int64_t k = lane; k < n; k += kWarp) dl[k * inner] = gl[k * inner] - exp(yl[k * inner]) * total;
  } else {
    for (int64_t k = lane; k < n; k += kWarp) sum += static_cast<double>(gl[k * inner]) * yl[k * inner];
    const T dot = static_cast<T>(warp_sum(sum));
    for (int64_t k = lane; k < n; k += kWarp) dl[k * inner] = yl[k * inner] * (gl[k * inner] - dot);
  }
}

unsigned blocks_for_lines(int64_t lines) { return static_cast<unsigned>((lines + kLinesPerBlock - 1) / kLinesPerBlock); }

}  // namespace

void softmax(DType dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t lines = outer * inner;
  dispatch_float(dtype, log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = decltype(tag);
    softmax_kernel<<<blocks_for_lines(lines), kThreads>>>(static_cast<const T*>(x), static_cast<T*>(y), lines, n,
                                                          inner, log);
  });
  CUDA_CHECK_LAUNCH();
}

void softmax_backward(DType dtype, const void* y, const void* g, void* dx, int64_t outer, int64_t n, int64_t inner,
                      bool log) {
  const int64_t lines = outer * inner;
  dispatch_float(dtype, log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = decltype(tag);
    softmax_backward_kernel<<<blocks_for_lines(lines), kThreads>>>(
        static_cast<const T*>(y), static_cast<const T*>(g), static_cast<T*>(dx), lines, n, inner, log);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
