// Reductions: sum, mean, var, max, argmax.
//
// A reduction over one dimension d views x as [outer, n, inner] (core/ops/lines.h: outer = product
// of the sizes before d, inner = product of those after) and produces [outer, inner]:
//   sum:  out[o, i] = sum_k x[o, k, i]            backward: dx[o, k, i] = g[o, i]
//   max:  out[o, i] = max_k x[o, k, i]            backward: g goes to the first argmax only
// Several dimensions are reduced one after the other. keepdim leaves a 1 where a dimension was.
//
// On the GPU: sum (and so mean and var, built from it) in cuda/reduce.cu, a block per line with
// warp shuffles; max and argmax there too, a thread per output walking its line in order (the
// CPU's first-maximum and NaN rules exactly).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/ops/lines.h"
#include "core/parallel.h"

namespace ember {

namespace {

// Sorted, unique, non-negative dims; empty means all.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t rank, const char* op) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (int64_t d : dims) out.push_back(normalize_dim(d, rank, op));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Sum over one dimension, keeping it with size 1. No autograd.
template <typename T>
Tensor sum_dim_kernel(const Tensor& x, int64_t d) {
  const Lines lines = lines_of(x.shape(), d);
  Shape out_shape = x.shape();
  out_shape[d] = 1;
  Tensor out = Tensor::zeros(out_shape, x.dtype());
  const T* px = x.data<T>();
  T* po = out.data<T>();
  if (lines.inner == 1) {
    // rows: accumulate each in double for accuracy
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(lines.n, 1));
    parallel_for(0, lines.outer, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        double acc = 0;
        const T* row = px + o * lines.n;
        for (int64_t k = 0; k < lines.n; ++k) acc += row[k];
        po[o] = static_cast<T>(acc);
      }
    });
  } else {
    // columns: add whole rows of length inner (vectorises), parallel over outer and inner
    parallel_for(0, lines.outer * lines.inner, 4096, [&](int64_t lo, int64_t hi) {
      // the range [lo, hi) of output elements, walked as (o, i) pieces
      int64_t e = lo;
      while (e < hi) {
        int64_t o = e / lines.inner, i0 = e % lines.inner;
        int64_t i1 = std::min(lines.inner, i0 + (hi - e));
        T* dst = po + o * lines.inner;
        for (int64_t k = 0; k < lines.n; ++k) {
          const T* src = px + (o * lines.n + k) * lines.inner;
          for (int64_t i = i0; i < i1; ++i) dst[i] += src[i];
        }
        e += i1 - i0;
      }
    });
  }
  return out;
}

// Sum of every element, deterministic for any thread count (fixed blocks).
template <typename T>
Tensor sum_all_kernel(const Tensor& x) {
  const T* p = x.data<T>();
  double total = parallel_sum<double>(0, x.numel(), 1 << 14, [&](int64_t lo, int64_t hi) {
    // eight running sums: independent adds the CPU can overlap (and vectorise); one running sum
    // would wait for each add to finish before starting the next
    double acc[8] = {};
    int64_t i = lo;
    for (; i + 8 <= hi; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
    for (; i < hi; ++i) acc[0] += p[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  });
  return Tensor::scalar(total, x.dtype());
}

Shape reduced_shape(const Shape& s, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) {
    bool reduced = std::find(dims.begin(), dims.end(), i) != dims.end();
    if (!reduced) out.push_back(s[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// Broadcasts g (the gradient of a reduction, shape with or without the reduced dims) back to x's
// shape: every element of x that was summed gets g.
Tensor expand_back(const Tensor& g, const Shape& x_shape, const std::vector<int64_t>& dims) {
  Shape kept = x_shape;
  for (int64_t d : dims) kept[d] = 1;
  Tensor gk = g.reshape(kept);
  return add(Tensor::zeros(x_shape, g.dtype(), g.device()), gk);
}

// The same reductions on the GPU: one dimension at a time, or every element at once.
Tensor cuda_sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const CudaKernels& cuda = cuda_kernels();
  if (static_cast<int64_t>(dims.size()) == x.dim() && !keepdim) {
    Tensor out = Tensor::empty({}, x.dtype(), Device::CUDA);
    cuda.sum_all(x.dtype(), x.raw_device_data(), out.raw_device_data(), x.numel());
    return out;
  }
  Tensor cur = x.detach();
  for (int64_t d : dims) {
    const Lines lines = lines_of(cur.shape(), d);
    Shape out_shape = cur.shape();
    out_shape[d] = 1;
    Tensor next = Tensor::empty(out_shape, x.dtype(), Device::CUDA);
    if (next.numel() > 0)
      cuda.sum_dim(x.dtype(), cur.raw_device_data(), next.raw_device_data(), lines.outer, lines.n, lines.inner);
    cur = next;
  }
  return cur.reshape(reduced_shape(x.shape(), dims, keepdim)).detach();
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  OpScope scope("sum", x);
  check(x.defined(), "sum: tensor is undefined");
  check(is_floating(x.dtype()), "sum: expected a float tensor, got ", dtype_name(x.dtype()));
  std::vector<int64_t> dims = normalize_dims(dims_in, x.dim(), "sum");
  Tensor out;
  if (x.device() == Device::CUDA) out = cuda_sum(x, dims, keepdim);
  else dispatch_float(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    if (static_cast<int64_t>(dims.size()) == x.dim() && !keepdim) {
      out = sum_all_kernel<T>(x);
      return;
    }
    Tensor cur = x.detach();
    for (int64_t d : dims) cur = sum_dim_kernel<T>(cur, d);
    out = cur.reshape(reduced_shape(x.shape(), dims, keepdim)).detach();
  });
  Shape x_shape = x.shape();
  record(out, "sum", {x}, [x_shape, dims](const Tensor& g) {
    return std::vector<Tensor>{expand_back(g, x_shape, dims)};
  });
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  OpScope scope("mean", x);
  std::vector<int64_t> dims = normalize_dims(dims_in, x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : dims) count *= x.shape()[d];
  check(count > 0, "mean: reducing over zero elements (shape ", shape_str(x.shape()), ")");
  return mul(sum(x, dims, keepdim), 1.0 / static_cast<double>(count));
}

// var = sum((x - mean)^2) / (n - unbiased), built from differentiable ops so its gradient is free.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims_in, bool unbiased, bool keepdim) {
  OpScope scope("var", x);
  std::vector<int64_t> dims = normalize_dims(dims_in, x.dim(), "var");
  int64_t count = 1;
  for (int64_t d : dims) count *= x.shape()[d];
  check(count - (unbiased ? 1 : 0) > 0, "var: not enough elements (", count, ") in shape ", shape_str(x.shape()));
  Tensor centered = x - mean(x, dims, /*keepdim=*/true);
  return mul(sum(centered * centered, dims, keepdim), 1.0 / static_cast<double>(count - (unbiased ? 1 : 0)));
}

namespace {
// Max and its index over dimension d; results shaped [outer, inner].
template <typename T>
void max_kernel(const Tensor& x, int64_t d, Tensor& values, Tensor& indices) {
  const Lines lines = lines_of(x.shape(), d);
  const T* px = x.data<T>();
  T* pv = values.data<T>();
  int64_t* pi = indices.data<int64_t>();
  // at least ~32k elements per thread: waking threads for a small max costs more than it saves
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(lines.n * lines.inner, 1));
  parallel_for(0, lines.outer, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      for (int64_t i = 0; i < lines.inner; ++i) {
        T best = px[o * lines.n * lines.inner + i];
        int64_t best_k = 0;
        for (int64_t k = 1; k < lines.n; ++k) {
          T v = px[(o * lines.n + k) * lines.inner + i];
          // NaN wins, so that a NaN shows up instead of hiding
          if (v > best || (std::isnan(v) && !std::isnan(best))) {
            best = v;
            best_k = k;
          }
        }
        pv[o * lines.inner + i] = best;
        pi[o * lines.inner + i] = best_k;
      }
    }
  });
}
}  // namespace

