// Pooling on the GPU: the kernels of core/ops/pool.cpp (max_pool2d, avg_pool2d, global_avg_pool2d).
//
//   x [N, C, H, W] -> y [N, C, OH, OW],  OH = (H + 2 pad - kernel) / stride + 1 (the same for OW)
//   output (oh, ow) of a plane looks at rows oh*stride - pad ... oh*stride - pad + kernel - 1 (columns
//   alike), clipped to the image (PoolWindow, filled by pool.cpp, holds these sizes)
//   max: y = the largest value of the window, argmax = its index h*W + w in the plane (first on a tie)
//   avg: y = sum of the window / (kernel * kernel)      (padding counts in the divisor)
//   global_avg: y [N, C] = the mean of each H*W plane
//
// Forward: one thread per output element (plane, oh, ow), the CPU's inner loops over the window.
//
// Backward without atomics: where windows overlap (stride < kernel) an input element collects the
// gradients of several outputs. The CPU adds them in output order into dx; here one thread per INPUT
// element (h, w) gathers instead: it visits the outputs whose windows contain it,
//   oh from (h + pad < kernel ? 0 : (h + pad - kernel) / stride + 1) to min((h + pad) / stride, OH - 1)
// (ow alike), in the same row-major order as the CPU, and adds what each sends it (max: g where
// argmax names this element; avg: g / kernel^2). No two threads write the same element, the sum is
// in the CPU's order, and every element of dx is written (no zeroing pass).
//
// global_avg_pool2d: one block of 256 threads per plane, the sum in double by block_sum
// (cuda/common.cuh); backward one thread per element, dx = g / (H*W).
#include <cmath>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

// The outputs [lo, hi] (inclusive, possibly empty) whose windows along one axis contain position x.
__device__ inline void outputs_seeing(int64_t x, const PoolWindow& w, int64_t out_size, int64_t* lo, int64_t* hi) {
  const int64_t shifted = x + w.padding;  // >= 0
  *lo = shifted < w.kernel ? 0 : (shifted - w.kernel) / w.stride + 1;
  *hi = min(shifted / w.stride, out_size - 1);
}

template <typename T>
__global__ void max_pool2d_kernel(const T* x, T* y, int64_t* argmax, PoolWindow w) {
  const int64_t plane_out = w.out_h * w.out_w;
  GRID_STRIDE_LOOP(i, w.planes * plane_out) {
    const int64_t plane = i / plane_out, oh = (i % plane_out) / w.out_w, ow = i % w.out_w;
    const T* in = x + plane * w.height * w.width;
    const int64_t h0 = max(oh * w.stride - w.padding, int64_t(0)), h1 = min(oh * w.stride - w.padding + w.kernel, w.height);
    const int64_t w0 = max(ow * w.stride - w.padding, int64_t(0)), w1 = min(ow * w.stride - w.padding + w.kernel, w.width);
    T best = -INFINITY;
    int64_t best_index = h0 * w.width + w0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t c = w0; c < w1; ++c)
        if (in[h * w.width + c] > best) {
          best = in[h * w.width + c];
          best_index = h * w.width + c;
        }
    y[i] = best;
    argmax[i] = best_index;
  }
}

template <typename T>
__global__ void max_pool2d_backward_kernel(const T* gy, const int64_t* argmax, T* dx, PoolWindow w) {
  const int64_t plane_in = w.height * w.width, plane_out = w.out_h * w.out_w;
  GRID_STRIDE_LOOP(i, w.planes * plane_in) {
    const int64_t plane = i / plane_in, here = i % plane_in, h = here / w.width, c = here % w.width;
    int64_t oh0, oh1, ow0, ow1;
    outputs_seeing(h, w, w.out_h, &oh0, &oh1);
    outputs_seeing(c, w, w.out_w, &ow0, &ow1);
    const T* g = gy + plane * plane_out;
    const int64_t* idx = argmax + plane * plane_out;
    T sum = 0;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow)
        if (idx[oh * w.out_w + ow] == here) sum += g[oh * w.out_w + ow];
    dx[i] = sum;
  }
}

template <typename T>
__global__ void avg_pool2d_kernel(const T* x, T* y, PoolWindow w) {
  const int64_t plane_out = w.out_h * w.out_w;
  const T scale = T(1) / static_cast<T>(w.kernel * w.kernel);
  GRID_STRIDE_LOOP(i, w.planes * plane_out) {
    const int64_t plane = i / plane_out, oh = (i % plane_out) / w.out_w, ow = i % w.out_w;
    const T* in = x + plane * w.height * w.width;
    const int64_t h0 = max(oh * w.stride - w.padding, int64_t(0)), h1 = min(oh * w.stride - w.padding + w.kernel, w.height);
    const int64_t w0 = max(ow * w.stride - w.padding, int64_t(0)), w1 = min(ow * w.stride - w.padding + w.kernel, w.width);
    T sum = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t c = w0; c < w1; ++c) sum += in[h * w.width + c];
    y[i] = sum * scale;
  }
}

