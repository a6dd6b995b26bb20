// Element-wise binary ops with NumPy broadcasting: add, sub, mul, div.
//
// Broadcasting: align the shapes on the right; each pair of sizes must be equal or one of them 1,
// and the output takes the larger. [64, 10] + [10] -> [64, 10]; [N, C, 1, 1] * [1, C, H, W] ->
// [N, C, H, W].
//
// Backward: out = a op b, so
//   add: da = g,        db = g
//   sub: da = g,        db = -g
//   mul: da = g * b,    db = g * a
//   div: da = g / b,    db = -g * a / b^2
// and each gradient is summed back to its input's shape (sum_to), since a broadcast input was
// used many times.
//
// On the GPU: cuda/binary.cu, one thread per output element (the general case's loop below).
#include <cstring>

#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace ember {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    check(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
          " cannot be broadcast together (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

using BinOp = BinaryOp;  // Add, Sub, Mul, Div (core/cuda_backend.h)

template <typename T>
inline T apply(BinOp op, T x, T y) {
  switch (op) {
    case BinOp::Add: return x + y;
    case BinOp::Sub: return x - y;
    case BinOp::Mul: return x * y;
    case BinOp::Div: return x / y;
  }
  return T(0);
}

// Strides (in elements) of `shape` as seen from an output of rank `out_rank`: 0 for a broadcast
// dimension, so the same element is read again.
std::vector<int64_t> broadcast_strides(const Shape& shape, size_t out_rank, const Shape& out_shape) {
  std::vector<int64_t> strides(out_rank, 0);
  int64_t stride = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    size_t o = out_rank - shape.size() + i;
    strides[o] = (shape[i] == 1 && out_shape[o] != 1) ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

template <typename T>
void binary_kernel(BinOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* po = out.data<T>();
  const int64_t n = out.numel();
  // Fast paths: same shapes, or one side a single value. These cover most calls.
  if (a.shape() == b.shape()) {
    parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) po[i] = apply(op, pa[i], pb[i]);
    });
    return;
  }
  if (b.numel() == 1 && a.numel() == n) {
    T y = pb[0];
    parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) po[i] = apply(op, pa[i], y);
    });
    return;
  }
  if (a.numel() == 1 && b.numel() == n) {
    T x = pa[0];
    parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) po[i] = apply(op, x, pb[i]);
    });
    return;
  }
  // General case: walk the output; the innermost dimension is a tight loop with fixed strides.
  const Shape& os = out.shape();
  const size_t rank = os.size();
  std::vector<int64_t> sa = broadcast_strides(a.shape(), rank, os);
  std::vector<int64_t> sb = broadcast_strides(b.shape(), rank, os);
  const int64_t inner = os[rank - 1];
  const int64_t rows = n / inner;
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  parallel_for(0, rows, std::max<int64_t>(1, (1 << 15) / inner), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      // offsets of row r in a and b: decompose r over the outer dimensions
      int64_t oa = 0, ob = 0, rem = r;
      for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
        int64_t idx = rem % os[d];
        rem /= os[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      T* o = po + r * inner;
      for (int64_t j = 0; j < inner; ++j) o[j] = apply(op, pa[oa + j * ia], pb[ob + j * ib]);
    }
  });
}

// out = a op b on the GPU: the same strides as the general case above, handed to one kernel.
void cuda_binary(BinOp op, const char* name, const Tensor& a, const Tensor& b, Tensor& out) {
  const Shape& os = out.shape();
  check(os.size() <= static_cast<size_t>(kMaxCudaDims), name, ": CUDA tensors have at most ", kMaxCudaDims,
        " dimensions here, got shape ", shape_str(os));
  BroadcastIndex index;
  index.rank = static_cast<int>(os.size());
  std::vector<int64_t> sa = broadcast_strides(a.shape(), os.size(), os);
  std::vector<int64_t> sb = broadcast_strides(b.shape(), os.size(), os);
  for (size_t d = 0; d < os.size(); ++d) {
    index.size[d] = os[d];
    index.stride_a[d] = sa[d];
    index.stride_b[d] = sb[d];
  }
  cuda_kernels().binary(op, a.dtype(), a.raw_device_data(), b.raw_device_data(), out.raw_device_data(),
                        out.numel(), index);
}

void check_same_device(const char* name, const Tensor& a, const Tensor& b) {
  check(a.device() == b.device(), name, ": the tensors are on different devices: ", shape_str(a.shape()), " ",
        dtype_name(a.dtype()), " on ", device_name(a.device()), " and ", shape_str(b.shape()), " ",
        dtype_name(b.dtype()), " on ", device_name(b.device()), "; move one with .cuda() or .cpu()");
}

const char* op_name(BinOp op) {
  switch (op) {
    case BinOp::Add: return "add";
    case BinOp::Sub: return "sub";
    case BinOp::Mul: return "mul";
    case BinOp::Div: return "div";
  }
  return "?";
}

