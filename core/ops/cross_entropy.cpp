// Cross-entropy of class scores (logits) against integer labels, fused with log-softmax.
// The plain reference of this op, one loop nest to step through: core/ops/reference/softmax.cpp
//
//   logits [N, K]                with target [N]                 N rows, K classes
//   logits [N, K, d1, ..., dm]   with target [N, d1, ..., dm]    a class per position (e.g. pixel)
//
// At each position p (a row, or a row and a pixel) with label t, over the K scores x_p:
//   lse_p = log sum_k exp(x_pk) = m + log sum_k exp(x_pk - m),  m = max_k x_pk  (no overflow)
//   l_p   = -log softmax(x_p)_t = lse_p - x_pt
// Reduction: None -> l (the shape of target); Sum -> sum_p l_p; Mean -> sum_p l_p / count, where
// count is the number of positions whose target is not ignore_index. Ignored positions add 0 and
// get a zero gradient. When every target is ignored, Mean returns 0 (PyTorch returns NaN, 0/0);
// a batch with nothing to learn from then leaves the weights alone instead of poisoning them.
//
// Backward: dl_p/dx_pk = softmax(x_p)_k - [k == t] = exp(x_pk - lse_p) - [k == t], times the
// incoming gradient (g for Sum, g / count for Mean, g_p for None). The forward saves only lse, one
// number per position; backward recomputes the exponentials from the logits in the same pass that
// writes dx, so neither the [N, K] softmax nor a one-hot matrix is ever stored.
//
// Memory layout: class k of position p = (n, j), j in [0, inner) with inner = d1 * ... * dm,
// sits at (n * K + k) * inner + j. For [N, K] inner = 1 and each position is one row of logits.
//
// On the GPU: cuda/cross_entropy.cu, one warp per position, forward and backward; the targets are
// checked there too (the kernel reports the first bad one and the count, read back here).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/ops/fast_exp.h"
#include "core/ops/lines.h"
#include "core/parallel.h"

namespace ember {

namespace {

// "[3, 1]": the index of element p of a tensor of shape `shape`, for error messages.
std::string index_str(int64_t p, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    index[d] = p % shape[d];
    p /= shape[d];
  }
  return shape_str(index);
}

// Checks every target against [0, K) and counts the ones that are not ignored.
int64_t count_targets(const Tensor& logits, const Tensor& target, int64_t K, int64_t ignore_index) {
  const int64_t* pt = target.data<int64_t>();
  int64_t count = 0;
  for (int64_t p = 0; p < target.numel(); ++p) {
    if (pt[p] == ignore_index) continue;
    check(pt[p] >= 0 && pt[p] < K, "cross_entropy: target", index_str(p, target.shape()), " = ", pt[p],
          " is out of range for ", K, " classes (expected 0 <= target < ", K, ", or ignore_index ", ignore_index,
          "); logits ", shape_str(logits.shape()), ", target ", shape_str(target.shape()));
    ++count;
  }
  return count;
}

// The loss at one position: x points at its first score, the K scores are `stride` apart.
// Stores lse in *lse_out when it is not null (backward needs it). The `omp simd` reductions and
// fast_exp let the compiler vectorise the loops (see softmax.cpp).
template <typename T>
inline double position_loss(const T* x, int64_t K, int64_t stride, int64_t t, T* lse_out) {
  T m = x[0];
#pragma omp simd reduction(max : m)
  for (int64_t k = 1; k < K; ++k) m = x[k * stride] > m ? x[k * stride] : m;
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t k = 0; k < K; ++k) sum += fast_exp(x[k * stride] - m);
  const double lse = m + std::log(sum);
  if (lse_out) *lse_out = static_cast<T>(lse);
  return lse - x[t * stride];
}

// dx for one position: (exp(x_k - lse) - [k == t]) * scale.
template <typename T>
inline void position_backward(const T* x, T* dx, int64_t K, int64_t stride, int64_t t, T lse, T scale) {
  for (int64_t k = 0; k < K; ++k) dx[k * stride] = fast_exp(x[k * stride] - lse) * scale;
  dx[t * stride] -= scale;
}

