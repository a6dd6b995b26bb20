// Embedding: a lookup table of learned vectors, one per token id.
//
//   ids: int64 [...] (any shape, e.g. [B, T])    weight: [V, D] (V ids, D features)
//   out: [..., D] (e.g. [B, T, D]),  out[p, :] = weight[ids[p], :]
//
// It is the same as one_hot(ids) @ weight, without building the one-hot matrix.
//
// Backward: dweight[v, :] = sum of g[p, :] over every position p with ids[p] == v (an id that
// occurs twice gets both gradients; rows never looked up get 0). No gradient for ids.
// The scatter-add is split across threads by columns, not by positions: each thread owns a block
// of the D columns and walks all positions in order, so no two threads write the same element
// and every sum is added in the same order whatever the thread count.
// On the GPU (cuda/embedding.cu): a thread per output element; the backward adds with atomicAdd
// (the order of the additions into one row varies, so float sums may differ in the last bits).
#include <algorithm>
#include <cstring>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/parallel.h"

namespace ember {

Tensor embedding(const Tensor& ids, const Tensor& weight) {
  OpScope scope("embedding", ids, weight);
  check(ids.defined() && weight.defined(), "embedding: tensor is undefined");
  check(ids.dtype() == DType::Int64, "embedding: ids must be int64, got ", dtype_name(ids.dtype()), " ",
        shape_str(ids.shape()));
  check(weight.dim() == 2, "embedding: weight must be [V, D], got ", shape_str(weight.shape()));
  check(is_floating(weight.dtype()), "embedding: weight must be float32 or float64, got ",
        dtype_name(weight.dtype()));
  check_devices_match("embedding", ids, "ids", weight, "weight");
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  const int64_t n = ids.numel();
  // The ids are checked on the CPU: GPU ids are copied here first (n numbers; a kernel reading an
  // id past the table would fault and leave the GPU unusable, without naming the id).
  const Tensor ids_cpu = ids.cpu();
  const int64_t* pid = ids_cpu.data<int64_t>();
  for (int64_t p = 0; p < n; ++p)
    check(pid[p] >= 0 && pid[p] < V, "embedding: id ", pid[p], " (at position ", p, " of ids ",
          shape_str(ids.shape()), ") is out of range for a table of V = ", V, " rows (weight ",
          shape_str(weight.shape()), ")");

  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  Tensor out = Tensor::empty(out_shape, weight.dtype(), weight.device());
  Tensor ids_saved = ids.detach();
  if (is_cuda(weight)) {
    cuda_kernels().embedding(weight.dtype(), static_cast<const int64_t*>(ids.raw_device_data()), n,
                             weight.raw_device_data(), D, out.raw_device_data());
    record(out, "embedding", {weight}, [ids_saved, V, D](const Tensor& g) {
      Tensor dw = Tensor::zeros({V, D}, g.dtype(), Device::CUDA);
      cuda_kernels().embedding_backward(g.dtype(), static_cast<const int64_t*>(ids_saved.raw_device_data()),
                                        ids_saved.numel(), g.raw_device_data(), D, dw.raw_device_data());
      return std::vector<Tensor>{dw};
    });
    return out;
  }
  const size_t row_bytes = D * dtype_size(weight.dtype());
  const char* pw = static_cast<const char*>(weight.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  parallel_for(0, n, std::max<int64_t>(1, 4096 / std::max<int64_t>(D, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) std::memcpy(po + p * row_bytes, pw + pid[p] * row_bytes, row_bytes);
  });

  record(out, "embedding", {weight}, [ids_saved, V, D](const Tensor& g) {
    Tensor dw = Tensor::zeros({V, D}, g.dtype());
    dispatch_float(g.dtype(), "embedding", [&](auto tag) {
      using T = decltype(tag);
      const int64_t* id = ids_saved.data<int64_t>();
      const int64_t n_ids = ids_saved.numel();
      const T* pg = g.data<T>();
      T* pd = dw.data<T>();
      // columns [c0, c1) of every row; at least 64 columns per thread so each has real work
      parallel_for(0, D, 64, [&](int64_t c0, int64_t c1) {
        for (int64_t p = 0; p < n_ids; ++p) {
          T* dst = pd + id[p] * D;
          const T* src = pg + p * D;
          for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
        }
      });
    });
    return std::vector<Tensor>{dw};
  });
  return out;
}

}  // namespace ember
