// im2col and col2im on the GPU: the data movement of core/ops/im2col.cpp (see core/ops/im2col.h
// for the picture), for one whole image.
//
//   cols[(c, kh, kw), (oh, ow)] = x[c, oh*stride - pad + kh*dil, ow*stride - pad + kw*dil]   (0 in the padding)
//
// im2col: one thread per entry of cols [C*KH*KW, OH*OW]; neighbouring threads write neighbouring
// output positions, so the writes are coalesced.
//
// col2im goes the other way round from the CPU's. The CPU scatters: it walks cols and adds each
// entry onto its pixel. Threads scattering at once would collide on shared pixels (atomics, and an
// order of additions that changes from run to run). So here one thread per input pixel (c, h, w)
// gathers instead: it visits the taps (kh, kw) whose output position (oh, ow) reads this pixel,
//   oh = (h + pad - kh*dil) / stride   when that division is exact and 0 <= oh < OH   (the same for ow),
// and adds those entries of cols in a fixed order. It writes x (the CPU's col2im adds into x).
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void im2col_kernel(const T* x, ConvGeometry g, T* cols) {
  const int64_t P = g.out_h * g.out_w, R = g.channels * g.kernel_h * g.kernel_w;
  GRID_STRIDE_LOOP(e, R * P) {
    const int64_t r = e / P, p = e % P;
    const int64_t kw = r % g.kernel_w, kh = (r / g.kernel_w) % g.kernel_h, c = r / (g.kernel_w * g.kernel_h);
    const int64_t oh = p / g.out_w, ow = p % g.out_w;
    const int64_t ih = oh * g.stride - g.padding + kh * g.dilation;
    const int64_t iw = ow * g.stride - g.padding + kw * g.dilation;
    const bool inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width;
    cols[e] = inside ? x[(c * g.height + ih) * g.width + iw] : T(0);
  }
}

template <typename T>
__global__ void col2im_kernel(const T* cols, ConvGeometry g, T* x) {
  const int64_t P = g.out_h * g.out_w;
  GRID_STRIDE_LOOP(e, g.channels * g.height * g.width) {
    const int64_t w = e % g.width, h = (e / g.width) % g.height, c = e / (g.width * g.height);
    T sum = 0;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const int64_t h_shifted = h + g.padding - kh * g.dilation;  // = oh * stride for the output that reads it
      if (h_shifted < 0 || h_shifted % g.stride != 0) continue;
      const int64_t oh = h_shifted / g.stride;
      if (oh >= g.out_h) continue;
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const int64_t w_shifted = w + g.padding - kw * g.dilation;
        if (w_shifted < 0 || w_shifted % g.stride != 0) continue;
        const int64_t ow = w_shifted / g.stride;
        if (ow >= g.out_w) continue;
        sum += cols[((c * g.kernel_h + kh) * g.kernel_w + kw) * P + oh * g.out_w + ow];
      }
    }
    x[e] = sum;
  }
}

}  // namespace

void im2col(DType dtype, const void* x, const ConvGeometry& g, void* cols) {
  dispatch_float(dtype, "im2col", [&](auto tag) {
    using T = decltype(tag);
    im2col_kernel<<<blocks_for(g.patch_size() * g.positions()), kThreads>>>(static_cast<const T*>(x), g,
                                                                            static_cast<T*>(cols));
  });
  CUDA_CHECK_LAUNCH();
}

void col2im(DType dtype, const void* cols, const ConvGeometry& g, void* x) {
  dispatch_float(dtype, "col2im", [&](auto tag) {
    using T = decltype(tag);
    col2im_kernel<<<blocks_for(g.channels * g.height * g.width), kThreads>>>(static_cast<const T*>(cols), g,
                                                                             static_cast<T*>(x));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
