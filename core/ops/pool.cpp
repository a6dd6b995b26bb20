// Pooling: max_pool2d, avg_pool2d, global_avg_pool2d.
// The plain reference of max_pool2d, one loop nest to step through: core/ops/reference/pool.cpp
//
//   x [N, C, H, W] -> y [N, C, OH, OW],  OH = (H + 2 pad - kernel) / stride + 1 (the same for OW)
//
// Output (oh, ow) looks at a kernel x kernel window of its own channel, rows
// oh*stride - pad ... oh*stride - pad + kernel - 1 (columns alike); the part of the window that falls
// into the padding is clipped away:
//   max: y = the largest value in the window (padding is -inf: it never wins).
//        backward: the whole gradient goes to the position of that largest value (the first one on
//        a tie), which the forward saves as `argmax` (an index into the H*W plane).
//   avg: y = sum over the window / (kernel * kernel). The padding counts as zeros in the divisor
//        (PyTorch's default, count_include_pad=True).
//        backward: every element of the window gets g / (kernel * kernel).
// Windows overlap when stride < kernel: then an input element collects the gradients of several
// outputs (+=).
//
//   global_avg_pool2d: [N, C, H, W] -> [N, C], the mean of each H*W plane;
//        backward: every element of the plane gets g / (H*W).
//
// The N*C planes are independent, forward and backward: they are split across threads.
// On the GPU (cuda/pool.cu): a thread per output in the forward; the backward gathers instead of
// scattering, a thread per input element adding the outputs whose windows contain it (no atomics).
#include <algorithm>
#include <limits>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/parallel.h"

namespace ember {

namespace {

struct PoolGeometry {
  int64_t planes, height, width;  // N*C, H, W
  int64_t kernel, stride, padding;
  int64_t out_h, out_w;

