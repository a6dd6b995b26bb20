// masked_fill and causal_mask: hiding elements, e.g. the future in causal self-attention.
//
//   masked_fill(x, mask, value):  y = mask ? value : x, element by element
//     x: any shape; mask: any dtype (nonzero = masked), broadcast to x's shape (NumPy rules, but
//     only the mask stretches: [T, T] works for scores [B, H, T, T]); y: x's shape.
//     backward: dx = g where the mask is 0, and 0 where it is set (y does not depend on x there),
//               which is masked_fill(g, mask, 0). No gradient for the mask.
//   causal_mask(T): [T, T] with 1 where j > i (position i must not see the later position j):
//     for T = 3   0 1 1
//                 0 0 1
//                 0 0 0
// Attention uses them together: scores.masked_fill(causal_mask(T), -inf) before the softmax.
// On the GPU (cuda/masked_fill.cu): a thread per element, finding its mask element with the strides
// of mask_strides below. causal_mask is made on the CPU; .cuda() moves it.
#include <algorithm>
#include <cmath>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/parallel.h"

namespace ember {

namespace {

// Strides (in elements) for reading the mask as if it had x's shape: 0 along a dimension where
// the mask has size 1 (or does not exist), so the same mask element is read again.
std::vector<int64_t> mask_strides(const Shape& mask, const Shape& x) {
  std::vector<int64_t> strides(x.size(), 0);
  int64_t stride = 1;
  for (int64_t i = static_cast<int64_t>(mask.size()) - 1; i >= 0; --i) {
    size_t d = x.size() - mask.size() + i;
    strides[d] = mask[i] == 1 ? 0 : stride;
    stride *= mask[i];
  }
  return strides;
}

// out = mask ? value : src, walking src row by row (a row is the last dimension).
template <typename T, typename M>
void fill_kernel(const Tensor& src, const Tensor& mask, T value, Tensor& out) {
  const Shape& shape = src.shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const std::vector<int64_t> ms = mask_strides(mask.shape(), shape);
  const int64_t inner = rank ? shape[rank - 1] : 1;
  const int64_t inner_stride = rank ? ms[rank - 1] : 0;
  const int64_t rows = src.numel() / std::max<int64_t>(inner, 1);
  const T* ps = src.data<T>();
  const M* pm = mask.data<M>();
  T* po = out.data<T>();
  parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      // where row r of the mask starts: decompose r over the dimensions before the last
      int64_t m_off = 0, rem = r;
      for (int64_t d = rank - 2; d >= 0; --d) {
        m_off += (rem % shape[d]) * ms[d];
        rem /= shape[d];
      }
      const T* s = ps + r * inner;
      const M* m = pm + m_off;
      T* o = po + r * inner;
      for (int64_t j = 0; j < inner; ++j) o[j] = m[j * inner_stride] != M(0) ? value : s[j];
    }
  });
}

}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  OpScope scope("masked_fill", x, mask);
  check(x.defined() && mask.defined(), "masked_fill: tensor is undefined");
  Shape b = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  check(b == x.shape(), "masked_fill: mask ", shape_str(mask.shape()), " cannot be broadcast to the input's shape ",
        shape_str(x.shape()));
  check_devices_match("masked_fill", x, "input", mask, "mask");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (is_cuda(x)) {
    check(is_floating(x.dtype()), "masked_fill: expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
    check(x.dim() <= kMaxCudaDims, "masked_fill: CUDA tensors have at most ", kMaxCudaDims,
          " dimensions here, got shape ", shape_str(x.shape()));
    BroadcastIndex index;
    index.rank = static_cast<int>(x.dim());
    const std::vector<int64_t> ms = mask_strides(mask.shape(), x.shape());
    int64_t stride = 1;
    for (int64_t d = x.dim() - 1; d >= 0; --d) {
      index.size[d] = x.shape()[d];
      index.stride_a[d] = stride;
      index.stride_b[d] = ms[d];
      stride *= x.shape()[d];
    }
    cuda_kernels().masked_fill(x.dtype(), x.raw_device_data(), mask.dtype(), mask.raw_device_data(),
                               y.raw_device_data(), x.numel(), index, value);
  } else dispatch_float(x.dtype(), "masked_fill", [&](auto tag) {
    using T = decltype(tag);
    if (x.numel() == 0) return;
    dispatch_all(mask.dtype(), [&](auto mtag) { fill_kernel<T, decltype(mtag)>(x, mask, static_cast<T>(value), y); });
  });
  Tensor mask_saved = mask.detach();
  record(y, "masked_fill", {x}, [mask_saved](const Tensor& g) {
    return std::vector<Tensor>{masked_fill(g, mask_saved, 0.0)};
  });
  return y;
}

Tensor causal_mask(int64_t T, DType dtype) {
  OpScope scope("causal_mask");
  check(T >= 0, "causal_mask: size T must be >= 0, got ", T);
  Tensor m = Tensor::empty({T, T}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using V = decltype(tag);
    V* p = m.data<V>();
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j) p[i * T + j] = j > i ? V(1) : V(0);
  });
  scope.set_output(m);  // a constant: no record() to say it
  return m;
}

}  // namespace ember