template <typename T>
__global__ void avg_pool2d_backward_kernel(const T* gy, T* dx, PoolWindow w) {
  const int64_t plane_in = w.height * w.width, plane_out = w.out_h * w.out_w;
  const T scale = T(1) / static_cast<T>(w.kernel * w.kernel);
  GRID_STRIDE_LOOP(i, w.planes * plane_in) {
    const int64_t plane = i / plane_in, here = i % plane_in, h = here / w.width, c = here % w.width;
    int64_t oh0, oh1, ow0, ow1;
    outputs_seeing(h, w, w.out_h, &oh0, &oh1);
    outputs_seeing(c, w, w.out_w, &ow0, &ow1);
    const T* g = gy + plane * plane_out;
    T sum = 0;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) sum += g[oh * w.out_w + ow] * scale;
    dx[i] = sum;
  }
}

template <typename T>
__global__ void global_avg_pool2d_kernel(const T* x, T* y, int64_t plane) {
  const T* in = x + blockIdx.x * plane;
  double acc = 0;
  for (int64_t k = threadIdx.x; k < plane; k += blockDim.x) acc += in[k];
  acc = block_sum(acc);
  if (threadIdx.x == 0) y[blockIdx.x] = static_cast<T>(acc / static_cast<double>(plane));
}

template <typename T>
__global__ void global_avg_pool2d_backward_kernel(const T* gy, T* dx, int64_t planes, int64_t plane) {
  GRID_STRIDE_LOOP(i, planes * plane) dx[i] = gy[i / plane] / static_cast<T>(plane);
}

}  // namespace

void max_pool2d(DType dtype, const void* x, void* y, int64_t* argmax, const PoolWindow& w) {
  const int64_t n = w.planes * w.out_h * w.out_w;
  if (n == 0) return;
  dispatch_float(dtype, "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    max_pool2d_kernel<<<blocks_for(n), kThreads>>>(static_cast<const T*>(x), static_cast<T*>(y), argmax, w);
  });
  CUDA_CHECK_LAUNCH();
}

void max_pool2d_backward(DType dtype, const void* gy, const int64_t* argmax, void* dx, const PoolWindow& w) {
  const int64_t n = w.planes * w.height * w.width;
  if (n == 0) return;
  dispatch_float(dtype, "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    max_pool2d_backward_kernel<<<blocks_for(n), kThreads>>>(static_cast<const T*>(gy), argmax, static_cast<T*>(dx), w);
  });
  CUDA_CHECK_LAUNCH();
}

void avg_pool2d(DType dtype, const void* x, void* y, const PoolWindow& w) {
  const int64_t n = w.planes * w.out_h * w.out_w;
  if (n == 0) return;
  dispatch_float(dtype, "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    avg_pool2d_kernel<<<blocks_for(n), kThreads>>>(static_cast<const T*>(x), static_cast<T*>(y), w);
  });
  CUDA_CHECK_LAUNCH();
}

void avg_pool2d_backward(DType dtype, const void* gy, void* dx, const PoolWindow& w) {
  const int64_t n = w.planes * w.height * w.width;
  if (n == 0) return;
  dispatch_float(dtype, "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    avg_pool2d_backward_kernel<<<blocks_for(n), kThreads>>>(static_cast<const T*>(gy), static_cast<T*>(dx), w);
  });
  CUDA_CHECK_LAUNCH();
}

void global_avg_pool2d(DType dtype, const void* x, void* y, int64_t planes, int64_t plane) {
  if (planes == 0) return;
  check(planes <= 2147483647, "global_avg_pool2d: ", planes, " planes are more than one CUDA launch takes");
  dispatch_float(dtype, "global_avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    global_avg_pool2d_kernel<<<static_cast<unsigned>(planes), kThreads>>>(static_cast<const T*>(x),
                                                                           static_cast<T*>(y), plane);
  });
  CUDA_CHECK_LAUNCH();
}

void global_avg_pool2d_backward(DType dtype, const void* gy, void* dx, int64_t planes, int64_t plane) {
  if (planes * plane == 0) return;
  dispatch_float(dtype, "global_avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    global_avg_pool2d_backward_kernel<<<blocks_for(planes * plane), kThreads>>>(static_cast<const T*>(gy),
                                                                                 static_cast<T*>(dx), planes, plane);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