  // The rows [begin, end) of the window of output row o, clipped to the image (the same for
  // columns with `width`).
  int64_t begin(int64_t o) const { return std::max<int64_t>(o * stride - padding, 0); }
  int64_t end(int64_t o, int64_t size) const { return std::min(o * stride - padding + kernel, size); }
};

PoolGeometry pool_geometry(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, const char* op) {
  check(x.defined(), op, ": input is undefined");
  check(x.dim() == 4, op, ": input must be [N, C, H, W], got ", shape_str(x.shape()));
  check(kernel >= 1 && stride >= 0 && padding >= 0, op, ": need kernel >= 1, stride >= 0 and padding >= 0, got ",
        "kernel ", kernel, ", stride ", stride, ", padding ", padding);
  // More padding than half a window would make windows that see only padding.
  check(padding <= kernel / 2, op, ": padding ", padding, " is more than half the kernel ", kernel);
  PoolGeometry g;
  g.planes = x.size(0) * x.size(1);
  g.height = x.size(2);
  g.width = x.size(3);
  g.kernel = kernel;
  g.stride = stride == 0 ? kernel : stride;
  g.padding = padding;
  int64_t room_h = g.height + 2 * padding - kernel, room_w = g.width + 2 * padding - kernel;
  g.out_h = room_h < 0 ? 0 : room_h / g.stride + 1;
  g.out_w = room_w < 0 ? 0 : room_w / g.stride + 1;
  check(g.out_h > 0 && g.out_w > 0, op, ": a ", kernel, "x", kernel, " window with padding ", padding,
        " does not fit input ", shape_str(x.shape()), " (output would be ", g.out_h, "x", g.out_w, ")");
  return g;
}

// The same sizes for the GPU kernels (cuda/pool.cu).
PoolWindow cuda_window(const PoolGeometry& g) {
  return PoolWindow{.planes = g.planes, .height = g.height, .width = g.width, .kernel = g.kernel,
                    .stride = g.stride, .padding = g.padding, .out_h = g.out_h, .out_w = g.out_w};
}

// Enough planes per thread to be worth a thread: about 16K elements.
int64_t plane_grain(const PoolGeometry& g) { return std::max<int64_t>(1, (1 << 14) / (g.height * g.width)); }

}  // namespace

// ---- max pooling ----------------------------------------------------------------------------------

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  OpScope scope("max_pool2d", x);
  const PoolGeometry g = pool_geometry(x, kernel, stride, padding, "max_pool2d");
  Tensor y = Tensor::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.dtype(), x.device());
  // index of the winner in its H*W plane
  Tensor argmax = Tensor::empty(y.shape(), DType::Int64, x.device());
  const int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w;
  if (is_cuda(x))
    cuda_kernels().max_pool2d(x.dtype(), x.raw_device_data(), y.raw_device_data(),
                              static_cast<int64_t*>(argmax.raw_device_data()), cuda_window(g));
  else dispatch_float(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    int64_t* pi = argmax.data<int64_t>();
    parallel_for(0, g.planes, plane_grain(g), [&](int64_t lo, int64_t hi) {
      for (int64_t plane = lo; plane < hi; ++plane) {
        const T* in = px + plane * plane_in;
        T* out = py + plane * plane_out;
        int64_t* idx = pi + plane * plane_out;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t h0 = g.begin(oh), h1 = g.end(oh, g.height);
          for (int64_t ow = 0; ow < g.out_w; ++ow) {
            const int64_t w0 = g.begin(ow), w1 = g.end(ow, g.width);
            T best = -std::numeric_limits<T>::infinity();
            int64_t best_index = h0 * g.width + w0;
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w)
                if (in[h * g.width + w] > best) {
                  best = in[h * g.width + w];
                  best_index = h * g.width + w;
                }
            out[oh * g.out_w + ow] = best;
            idx[oh * g.out_w + ow] = best_index;
          }
        }
      }
    });
  });

  const Shape x_shape = x.shape();
  record(y, "max_pool2d", {x}, [argmax, x_shape, g, plane_in, plane_out](const Tensor& gy) {
    if (is_cuda(gy)) {
      Tensor dx = Tensor::empty(x_shape, gy.dtype(), Device::CUDA);
      cuda_kernels().max_pool2d_backward(gy.dtype(), gy.raw_device_data(),
                                         static_cast<const int64_t*>(argmax.raw_device_data()), dx.raw_device_data(),
                                         cuda_window(g));
      return std::vector<Tensor>{dx};
    }
    Tensor dx = Tensor::zeros(x_shape, gy.dtype());
    dispatch_float(gy.dtype(), "max_pool2d", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = gy.data<T>();
      const int64_t* pi = argmax.data<int64_t>();
      T* pdx = dx.data<T>();
      parallel_for(0, g.planes, plane_grain(g), [&](int64_t lo, int64_t hi) {
        for (int64_t plane = lo; plane < hi; ++plane)
          for (int64_t o = 0; o < plane_out; ++o)
            pdx[plane * plane_in + pi[plane * plane_out + o]] += pg[plane * plane_out + o];
      });
    });
    return std::vector<Tensor>{dx};
  });
  return y;
}

