// Softmax and log-softmax along one dimension.
// The plain reference of this op, one loop nest to step through: core/ops/reference/softmax.cpp
//
//   softmax(x)_k     = exp(x_k - m) / S        m = max_j x_j,   S = sum_j exp(x_j - m)
//   log_softmax(x)_k = x_k - m - log S
//
// Subtracting the max changes nothing mathematically (it cancels) but keeps exp from overflowing:
// the largest term becomes exp(0) = 1, so S is in [1, n].
//
// Shapes: x (any shape, y the same) is viewed as [outer, n, inner] around `dim` (core/ops/lines.h): outer is the
// product of the sizes before dim, inner of those after. Each of the outer * inner "lines" of n
// elements is normalised on its own; consecutive elements of a line are `inner` apart in memory.
// The usual case, dim = -1, has inner = 1: the lines are the rows, and each row is handled in one
// go (max, exponentials and sum, scale) by one thread while it sits in cache.
//
// Backward, per line, from the saved output y and g = dL/dy:
//   softmax:      dx_k = y_k (g_k - sum_j g_j y_j)
//   log_softmax:  dx_k = g_k - exp(y_k) sum_j g_j          (exp(y_k) is softmax_k)
//
// On the GPU: cuda/softmax.cu, the same line functions with one warp per line.
#include <algorithm>
#include <cmath>

#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/ops/fast_exp.h"
#include "core/ops/lines.h"
#include "core/parallel.h"

namespace ember {

namespace {

// Calls line(start) for every line, where start is the offset of the line's first element; lines
// are split across threads. Line j (of outer * inner) is (o, i) = (j / inner, j % inner), and its
// first element is x[o, 0, i], at o * n * inner + i.
template <typename F>
void for_each_line(const Lines& l, F line) {
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(l.n, 1));
  parallel_for(0, l.outer * l.inner, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) line((j / l.inner) * l.n * l.inner + j % l.inner);
  });
}

// One line of n elements, `stride` apart: y = softmax(x), or log_softmax(x) when `log`.
// Sums are accumulated in double: for float32 the rounding error would grow with n.
// `omp simd reduction` lets the compiler keep several partial sums (or maxima) in the lanes of a
// vector register and combine them at the end: a different order of additions than one by one,
// but a fixed one, so the results are still the same on every run and for any thread count.
// fast_exp (core/ops/fast_exp.h) is an exp that vectorises; std::exp would not. The max is written
// with `>` rather than std::max because that is the form the compiler vectorises; a NaN in x is
// passed over by it but still reaches the result through exp(NaN - m).
template <typename T>
inline void softmax_line(const T* x, T* y, int64_t n, int64_t stride, bool log) {
  T m = x[0];
#pragma omp simd reduction(max : m)
  for (int64_t k = 1; k < n; ++k) m = x[k * stride] > m ? x[k * stride] : m;
  double sum = 0;
  if (log) {
#pragma omp simd reduction(+ : sum)
    for (int64_t k = 0; k < n; ++k) sum += fast_exp(x[k * stride] - m);
    const T shift = m + static_cast<T>(std::log(sum));
    for (int64_t k = 0; k < n; ++k) y[k * stride] = x[k * stride] - shift;
  } else {
    for (int64_t k = 0; k < n; ++k) y[k * stride] = fast_exp(x[k * stride] - m);
#pragma omp simd reduction(+ : sum)
    for (int64_t k = 0; k < n; ++k) sum += y[k * stride];
    const T scale = static_cast<T>(1.0 / sum);
    for (int64_t k = 0; k < n; ++k) y[k * stride] *= scale;
  }
}

// The backward of one line (see the top of the file); y is the saved output.
template <typename T>
inline void softmax_backward_line(const T* y, const T* g, T* dx, int64_t n, int64_t stride, bool log) {
  double sum = 0;
  if (log) {
#pragma omp simd reduction(+ : sum)
    for (int64_t k = 0; k < n; ++k) sum += g[k * stride];
    const T total = static_cast<T>(sum);
    for (int64_t k = 0; k < n; ++k) dx[k * stride] = g[k * stride] - fast_exp(y[k * stride]) * total;
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t k = 0; k < n; ++k) sum += static_cast<double>(g[k * stride]) * y[k * stride];
    const T dot = static_cast<T>(sum);
    for (int64_t k = 0; k < n; ++k) dx[k * stride] = y[k * stride] * (g[k * stride] - dot);
  }
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check(x.defined(), op, ": tensor is undefined");
  const int64_t d = normalize_dim(dim, x.dim(), op);
  const Lines l = lines_of(x.shape(), d);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.device() == Device::CUDA) {
    check(is_floating(x.dtype()), op, ": expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
    if (x.numel() > 0)
      cuda_kernels().softmax(x.dtype(), x.raw_device_data(), y.raw_device_data(), l.outer, l.n, l.inner, log);
  } else dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.numel() == 0) return;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    if (l.inner == 1) {
      // rows: the stride is the constant 1, which lets the compiler vectorise the loops
      for_each_line(l, [&](int64_t start) { softmax_line(px + start, py + start, l.n, 1, log); });
    } else {
      for_each_line(l, [&](int64_t start) { softmax_line(px + start, py + start, l.n, l.inner, log); });
    }
  });

  Tensor y_saved = y.detach();
  record(y, op, {x}, [y_saved, l, log, op](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
    if (g.device() == Device::CUDA) {
      if (g.numel() > 0)
        cuda_kernels().softmax_backward(g.dtype(), y_saved.raw_device_data(), g.raw_device_data(), dx.raw_device_data(),
                                        l.outer, l.n, l.inner, log);
      return std::vector<Tensor>{dx};
    }
    dispatch_float(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      if (g.numel() == 0) return;
      const T* py = y_saved.data<T>();
      const T* pg = g.data<T>();
      T* pd = dx.data<T>();
      if (l.inner == 1) {
        for_each_line(l, [&](int64_t s) { softmax_backward_line(py + s, pg + s, pd + s, l.n, 1, log); });
      } else {
        for_each_line(l, [&](int64_t s) { softmax_backward_line(py + s, pg + s, pd + s, l.n, l.inner, log); });
      }
    });
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  OpScope scope("softmax", x);
  return softmax_impl(x, dim, /*log=*/false);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  OpScope scope("log_softmax", x);
  return softmax_impl(x, dim, /*log=*/true);
}

}  // namespace ember
