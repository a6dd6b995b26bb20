// Softmax, log-softmax and cross-entropy, the plain way: one line of numbers at a time, std::exp,
// sums in double. The readable truth beside core/ops/softmax.cpp and core/ops/cross_entropy.cpp
// (vectorised fast_exp, threads over lines, a fused cross-entropy that saves only lse), which are
// tested against it.
//
// Along a dimension `dim`, x is read as [outer, n, inner] (core/ops/lines.h): a line is the n
// numbers x[o, 0..n-1, i], each normalised on its own. With m = max_j x_j and
// lse = m + log sum_j exp(x_j - m) (= log sum_j exp x_j, without overflow):
//   softmax:      y_k = exp(x_k - lse)          dx_k = y_k (dy_k - sum_j dy_j y_j)
//   log_softmax:  y_k = x_k - lse               dx_k = dy_k - exp(y_k) sum_j dy_j
// Cross-entropy of logits [N, K, d...] (lines along the class dimension 1) against targets [N, d...]:
//   at position p with label t:  l_p = lse_p - x_pt = -log_softmax(x_p)_t
//   None: l;  Sum: sum_p l_p;  Mean: sum_p l_p / count   (positions whose target is ignore_index
//   add nothing and are not counted; Mean of nothing is 0, as the fast op)
//   dx_pk = (softmax(x_p)_k - [k == t]) * (dloss_p for None, dloss for Sum, dloss / count for Mean)
#include <algorithm>
#include <cmath>

#include "core/ops/lines.h"
#include "core/ops/reference.h"

namespace ember::reference {

namespace {

// log sum_j exp(x_j) over the line of `l` at (o, i), computed without overflow.
double log_sum_exp(const double* x, const Lines& l, int64_t o, int64_t i) {
  double m = x[l.at(o, 0, i)];
  for (int64_t j = 1; j < l.n; ++j) m = std::max(m, x[l.at(o, j, i)]);
  double sum = 0;
  for (int64_t j = 0; j < l.n; ++j) sum += std::exp(x[l.at(o, j, i)] - m);
  return m + std::log(sum);
}

// softmax or log_softmax forward (`log`), along dim.
Tensor softmax_forward_impl(const Tensor& x_in, int64_t dim, bool log, const char* op) {
  const Tensor x = as_float64(x_in, op, "input");
  const Lines l = lines_of(x.shape(), normalize_dim(dim, x.dim(), op));
  const double* px = x.data<double>();
  Tensor y = Tensor::empty(x.shape(), DType::Float64);
  double* py = y.data<double>();

  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      if (l.n == 0) continue;
      const double lse = log_sum_exp(px, l, o, i);
      for (int64_t k = 0; k < l.n; ++k)
        py[l.at(o, k, i)] = log ? px[l.at(o, k, i)] - lse : std::exp(px[l.at(o, k, i)] - lse);
    }
  return y.to(x_in.dtype());
}

// softmax or log_softmax backward (`log`), along dim; y is recomputed from x.
Tensor softmax_backward_impl(const Tensor& x_in, const Tensor& dy_in, int64_t dim, bool log, const char* op) {
  const Tensor x = as_float64(x_in, op, "input"), dy = as_float64(dy_in, op, "dy");
  check(dy.shape() == x.shape(), op, ": dy must have the input's shape ", shape_str(x.shape()), ", got ",
        shape_str(dy.shape()));
  const Lines l = lines_of(x.shape(), normalize_dim(dim, x.dim(), op));
  const double *px = x.data<double>(), *pdy = dy.data<double>();
  Tensor dx = Tensor::empty(x.shape(), DType::Float64);
  double* pdx = dx.data<double>();

  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      if (l.n == 0) continue;
      const double lse = log_sum_exp(px, l, o, i);
      // softmax: sum_j dy_j y_j;  log_softmax: sum_j dy_j
      double sum = 0;
      for (int64_t j = 0; j < l.n; ++j) sum += pdy[l.at(o, j, i)] * (log ? 1.0 : std::exp(px[l.at(o, j, i)] - lse));
      for (int64_t k = 0; k < l.n; ++k) {
        const double softmax_k = std::exp(px[l.at(o, k, i)] - lse);
        pdx[l.at(o, k, i)] = log ? pdy[l.at(o, k, i)] - softmax_k * sum : softmax_k * (pdy[l.at(o, k, i)] - sum);
      }
    }
  return dx.to(x_in.dtype());
}