// ---- average pooling ------------------------------------------------------------------------------

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  OpScope scope("avg_pool2d", x);
  const PoolGeometry g = pool_geometry(x, kernel, stride, padding, "avg_pool2d");
  Tensor y = Tensor::empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.dtype(), x.device());
  const int64_t plane_in = g.height * g.width, plane_out = g.out_h * g.out_w;
  if (is_cuda(x)) cuda_kernels().avg_pool2d(x.dtype(), x.raw_device_data(), y.raw_device_data(), cuda_window(g));
  else dispatch_float(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T scale = T(1) / static_cast<T>(g.kernel * g.kernel);  // padding counts in the divisor
    parallel_for(0, g.planes, plane_grain(g), [&](int64_t lo, int64_t hi) {
      for (int64_t plane = lo; plane < hi; ++plane) {
        const T* in = px + plane * plane_in;
        T* out = py + plane * plane_out;
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t h0 = g.begin(oh), h1 = g.end(oh, g.height);
          for (int64_t ow = 0; ow < g.out_w; ++ow) {
            const int64_t w0 = g.begin(ow), w1 = g.end(ow, g.width);
            T sum = 0;
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) sum += in[h * g.width + w];
            out[oh * g.out_w + ow] = sum * scale;
          }
        }
      }
    });
  });

  const Shape x_shape = x.shape();
  record(y, "avg_pool2d", {x}, [x_shape, g, plane_in, plane_out](const Tensor& gy) {
    if (is_cuda(gy)) {
      Tensor dx = Tensor::empty(x_shape, gy.dtype(), Device::CUDA);
      cuda_kernels().avg_pool2d_backward(gy.dtype(), gy.raw_device_data(), dx.raw_device_data(), cuda_window(g));
      return std::vector<Tensor>{dx};
    }
    Tensor dx = Tensor::zeros(x_shape, gy.dtype());
    dispatch_float(gy.dtype(), "avg_pool2d", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = gy.data<T>();
      T* pdx = dx.data<T>();
      const T scale = T(1) / static_cast<T>(g.kernel * g.kernel);
      parallel_for(0, g.planes, plane_grain(g), [&](int64_t lo, int64_t hi) {
        for (int64_t plane = lo; plane < hi; ++plane) {
          T* din = pdx + plane * plane_in;
          const T* gout = pg + plane * plane_out;
          for (int64_t oh = 0; oh < g.out_h; ++oh) {
            const int64_t h0 = g.begin(oh), h1 = g.end(oh, g.height);
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
              const int64_t w0 = g.begin(ow), w1 = g.end(ow, g.width);
              const T share = gout[oh * g.out_w + ow] * scale;
              for (int64_t h = h0; h < h1; ++h)
                for (int64_t w = w0; w < w1; ++w) din[h * g.width + w] += share;
            }
          }
        }
      });
    });
    return std::vector<Tensor>{dx};
  });
  return y;
}

// ---- global average pooling -------------------------------------------------------------------------

Tensor global_avg_pool2d(const Tensor& x) {
  OpScope scope("global_avg_pool2d", x);
  check(x.defined(), "global_avg_pool2d: input is undefined");
  check(x.dim() == 4, "global_avg_pool2d: input must be [N, C, H, W], got ", shape_str(x.shape()));
  const int64_t planes = x.size(0) * x.size(1), plane = x.size(2) * x.size(3);
  check(plane > 0, "global_avg_pool2d: input ", shape_str(x.shape()), " has empty planes");
  Tensor y = Tensor::empty({x.size(0), x.size(1)}, x.dtype(), x.device());
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / plane);
  if (is_cuda(x))
    cuda_kernels().global_avg_pool2d(x.dtype(), x.raw_device_data(), y.raw_device_data(), planes, plane);
  else dispatch_float(x.dtype(), "global_avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    parallel_for(0, planes, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        double sum = 0;  // in double: a large plane of float32 loses digits otherwise
        for (int64_t i = 0; i < plane; ++i) sum += px[p * plane + i];
        py[p] = static_cast<T>(sum / static_cast<double>(plane));
      }
    });
  });

  const Shape x_shape = x.shape();
  record(y, "global_avg_pool2d", {x}, [x_shape, planes, plane, grain](const Tensor& gy) {
    if (is_cuda(gy)) {
      Tensor dx = Tensor::empty(x_shape, gy.dtype(), Device::CUDA);
      cuda_kernels().global_avg_pool2d_backward(gy.dtype(), gy.raw_device_data(), dx.raw_device_data(), planes, plane);
      return std::vector<Tensor>{dx};
    }
    Tensor dx = Tensor::empty(x_shape, gy.dtype());
    dispatch_float(gy.dtype(), "global_avg_pool2d", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = gy.data<T>();
      T* pdx = dx.data<T>();
      parallel_for(0, planes, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) std::fill(pdx + p * plane, pdx + (p + 1) * plane, pg[p] / static_cast<T>(plane));
      });
    });
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace ember
