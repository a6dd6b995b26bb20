#pragma once
// map(x, "op", f): a new tensor with f applied to every element of x (float32 or float64),
// split across threads. The forward of most element-wise ops (unary.cpp, activations.cpp) is one
// call of this; f gets the element in its own type and returns the result.
#include "core/parallel.h"
#include "core/tensor.h"

namespace ember {

template <typename F>
Tensor map(const Tensor& x, const char* op, F f) {
  check(x.defined(), op, ": tensor is undefined");
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    parallel_for(0, x.numel(), 1 << 14, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) po[i] = static_cast<T>(f(px[i]));
    });
  });
  return out;
}

}  // namespace ember
