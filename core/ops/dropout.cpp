// Dropout: in training, zero each element with probability p and scale the survivors by 1/(1-p).
//
//   x: any shape, y the same.   y_i = x_i * m_i,  m_i = 0 with probability p, else 1 / (1 - p)
//   backward: dx_i = g_i * m_i (the same mask)
//
// Why scale ("inverted dropout"): E[m_i] = (1 - p) / (1 - p) = 1, so the expected value of each
// element is unchanged and evaluation needs no correction: there dropout is the identity.
// Special cases: !training or p == 0 returns x itself; p == 1 drops everything (y = 0, dx = 0).
//
// The mask is a DropoutMask (core/ops/dropout_mask.h): element i is kept or dropped by a hash of
// (seed, i), with one seed drawn from the generator per call. So the elements are independent:
// threads split them, the mask is the same for any thread count, and backward recomputes it from
// the seed instead of keeping a mask tensor as large as x alive until backward.
// On the GPU (cuda/dropout.cu) the kernel calls the same DropoutMask::keep: one seed, one mask on
// both devices.
#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/ops/dropout_mask.h"
#include "core/parallel.h"
#include "core/random.h"

namespace ember {

namespace {

// out_i = in_i * m_i, with m_i = 0 or scale as the mask says. No autograd.
template <typename T>
void apply_mask(const Tensor& in, const DropoutMask& mask, T scale, Tensor& out);

// out = in * mask * scale on either device (no autograd).
Tensor masked_copy(const Tensor& in, const DropoutMask& mask, double p, double scale) {
  Tensor out = Tensor::empty(in.shape(), in.dtype(), in.device());
  if (is_cuda(in)) {
    cuda_kernels().dropout(in.dtype(), in.raw_device_data(), out.raw_device_data(), in.numel(), mask.seed, p, scale);
    return out;
  }
  dispatch_float(in.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    apply_mask<T>(in, mask, static_cast<T>(scale), out);
  });
  return out;
}

template <typename T>
void apply_mask(const Tensor& in, const DropoutMask& mask, T scale, Tensor& out) {
  const T* pi = in.data<T>();
  T* po = out.data<T>();
  // the lambda's own copy of the mask: otherwise the compiler must reload its seed after every
  // store to po (they might alias) and cannot vectorise the loop
  parallel_for(0, out.numel(), 1 << 15, [pi, po, mask, scale](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) po[i] = mask.keep(static_cast<uint64_t>(i)) ? pi[i] * scale : T(0);
  });
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  OpScope scope("dropout", x);
  check(x.defined(), "dropout: tensor is undefined");
  check(p >= 0.0 && p <= 1.0, "dropout: probability p must be in [0, 1], got ", p, " (input ",
        shape_str(x.shape()), ")");
  check(is_floating(x.dtype()), "dropout: expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
  if (!training || p == 0.0) {
    scope.set_output(x);  // the identity: no node, the input itself
    return x;
  }

  if (p == 1.0) {
    Tensor y = Tensor::zeros(x.shape(), x.dtype(), x.device());
    record(y, "dropout", {x}, [](const Tensor& g) {
      return std::vector<Tensor>{Tensor::zeros(g.shape(), g.dtype(), g.device())};
    });
    return y;
  }

  Generator& rng = gen ? *gen : default_generator();
  const DropoutMask mask(rng.next_u64(), p);
  const double scale = 1.0 / (1.0 - p);
  Tensor y = masked_copy(x, mask, p, scale);
  record(y, "dropout", {x}, [mask, p, scale](const Tensor& g) {
    return std::vector<Tensor>{masked_copy(g, mask, p, scale)};
  });
  return y;
}

}  // namespace ember