// dlogits from g = dL/dloss (a scalar for Mean and Sum, one value per position for None), the
// saved logits, targets and lse, and the number of targets that count.
Tensor cross_entropy_backward(const Tensor& g, const Tensor& logits, const Tensor& target, const Tensor& lse,
                              Reduction reduction, int64_t count, int64_t ignore_index) {
  const Lines classes = lines_of(logits.shape(), 1);  // logits as [N, K, inner] around the classes
  const int64_t K = classes.n, inner = classes.inner;
  Tensor dx = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  if (logits.device() == Device::CUDA) {
    // the same factor as `scale` below, with g read by the kernel where it is (on the GPU)
    const double factor = reduction == Reduction::Mean ? (count > 0 ? 1.0 / count : 0.0) : 1.0;
    if (dx.numel() > 0)
      cuda_kernels().cross_entropy_backward(logits.dtype(), logits.raw_device_data(), target.device_data<int64_t>(),
                                            lse.raw_device_data(), g.raw_device_data(), reduction == Reduction::None,
                                            factor, dx.raw_device_data(), classes.outer, K, inner, ignore_index);
    return dx;
  }
  dispatch_float(g.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* px = logits.data<T>();
    const int64_t* pt = target.data<int64_t>();
    const T* plse = lse.data<T>();
    const T* pg = g.data<T>();
    T* pd = dx.data<T>();
    // the factor on softmax - onehot, the same at every position for Sum and Mean
    T scale = T(0);
    if (reduction == Reduction::Sum) scale = pg[0];
    if (reduction == Reduction::Mean && count > 0) scale = static_cast<T>(pg[0] / count);
    const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(K, 1));
    parallel_for(0, target.numel(), grain, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        const int64_t start = (p / inner) * K * inner + p % inner;
        if (pt[p] == ignore_index) {
          for (int64_t k = 0; k < K; ++k) pd[start + k * inner] = 0;
          continue;
        }
        const T s = reduction == Reduction::None ? pg[p] : scale;
        if (inner == 1) position_backward(px + start, pd + start, K, 1, pt[p], plse[p], s);
        else position_backward(px + start, pd + start, K, inner, pt[p], plse[p], s);
      }
    });
  });
  return dx;
}