// logits [N, K, d...] as [N, K, inner] around the class dimension; checks target [N, d...] and its
// labels, and counts the targets that are not ignore_index.
Lines classes_of(const Tensor& logits, const Tensor& target, int64_t ignore_index, int64_t& count, const char* op) {
  check(logits.defined() && target.defined(), op, ": logits or target is undefined");
  check(logits.dim() >= 2, op, ": logits must be [N, K] or [N, K, d1, ...], got ", shape_str(logits.shape()));
  check(target.dtype() == DType::Int64, op, ": target must hold int64 class indices, got ",
        dtype_name(target.dtype()));
  Shape expected = logits.shape();
  expected.erase(expected.begin() + 1);
  check(target.shape() == expected, op, ": logits ", shape_str(logits.shape()), " need a target of shape ",
        shape_str(expected), ", got ", shape_str(target.shape()));
  const Lines l = lines_of(logits.shape(), 1);  // outer = N, n = K, inner = d1 * ... * dm
  const int64_t* pt = target.data<int64_t>();
  count = 0;
  for (int64_t p = 0; p < target.numel(); ++p) {
    if (pt[p] == ignore_index) continue;
    check(pt[p] >= 0 && pt[p] < l.n, op, ": target ", pt[p], " at position ", p, " is out of range for ", l.n,
          " classes");
    ++count;
  }
  return l;
}

}  // namespace

Tensor softmax_forward(const Tensor& x, int64_t dim) {
  return softmax_forward_impl(x, dim, /*log=*/false, "reference::softmax_forward");
}
Tensor softmax_backward(const Tensor& x, const Tensor& dy, int64_t dim) {
  return softmax_backward_impl(x, dy, dim, /*log=*/false, "reference::softmax_backward");
}
Tensor log_softmax_forward(const Tensor& x, int64_t dim) {
  return softmax_forward_impl(x, dim, /*log=*/true, "reference::log_softmax_forward");
}
Tensor log_softmax_backward(const Tensor& x, const Tensor& dy, int64_t dim) {
  return softmax_backward_impl(x, dy, dim, /*log=*/true, "reference::log_softmax_backward");
}

Tensor cross_entropy_forward(const Tensor& logits_in, const Tensor& target, Reduction reduction,
                             int64_t ignore_index) {
  const char* op = "reference::cross_entropy_forward";
  int64_t count = 0;
  const Lines l = classes_of(logits_in, target, ignore_index, count, op);
  const Tensor logits = as_float64(logits_in, op, "logits");
  const double* px = logits.data<double>();
  const int64_t* pt = target.data<int64_t>();
  Tensor loss = Tensor::zeros(target.shape(), DType::Float64);  // l_p, 0 where ignored
  double* pl = loss.data<double>();
  double total = 0;

  for (int64_t n = 0; n < l.outer; ++n)
    for (int64_t i = 0; i < l.inner; ++i) {
      const int64_t p = n * l.inner + i, t = pt[p];  // position p = (n, i) of target
      if (t == ignore_index) continue;
      pl[p] = log_sum_exp(px, l, n, i) - px[l.at(n, t, i)];
      total += pl[p];
    }
  if (reduction == Reduction::None) return loss.to(logits_in.dtype());
  if (reduction == Reduction::Mean) total = count > 0 ? total / count : 0.0;
  return Tensor::scalar(total, logits_in.dtype());
}

Tensor cross_entropy_backward(const Tensor& logits_in, const Tensor& target, const Tensor& dloss_in,
                              Reduction reduction, int64_t ignore_index) {
  const char* op = "reference::cross_entropy_backward";
  int64_t count = 0;
  const Lines l = classes_of(logits_in, target, ignore_index, count, op);
  const Tensor logits = as_float64(logits_in, op, "logits"), dloss = as_float64(dloss_in, op, "dloss");
  const Shape loss_shape = reduction == Reduction::None ? target.shape() : Shape{};
  check(dloss.shape() == loss_shape, op, ": dloss must have the loss's shape ", shape_str(loss_shape), ", got ",
        shape_str(dloss.shape()));
  const double *px = logits.data<double>(), *pdl = dloss.data<double>();
  const int64_t* pt = target.data<int64_t>();
  Tensor dx = Tensor::zeros(logits.shape(), DType::Float64);
  double* pdx = dx.data<double>();

  for (int64_t n = 0; n < l.outer; ++n)
    for (int64_t i = 0; i < l.inner; ++i) {
      const int64_t p = n * l.inner + i, t = pt[p];
      if (t == ignore_index) continue;  // no gradient
      const double g = reduction == Reduction::None ? pdl[p]
                       : reduction == Reduction::Sum ? pdl[0]
                       : count > 0                   ? pdl[0] / count
                                                     : 0.0;
      const double lse = log_sum_exp(px, l, n, i);
      for (int64_t k = 0; k < l.n; ++k) pdx[l.at(n, k, i)] = (std::exp(px[l.at(n, k, i)] - lse) - (k == t)) * g;
    }
  return dx.to(logits_in.dtype());
}

}  // namespace ember::reference