static void max_with_indices(const Tensor& x, int64_t d, bool keepdim, Tensor& values, Tensor& indices) {
  check(x.shape()[d] > 0, "max: dimension ", d, " of shape ", shape_str(x.shape()), " is empty");
  Shape out_shape = reduced_shape(x.shape(), {d}, keepdim);
  values = Tensor::empty(out_shape, x.dtype(), x.device());
  indices = Tensor::empty(out_shape, DType::Int64, x.device());
  if (x.device() == Device::CUDA) {
    const Lines lines = lines_of(x.shape(), d);
    cuda_kernels().max_dim(x.dtype(), x.raw_device_data(), values.raw_device_data(),
                           static_cast<int64_t*>(indices.raw_device_data()), lines.outer, lines.n, lines.inner);
    return;
  }
  dispatch_float(x.dtype(), "max", [&](auto tag) { max_kernel<decltype(tag)>(x, d, values, indices); });
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  OpScope scope("max", x);
  check(x.defined(), "max: tensor is undefined");
  int64_t d = normalize_dim(dim, x.dim(), "max");
  Tensor values, indices;
  max_with_indices(x, d, keepdim, values, indices);
  Shape x_shape = x.shape();
  record(values, "max", {x}, [x_shape, d, indices](const Tensor& g) {
    const Lines lines = lines_of(x_shape, d);
    if (g.device() == Device::CUDA) {
      Tensor dx = Tensor::empty(x_shape, g.dtype(), Device::CUDA);
      cuda_kernels().max_dim_backward(g.dtype(), g.raw_device_data(),
                                      static_cast<const int64_t*>(indices.raw_device_data()), dx.raw_device_data(),
                                      lines.outer, lines.n, lines.inner);
      return std::vector<Tensor>{dx};
    }
    Tensor dx = Tensor::zeros(x_shape, g.dtype());
    dispatch_float(g.dtype(), "max", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = g.data<T>();
      const int64_t* pi = indices.data<int64_t>();
      T* pd = dx.data<T>();
      for (int64_t o = 0; o < lines.outer; ++o)
        for (int64_t i = 0; i < lines.inner; ++i)
          pd[(o * lines.n + pi[o * lines.inner + i]) * lines.inner + i] = pg[o * lines.inner + i];
    });
    return std::vector<Tensor>{dx};
  });
  return values;
}

Tensor max(const Tensor& x) {
  OpScope scope("max", x);
  check(x.defined() && x.numel() > 0, "max: tensor is empty or undefined");
  return max(x.reshape({-1}), 0, false);
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  OpScope scope("argmax", x);
  check(x.defined(), "argmax: tensor is undefined");
  int64_t d = normalize_dim(dim, x.dim(), "argmax");
  Tensor values, indices;
  max_with_indices(x.detach(), d, keepdim, values, indices);
  scope.set_output(indices);  // not differentiable: no record() to say it
  return indices;
}

}  // namespace ember