// The GPU path of cross_entropy below (the checks on shapes and dtypes are done): losses and lse
// per position by one kernel, which also counts the targets and finds a bad one; then the reduction.
Tensor cuda_cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, int64_t ignore_index) {
  check(target.device() == Device::CUDA, "cross_entropy: logits ", shape_str(logits.shape()), " are on cuda, target ",
        shape_str(target.shape()), " on ", device_name(target.device()), "; move the target with .cuda()");
  check(is_floating(logits.dtype()), "cross_entropy: expected a float32 or float64 tensor, got ",
        dtype_name(logits.dtype()));
  const Lines classes = lines_of(logits.shape(), 1);
  const int64_t K = classes.n, inner = classes.inner;
  Tensor losses = Tensor::empty(target.shape(), logits.dtype(), Device::CUDA);
  Tensor lse = Tensor::empty(target.shape(), logits.dtype(), Device::CUDA);
  const CudaKernels& cuda = cuda_kernels();
  CrossEntropyCheck found;
  if (target.numel() > 0)
    found = cuda.cross_entropy(logits.dtype(), logits.raw_device_data(), target.device_data<int64_t>(),
                               losses.raw_device_data(), lse.raw_device_data(), classes.outer, K, inner, ignore_index);
  if (found.first_bad >= 0)
    fail("cross_entropy: target", index_str(found.first_bad, target.shape()), " = ", found.first_bad_value,
         " is out of range for ", K, " classes (expected 0 <= target < ", K, ", or ignore_index ", ignore_index,
         "); logits ", shape_str(logits.shape()), ", target ", shape_str(target.shape()));
  const int64_t count = found.counted;
  Tensor out = losses;
  if (reduction != Reduction::None) {
    out = Tensor::empty({}, logits.dtype(), Device::CUDA);
    cuda.sum_all(logits.dtype(), losses.raw_device_data(), out.raw_device_data(), losses.numel());
    if (reduction == Reduction::Mean) {
      NoGradGuard plain;  // a step of this op's forward, not an op of the graph
      out = mul(out, count > 0 ? 1.0 / static_cast<double>(count) : 0.0);
    }
  }
  Tensor x_saved = logits.detach(), t_saved = target.detach();
  record(out, "cross_entropy", {logits}, [x_saved, t_saved, lse, reduction, count, ignore_index](const Tensor& g) {
    return std::vector<Tensor>{cross_entropy_backward(g, x_saved, t_saved, lse, reduction, count, ignore_index)};
  });
  return out;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, int64_t ignore_index) {
  OpScope scope("cross_entropy", logits, target);
  check(logits.defined() && target.defined(), "cross_entropy: tensor is undefined");
  check(logits.dim() >= 2, "cross_entropy: logits must be [N, K] or [N, K, d1, ...], got ", shape_str(logits.shape()));
  check(target.dtype() == DType::Int64, "cross_entropy: target must hold int64 class indices, got ",
        dtype_name(target.dtype()), " ", shape_str(target.shape()));
  Shape expected = logits.shape();
  expected.erase(expected.begin() + 1);  // the class dimension
  check(target.shape() == expected, "cross_entropy: logits ", shape_str(logits.shape()), " need a target of shape ",
        shape_str(expected), ", got ", shape_str(target.shape()));

  const Lines classes = lines_of(logits.shape(), 1);  // logits as [N, K, inner] around the classes
  const int64_t K = classes.n, inner = classes.inner;
  const int64_t positions = target.numel();  // N * inner
  check(K > 0 || positions == 0, "cross_entropy: logits ", shape_str(logits.shape()), " have no classes");
  if (logits.device() == Device::CUDA) return cuda_cross_entropy(logits, target, reduction, ignore_index);
  const int64_t count = count_targets(logits, target, K, ignore_index);

  const bool saving = needs_grad({logits});
  Tensor lse = saving ? Tensor::empty(target.shape(), logits.dtype()) : Tensor();
  Tensor out = reduction == Reduction::None ? Tensor::empty(target.shape(), logits.dtype()) : Tensor();
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(K, 1));  // positions per task

  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* px = logits.data<T>();
    const int64_t* pt = target.data<int64_t>();
    T* plse = saving ? lse.data<T>() : nullptr;
    // The loss at position p, 0 when ignored.
    auto loss_at = [&](int64_t p) -> double {
      if (pt[p] == ignore_index) {
        if (plse) plse[p] = 0;
        return 0.0;
      }
      const T* x = px + (p / inner) * K * inner + p % inner;
      T* lse_p = plse ? plse + p : nullptr;
      // [N, K]: the stride as the constant 1 lets the compiler vectorise the loops
      return inner == 1 ? position_loss(x, K, 1, pt[p], lse_p) : position_loss(x, K, inner, pt[p], lse_p);
    };
    if (reduction == Reduction::None) {
      T* po = out.data<T>();
      parallel_for(0, positions, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) po[p] = static_cast<T>(loss_at(p));
      });
    } else {
      // fixed blocks of positions, added in order: the same bits for any thread count
      double total = parallel_sum<double>(0, positions, grain, [&](int64_t lo, int64_t hi) {
        double acc = 0;
        for (int64_t p = lo; p < hi; ++p) acc += loss_at(p);
        return acc;
      });
      if (reduction == Reduction::Mean) total = count > 0 ? total / count : 0.0;
      out = Tensor::scalar(total, logits.dtype());
    }
  });

  Tensor x_saved = logits.detach(), t_saved = target.detach();
  record(out, "cross_entropy", {logits}, [x_saved, t_saved, lse, reduction, count, ignore_index](const Tensor& g) {
    return std::vector<Tensor>{cross_entropy_backward(g, x_saved, t_saved, lse, reduction, count, ignore_index)};
  });
  return out;
}

}  // namespace ember
