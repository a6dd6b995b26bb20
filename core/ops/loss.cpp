// Element-wise losses: mean squared error and binary cross-entropy on logits.
//
// input x and target y have the same shape (any shape); l is computed per element, then reduced:
// None -> l (that shape), Sum -> sum l, Mean -> sum l / numel (NaN for an empty tensor, 0/0, as
// PyTorch).
//
//   mse:  l = (x - y)^2                               dl/dx = 2 (x - y)      dl/dy = -2 (x - y)
//   bce with logits (y a probability in [0, 1], x a logit, p = sigmoid(x)):
//         l = -(y log p + (1 - y) log(1 - p))
//           = max(x, 0) - x y + log(1 + exp(-|x|))    the stable form: exp never overflows, and
//                                                     log1p keeps precision when exp(-|x|) is tiny
//                                                     dl/dx = sigmoid(x) - y  dl/dy = -x
// Backward multiplies by the incoming gradient: g (Sum), g / numel (Mean), or g elementwise (None).
//
// On the GPU both losses are put together from ops that have CUDA kernels, and autograd takes their
// gradient through them: mse = (x - y)(x - y), bce = relu(x) - x y + log(exp(-|x|) + 1) (log1p has
// no kernel: for |x| > ~17 in float64 its last digits are lost, an absolute error below 1e-16).
#include <algorithm>
#include <cmath>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/parallel.h"

namespace ember {

namespace {

void check_loss_inputs(const char* op, const Tensor& input, const Tensor& target) {
  check(input.defined() && target.defined(), op, ": tensor is undefined");
  check(input.shape() == target.shape(), op, ": input ", shape_str(input.shape()), " and target ",
        shape_str(target.shape()), " must have the same shape");
  check(input.dtype() == target.dtype(), op, ": input is ", dtype_name(input.dtype()), ", target is ",
        dtype_name(target.dtype()), "; convert one with .to()");
}

// The per-element losses l reduced as asked, with ops (the GPU path).
Tensor reduce_loss(const Tensor& l, Reduction reduction) {
  if (reduction == Reduction::None) return l;
  Tensor total = sum(l);
  // Mean of nothing is 0 * inf = NaN, as on the CPU
  return reduction == Reduction::Sum ? total : mul(total, 1.0 / static_cast<double>(l.numel()));
}

// What a loss's grad function returns: {dl/dx, dl/dy}.
struct Pair {
  double first, second;
};

// One implementation for both losses. loss(x, y) is the per-element loss; grad(x, y) returns
// the pair {dl/dx, dl/dy}. Both are generic lambdas, called with float or double.
template <typename LossFn, typename GradFn>
Tensor pointwise_loss(const char* op, const Tensor& input, const Tensor& target, Reduction reduction, LossFn loss,
                      GradFn grad) {
  check_loss_inputs(op, input, target);
  const int64_t n = input.numel();
  Tensor out;
  dispatch_float(input.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = input.data<T>();
    const T* py = target.data<T>();
    if (reduction == Reduction::None) {
      out = Tensor::empty(input.shape(), input.dtype());
      T* po = out.data<T>();
      parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) po[i] = static_cast<T>(loss(px[i], py[i]));
      });
    } else {
      // fixed blocks added in order: the same bits for any thread count
      double total = parallel_sum<double>(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
        double acc = 0;
        for (int64_t i = lo; i < hi; ++i) acc += loss(px[i], py[i]);
        return acc;
      });
      if (reduction == Reduction::Mean) total /= static_cast<double>(n);
      out = Tensor::scalar(total, input.dtype());
    }
  });

  Tensor x_saved = input.detach(), y_saved = target.detach();
  const bool need_dx = input.requires_grad(), need_dy = target.requires_grad();
  record(out, op, {input, target}, [=](const Tensor& g) {
    Tensor dx = need_dx ? Tensor::empty(x_saved.shape(), x_saved.dtype()) : Tensor();
    Tensor dy = need_dy ? Tensor::empty(y_saved.shape(), y_saved.dtype()) : Tensor();
    dispatch_float(g.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      const T* px = x_saved.data<T>();
      const T* py = y_saved.data<T>();
      const T* pg = g.data<T>();
      T* pdx = need_dx ? dx.data<T>() : nullptr;
      T* pdy = need_dy ? dy.data<T>() : nullptr;
      T scale = T(0);  // the incoming gradient per element, for Sum and Mean
      if (reduction == Reduction::Sum) scale = pg[0];
      if (reduction == Reduction::Mean) scale = static_cast<T>(pg[0] / static_cast<double>(n));
      parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const T s = reduction == Reduction::None ? pg[i] : scale;
          const auto [dl_dx, dl_dy] = grad(px[i], py[i]);
          if (pdx) pdx[i] = static_cast<T>(dl_dx * s);
          if (pdy) pdy[i] = static_cast<T>(dl_dy * s);
        }
      });
    });
    return std::vector<Tensor>{dx, dy};
  });
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  OpScope scope("mse_loss", input, target);
  if (is_cuda(input) || is_cuda(target)) {
    check_loss_inputs("mse_loss", input, target);
    const Tensor d = input - target;  // an error naming both devices when they differ
    return reduce_loss(d * d, reduction);
  }
  return pointwise_loss(
      "mse_loss", input, target, reduction,
      [](auto x, auto y) {
        double d = static_cast<double>(x) - y;
        return d * d;
      },
      [](auto x, auto y) {
        double d = static_cast<double>(x) - y;
        return Pair{2 * d, -2 * d};
      });
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  OpScope scope("binary_cross_entropy_with_logits", logits, target);
  if (is_cuda(logits) || is_cuda(target)) {
    check_loss_inputs("binary_cross_entropy_with_logits", logits, target);
    const Tensor l = relu(logits) - logits * target + log(exp(neg(abs(logits))) + 1.0);
    return reduce_loss(l, reduction);
  }
  return pointwise_loss(
      "binary_cross_entropy_with_logits", logits, target, reduction,
      [](auto x, auto y) {
        double xd = x;
        return std::max(xd, 0.0) - xd * y + std::log1p(std::exp(-std::abs(xd)));
      },
      [](auto x, auto y) {
        double xd = x;
        // sigmoid(x), stable on both sides
        double p = xd >= 0 ? 1.0 / (1.0 + std::exp(-xd)) : std::exp(xd) / (1.0 + std::exp(xd));
        return Pair{p - y, -xd};
      });
}

}  // namespace ember