Tensor binary(BinOp op, const Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  check(a.defined() && b.defined(), name, ": tensor is undefined");
  check(a.dtype() == b.dtype(), name, ": dtypes differ (", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()),
        "); convert one with .to()");
  check(!(op == BinOp::Div && a.dtype() == DType::Int64), "div: int64 tensors are not supported; convert with .to()");
  check_same_device(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  if (out.numel() == 0) return out;
  if (a.device() == Device::CUDA) cuda_binary(op, name, a, b, out);
  else dispatch_all(a.dtype(), [&](auto tag) { binary_kernel<decltype(tag)>(op, a, b, out); });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  OpScope scope("add", a, b);
  Tensor out = binary(BinOp::Add, a, b);
  Shape sa = a.shape(), sb = b.shape();
  record(out, "add", {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, sa), sum_to(g, sb)};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  OpScope scope("sub", a, b);
  Tensor out = binary(BinOp::Sub, a, b);
  Shape sa = a.shape(), sb = b.shape();
  record(out, "sub", {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, sa), sum_to(neg(g), sb)};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  OpScope scope("mul", a, b);
  Tensor out = binary(BinOp::Mul, a, b);
  // Save only what backward reads: b for da, a for db.
  Tensor a_saved = b.requires_grad() ? a.detach() : Tensor();
  Tensor b_saved = a.requires_grad() ? b.detach() : Tensor();
  Shape sa = a.shape(), sb = b.shape();
  record(out, "mul", {a, b}, [a_saved, b_saved, sa, sb](const Tensor& g) {
    Tensor da = b_saved.defined() ? sum_to(g * b_saved, sa) : Tensor();
    Tensor db = a_saved.defined() ? sum_to(g * a_saved, sb) : Tensor();
    return std::vector<Tensor>{da, db};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  OpScope scope("div", a, b);
  Tensor out = binary(BinOp::Div, a, b);
  Tensor a_saved = a.detach(), b_saved = b.detach();
  Shape sa = a.shape(), sb = b.shape();
  record(out, "div", {a, b}, [a_saved, b_saved, sa, sb](const Tensor& g) {
    Tensor da = sum_to(g / b_saved, sa);
    Tensor db = sum_to(neg(g * a_saved / (b_saved * b_saved)), sb);
    return std::vector<Tensor>{da, db};
  });
  return out;
}

// Scalars become one-element tensors of the same dtype, broadcast like any other operand.
Tensor add(const Tensor& a, double b) { return add(a, Tensor::scalar(b, a.dtype(), a.device())); }
Tensor sub(const Tensor& a, double b) { return sub(a, Tensor::scalar(b, a.dtype(), a.device())); }
Tensor mul(const Tensor& a, double b) { return mul(a, Tensor::scalar(b, a.dtype(), a.device())); }
Tensor div(const Tensor& a, double b) { return div(a, Tensor::scalar(b, a.dtype(), a.device())); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return add(neg(b), a); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator-(const Tensor& a) { return neg(a); }

// g: the gradient of a broadcast result; shape: the input's shape. Sum over the leading dimensions
// that the input did not have, and over those where it had size 1.
Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  check(lead >= 0, "sum_to: cannot reduce shape ", shape_str(g.shape()), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < g.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) dims.push_back(i);
  Tensor s = dims.empty() ? g : sum(g, dims, /*keepdim=*/true);
  return s.reshape(shape);
}

void add_(Tensor& a, const Tensor& b) {
  check(a.dtype() == b.dtype(), "add_: dtypes differ (", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()), ")");
  Shape s = broadcast_shapes(a.shape(), b.shape(), "add_");
  check(s == a.shape(), "add_: cannot add shape ", shape_str(b.shape()), " into ", shape_str(a.shape()), " in place");
  check_same_device("add_", a, b);
  if (a.numel() > 0 && a.device() == Device::CUDA) cuda_binary(BinOp::Add, "add_", a, b, a);
  else dispatch_all(a.dtype(), [&](auto tag) { binary_kernel<decltype(tag)>(BinOp::Add, a, b, a); });
}

void axpy_(Tensor& a, double alpha, const Tensor& b) {
  check(a.shape() == b.shape() && a.dtype() == b.dtype(), "axpy_: shapes/dtypes differ: ", shape_str(a.shape()), " ",
        dtype_name(a.dtype()), " and ", shape_str(b.shape()), " ", dtype_name(b.dtype()));
  check_same_device("axpy_", a, b);
  if (a.device() == Device::CUDA) {
    check(is_floating(a.dtype()), "axpy_: expected a float32 or float64 tensor, got ", dtype_name(a.dtype()));
    if (a.numel() > 0) cuda_kernels().axpy(a.dtype(), a.raw_device_data(), alpha, b.raw_device_data(), a.numel());
    return;
  }
  dispatch_float(a.dtype(), "axpy_", [&](auto tag) {
    using T = decltype(tag);
    T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T al = static_cast<T>(alpha);
    parallel_for(0, a.numel(), 1 << 15, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) pa[i] += al * pb[i];
    });
  });
}

}  // namespace ember
