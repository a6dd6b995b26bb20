// max_pool2d, the plain way. The readable truth beside core/ops/pool.cpp (threaded over planes,
// with the winners' positions saved for backward), which is tested against it.
//
//   x [N, C, H, W] -> y [N, C, OH, OW],  OH = (H + 2 pad - kernel) / stride + 1, the same for OW
//
// Output (n, c, oh, ow) looks at the kernel x kernel window of rows ih = oh*stride - pad + kh and
// columns iw = ow*stride - pad + kw of its own channel; the padding is -inf, so it never wins:
//   y[n,c,oh,ow] = max over the window of x[n,c,ih,iw]
// Backward, given dy: the whole dy of an output goes to the element that won its window (the first
// one in row-major order on a tie); an element that wins several overlapping windows collects all
// of their gradients:
//   dx[n,c,ih*,iw*] += dy[n,c,oh,ow]    with (ih*, iw*) the winner
#include <limits>

#include "core/ops/reference.h"

namespace ember::reference {

namespace {

struct PoolShape {
  int64_t N, C, H, W, kernel, stride, padding, OH, OW;
};

PoolShape pool_shape(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, const char* op) {
  check(x.defined(), op, ": input is undefined");
  check(x.dim() == 4, op, ": input must be [N, C, H, W], got ", shape_str(x.shape()));
  check(kernel >= 1 && stride >= 0 && padding >= 0, op, ": need kernel >= 1, stride >= 0 and padding >= 0, got ",
        "kernel ", kernel, ", stride ", stride, ", padding ", padding);
  check(padding <= kernel / 2, op, ": padding ", padding, " is more than half the kernel ", kernel);
  PoolShape s{x.size(0), x.size(1), x.size(2), x.size(3), kernel, stride == 0 ? kernel : stride, padding, 0, 0};
  check(s.H + 2 * padding >= kernel && s.W + 2 * padding >= kernel, op, ": a ", kernel, "x", kernel,
        " window with padding ", padding, " does not fit input ", shape_str(x.shape()));
  s.OH = (s.H + 2 * padding - kernel) / s.stride + 1;
  s.OW = (s.W + 2 * padding - kernel) / s.stride + 1;
  return s;
}

}  // namespace

Tensor max_pool2d_forward(const Tensor& x_in, int64_t kernel, int64_t stride, int64_t padding) {
  const char* op = "reference::max_pool2d_forward";
  const PoolShape s = pool_shape(x_in, kernel, stride, padding, op);
  const Tensor x = as_float64(x_in, op, "input");
  const double* px = x.data<double>();
  Tensor y = Tensor::empty({s.N, s.C, s.OH, s.OW}, DType::Float64);
  double* py = y.data<double>();

  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < s.OH; ++oh)
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          double best = -std::numeric_limits<double>::infinity();
          for (int64_t kh = 0; kh < s.kernel; ++kh)
            for (int64_t kw = 0; kw < s.kernel; ++kw) {
              const int64_t ih = oh * s.stride - s.padding + kh, iw = ow * s.stride - s.padding + kw;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // padding: -inf
              const double v = px[((n * s.C + c) * s.H + ih) * s.W + iw];
              if (v > best) best = v;
            }
          py[((n * s.C + c) * s.OH + oh) * s.OW + ow] = best;
        }
  return y.to(x_in.dtype());
}

Tensor max_pool2d_backward(const Tensor& x_in, const Tensor& dy_in, int64_t kernel, int64_t stride,
                           int64_t padding) {
  const char* op = "reference::max_pool2d_backward";
  const PoolShape s = pool_shape(x_in, kernel, stride, padding, op);
  const Tensor x = as_float64(x_in, op, "input"), dy = as_float64(dy_in, op, "dy");
  check(dy.shape() == Shape{s.N, s.C, s.OH, s.OW}, op, ": dy must have the output's shape ",
        shape_str({s.N, s.C, s.OH, s.OW}), ", got ", shape_str(dy.shape()));
  const double* px = x.data<double>();
  const double* pdy = dy.data<double>();
  Tensor dx = Tensor::zeros(x.shape(), DType::Float64);
  double* pdx = dx.data<double>();

  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < s.OH; ++oh)
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          // find the window's winner again, as the forward does
          double best = -std::numeric_limits<double>::infinity();
          int64_t winner = -1;  // its index in x
          for (int64_t kh = 0; kh < s.kernel; ++kh)
            for (int64_t kw = 0; kw < s.kernel; ++kw) {
              const int64_t ih = oh * s.stride - s.padding + kh, iw = ow * s.stride - s.padding + kw;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              const int64_t i = ((n * s.C + c) * s.H + ih) * s.W + iw;
              if (winner < 0) winner = i;  // the first element wins a window of -inf
              if (px[i] > best) {
                best = px[i];
                winner = i;
              }
            }
          pdx[winner] += pdy[((n * s.C + c) * s.OH + oh) * s.OW + ow];
        }
  return dx.to(x_in.dtype());
}

}  // namespace ember::reference
