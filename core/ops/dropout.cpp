// Dropout: in training, zero each element with probability p and scale the survivors by 1/(1-p).
//
//   x: any shape, y the same.   y = x * mask,  mask_i = 0 with probability p, else 1 / (1 - p)
//   backward: dx = g * mask (the same mask)
//
// Why scale ("inverted dropout"): E[mask_i] = (1 - p) / (1 - p) = 1, so the expected value of each
// element is unchanged and evaluation needs no correction: there dropout is the identity.
// Special cases: !training or p == 0 returns x itself; p == 1 drops everything (y = 0, dx = 0).
//
// The mask is drawn from the generator one element after the other, on one thread: the same seed
// gives the same mask for any thread count. (Drawing is cheap next to the rest of a training step.)
// The mask is stored in x's dtype with the scale already applied, so forward and backward are
// each a single multiply.
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

namespace ember {

namespace {

// out[i] = a[i] * b[i], same shapes, no autograd.
template <typename T>
void multiply(const Tensor& a, const Tensor& b, Tensor& out) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* po = out.data<T>();
  parallel_for(0, out.numel(), 1 << 15, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) po[i] = pa[i] * pb[i];
  });
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  check(x.defined(), "dropout: tensor is undefined");
  check(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got ", p, " (input ",
        shape_str(x.shape()), ")");
  check(is_floating(x.dtype()), "dropout: expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
  if (!training || p == 0.0) return x;

  if (p == 1.0) {
    Tensor y = Tensor::zeros(x.shape(), x.dtype());
    record(y, "dropout", {x}, [](const Tensor& g) { return std::vector<Tensor>{Tensor::zeros(g.shape(), g.dtype())}; });
    return y;
  }

  Generator& rng = gen ? *gen : default_generator();
  Tensor mask = Tensor::empty(x.shape(), x.dtype());
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
    T* pm = mask.data<T>();
    for (int64_t i = 0; i < mask.numel(); ++i) pm[i] = rng.uniform() < p ? T(0) : keep_scale;  // sequential
    multiply<T>(x, mask, y);
  });

  record(y, "dropout", {x}, [mask](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype());
    dispatch_float(g.dtype(), "dropout", [&](auto tag) { multiply<decltype(tag)>(g, mask, dx); });
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace ember
