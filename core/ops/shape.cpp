// Shape ops: reshape, permute/transpose, slice, concat/stack, index_select.
//
// Tensors are always contiguous (see core/tensor.h), so:
//   reshape            shares the storage (a view; the same numbers, read with another shape)
//   slice along dim 0  shares the storage (a view with an offset)
//   permute/transpose, slice along other dims, concat, stack: copy
// The backward of each is the inverse rearrangement of the gradient.
//
// On the GPU (cuda/shape.cu): permute is one kernel (a thread per output element finds its source
// with the same strides as permute_kernel below); the row copies of slice, concat and index_select
// are cudaMemcpy2D; index_select's backward adds rows with atomicAdd.
#include <cstring>
#include <numeric>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/ops/lines.h"
#include "core/parallel.h"

namespace ember {

Tensor reshape(const Tensor& x, const Shape& shape) {
  OpScope scope("reshape", x);
  check(x.defined(), "reshape: tensor is undefined");
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      check(infer < 0, "reshape: only one dimension can be -1, got ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      check(s[i] >= 0, "reshape: invalid size ", s[i], " in ", shape_str(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    check(known > 0 && x.numel() % known == 0, "reshape: cannot reshape ", shape_str(x.shape()), " (", x.numel(),
          " elements) into ", shape_str(shape));
    s[infer] = x.numel() / known;
  }
  check(shape_numel(s) == x.numel(), "reshape: cannot reshape ", shape_str(x.shape()), " (", x.numel(),
        " elements) into ", shape_str(shape), " (", shape_numel(s), " elements)");
  Tensor out = x.detach();  // shares storage
  out.impl()->shape = s;
  Shape in_shape = x.shape();
  record(out, "reshape", {x}, [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
  return out;
}

namespace {

// Copies x into the layout of out, where out's dimension i is x's dimension dims[i].
template <typename T>
void permute_kernel(const Tensor& x, const Shape& dims, Tensor& out) {
  const int64_t rank = x.dim();
  // strides of x in elements
  std::vector<int64_t> xs(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i) xs[i] = xs[i + 1] * x.shape()[i + 1];
  // for each output dimension, the stride to step through x
  std::vector<int64_t> step(rank);
  for (int64_t i = 0; i < rank; ++i) step[i] = xs[dims[i]];
  const Shape& os = out.shape();
  const T* px = x.data<T>();
  T* po = out.data<T>();
  const int64_t inner = rank ? os[rank - 1] : 1;
  const int64_t rows = out.numel() / std::max<int64_t>(inner, 1);
  const int64_t inner_step = rank ? step[rank - 1] : 1;
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(inner, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t src = 0, rem = r;
      for (int64_t d = rank - 2; d >= 0; --d) {
        src += (rem % os[d]) * step[d];
        rem /= os[d];
      }
      T* o = po + r * inner;
      for (int64_t j = 0; j < inner; ++j) o[j] = px[src + j * inner_step];
    }
  });
}

// The same strides for the GPU kernel (cuda/shape.cu): out[i] = x[sum_d idx_d * step[d]].
void cuda_permute(const Tensor& x, const Shape& dims, Tensor& out) {
  const int64_t rank = x.dim();
  check(rank <= kMaxCudaDims, "permute: CUDA tensors have at most ", kMaxCudaDims, " dimensions here, got shape ",
        shape_str(x.shape()));
  std::vector<int64_t> xs(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i) xs[i] = xs[i + 1] * x.shape()[i + 1];
  PermuteIndex index;
  index.rank = static_cast<int>(rank);
  for (int64_t i = 0; i < rank; ++i) {
    index.size[i] = out.shape()[i];
    index.step[i] = xs[dims[i]];
  }
  cuda_kernels().permute(dtype_size(x.dtype()), x.raw_device_data(), out.raw_device_data(), out.numel(), index);
}

}  // namespace

Tensor permute(const Tensor& x, const Shape& dims) {
  OpScope scope("permute", x);
  check(x.defined(), "permute: tensor is undefined");
  const int64_t rank = x.dim();
  check(static_cast<int64_t>(dims.size()) == rank, "permute: got ", dims.size(), " dimensions ", shape_str(dims),
        " for a tensor of shape ", shape_str(x.shape()));
  Shape d(rank), inverse(rank);
  std::vector<bool> seen(rank, false);
  for (int64_t i = 0; i < rank; ++i) {
    d[i] = normalize_dim(dims[i], rank, "permute");
    check(!seen[d[i]], "permute: dimension ", d[i], " appears twice in ", shape_str(dims));
    seen[d[i]] = true;
    inverse[d[i]] = i;
  }
  Shape out_shape(rank);
  for (int64_t i = 0; i < rank; ++i) out_shape[i] = x.shape()[d[i]];
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  if (out.numel() > 0 && is_cuda(x)) cuda_permute(x, d, out);
  else if (out.numel() > 0) dispatch_all(x.dtype(), [&](auto tag) { permute_kernel<decltype(tag)>(x, d, out); });
  record(out, "permute", {x}, [inverse](const Tensor& g) { return std::vector<Tensor>{permute(g, inverse)}; });
  return out;
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  OpScope scope("transpose", x);
  const int64_t rank = x.dim();
  Shape dims(rank);
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[normalize_dim(d0, rank, "transpose")], dims[normalize_dim(d1, rank, "transpose")]);
  return permute(x, dims);
}

// Copies a block of `len` elements from each of `outer` rows of x (row length x_row, starting
// at x_start) into rows of out (row length out_row, starting at out_start). Both slice and concat
// are this copy.
static void copy_rows(const Tensor& src, int64_t src_row, int64_t src_start, Tensor& dst, int64_t dst_row,
                      int64_t dst_start, int64_t outer, int64_t len) {
  const size_t es = dtype_size(src.dtype());
  check(src.device() == dst.device(), "copy_rows: source on ", device_name(src.device()), ", destination on ",
        device_name(dst.device()));
  if (is_cuda(src)) {  // the same rows, copied by the GPU (cudaMemcpy2D)
    if (outer > 0 && len > 0)
      cuda_kernels().copy_rows(static_cast<char*>(dst.raw_device_data()) + dst_start * es, dst_row * es,
                               static_cast<const char*>(src.raw_device_data()) + src_start * es, src_row * es,
                               len * es, outer);
    return;
  }
  const char* ps = static_cast<const char*>(src.raw_data());
  char* pd = static_cast<char*>(dst.raw_data());
  for (int64_t r = 0; r < outer; ++r)
    std::memcpy(pd + (r * dst_row + dst_start) * es, ps + (r * src_row + src_start) * es, len * es);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  OpScope scope("slice", x);
  check(x.defined(), "slice: tensor is undefined");
  const int64_t d = normalize_dim(dim, x.dim(), "slice");
  const int64_t n = x.shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  end = std::min(end, n);
  check(start >= 0 && start <= end, "slice: range [", start, ", ", end, ") is invalid for dimension ", d,
        " of size ", n, " in shape ", shape_str(x.shape()));
  Shape out_shape = x.shape();
  out_shape[d] = end - start;
  const Lines lines = lines_of(x.shape(), d);  // x as [outer, n, inner] around d
  const int64_t inner = lines.inner, outer = lines.outer;
  Tensor out;
  if (outer == 1) {
    // A contiguous block: a view into the same storage.
    out = x.detach();
    out.impl()->offset += start * inner;
    out.impl()->shape = out_shape;
  } else {
    out = Tensor::empty(out_shape, x.dtype(), x.device());
    copy_rows(x, n * inner, start * inner, out, (end - start) * inner, 0, outer, (end - start) * inner);
  }
  Shape in_shape = x.shape();
  record(out, "slice", {x}, [in_shape, d, start, end, n, inner, outer](const Tensor& g) {
    Tensor dx = Tensor::zeros(in_shape, g.dtype(), g.device());
    copy_rows(g, (end - start) * inner, 0, dx, n * inner, start * inner, outer, (end - start) * inner);
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  OpScope scope("concat", xs);
  check(!xs.empty(), "concat: no tensors given");
  const Tensor& first = xs[0];
  const int64_t d = normalize_dim(dim, first.dim(), "concat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    check(x.dtype() == first.dtype(), "concat: tensor ", i, " is ", dtype_name(x.dtype()), ", tensor 0 is ",
          dtype_name(first.dtype()));
    check(x.device() == first.device(), "concat: tensor ", i, " is on ", device_name(x.device()), ", tensor 0 on ",
          device_name(first.device()), "; move one with .cuda() or .cpu()");
    bool same = x.dim() == first.dim();
    for (int64_t j = 0; same && j < x.dim(); ++j) same = (j == d) || x.shape()[j] == first.shape()[j];
    check(same, "concat: tensor ", i, " has shape ", shape_str(x.shape()), ", which does not match ",
          shape_str(first.shape()), " outside dimension ", d);
    out_shape[d] += x.shape()[d];
  }
  const Lines lines = lines_of(first.shape(), d);  // each x as [outer, x's size along d, inner]
  const int64_t inner = lines.inner, outer = lines.outer;
  Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
  std::vector<int64_t> sizes;
  int64_t at = 0;
  for (const Tensor& x : xs) {
    int64_t len = x.shape()[d] * inner;
    copy_rows(x, len, 0, out, out_shape[d] * inner, at, outer, len);
    at += len;
    sizes.push_back(x.shape()[d]);
  }
  record(out, "concat", xs, [sizes, d](const Tensor& g) {
    std::vector<Tensor> grads;
    int64_t start = 0;
    for (int64_t s : sizes) {
      grads.push_back(slice(g, d, start, start + s));
      start += s;
    }
    return grads;
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  OpScope scope("stack", xs);
  check(!xs.empty(), "stack: no tensors given");
  const int64_t d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < xs.size(); ++i) {
    check(xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " has shape ", shape_str(xs[i].shape()),
          ", tensor 0 has ", shape_str(xs[0].shape()));
    expanded.push_back(xs[i].unsqueeze(d));
  }
  return concat(expanded, d);
}

Tensor index_select(const Tensor& x, const Tensor& index) {
  OpScope scope("index_select", x, index);
  check(x.defined() && index.defined(), "index_select: tensor is undefined");
  check(index.dtype() == DType::Int64 && index.dim() == 1, "index_select: index must be a 1-D int64 tensor, got ",
        dtype_name(index.dtype()), " ", shape_str(index.shape()));
  check(x.dim() >= 1, "index_select: cannot index a 0-d tensor");
  check_devices_match("index_select", x, "input", index, "index");
  const int64_t rows = x.shape()[0];
  const int64_t n = index.numel();
  int64_t row_len = x.numel() / std::max<int64_t>(rows, 1);
  // the indices are checked on the CPU: a GPU index is copied here first (n numbers)
  const Tensor index_cpu = index.cpu();
  const int64_t* idx = index_cpu.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    check(idx[i] >= 0 && idx[i] < rows, "index_select: index ", idx[i], " at position ", i,
          " is out of range for dimension 0 of size ", rows);
  Shape out_shape = x.shape();
  out_shape[0] = n;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  for (int64_t i = 0; i < n; ++i) copy_rows(x, row_len, idx[i] * row_len, out, row_len, i * row_len, 1, row_len);
  Tensor saved_index = index;
  Shape in_shape = x.shape();
  record(out, "index_select", {x}, [saved_index, in_shape, row_len](const Tensor& g) {
    // scatter-add: a row picked twice gets both gradients
    Tensor dx = Tensor::zeros(in_shape, g.dtype(), g.device());
    if (is_cuda(g)) {
      cuda_kernels().index_add_rows(g.dtype(), static_cast<const int64_t*>(saved_index.raw_device_data()),
                                    saved_index.numel(), g.raw_device_data(), dx.raw_device_data(), row_len);
      return std::vector<Tensor>{dx};
    }
    dispatch_float(g.dtype(), "index_select", [&](auto tag) {
      using T = decltype(tag);
      const int64_t* ix = saved_index.data<int64_t>();
      const T* pg = g.data<T>();
      T* pd = dx.data<T>();
      for (int64_t i = 0; i < saved_index.numel(); ++i)
        for (int64_t j = 0; j < row_len; ++j) pd[ix[i] * row_len + j] += pg[i * row_len + j];
    });
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace ember
