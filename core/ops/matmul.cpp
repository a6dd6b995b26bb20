// Matrix multiply through BLAS GEMM.
//
//   out = a @ b          a: [..., M, K]   b: [..., K, N]   out: [..., M, N]
//   da  = g @ b^T        (the gradient g has out's shape)
//   db  = a^T @ g
// The transposes in the backward are passed to GEMM as flags: nothing is copied. Batch
// dimensions (everything before the last two) broadcast like element-wise ops; a 2-D b is one
// weight shared by every batch entry, which becomes a single large GEMM.
//
// On the GPU the same GEMMs go to cuBLAS (cuda/matmul.cu), one call per batch entry; TF32 is off
// unless set_cuda_tf32(true) (core/cuda_backend.h), so float32 results match the CPU's.
#include <algorithm>

#include "core/blas.h"
#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace ember {

namespace {

// The matrix dimensions of x, seen with or without a transpose: rows and cols of op(x).
struct Mat {
  int64_t rows, cols;
};
Mat mat_of(const Tensor& x, bool trans) {
  int64_t r = x.shape()[x.dim() - 2], c = x.shape()[x.dim() - 1];
  return trans ? Mat{c, r} : Mat{r, c};
}

Shape batch_shape(const Tensor& x) { return Shape(x.shape().begin(), x.shape().end() - 2); }

// One GEMM on the GPU, with element offsets into a, b and out (cuBLAS, cuda/matmul.cu).
void cuda_gemm(const Tensor& a, int64_t offset_a, bool ta, int64_t lda, const Tensor& b, int64_t offset_b, bool tb,
               int64_t ldb, Tensor& out, int64_t offset_out, int64_t M, int64_t N, int64_t K) {
  const size_t elem = dtype_size(a.dtype());
  cuda_kernels().gemm(a.dtype(), ta, tb, M, N, K, 1.0, static_cast<const char*>(a.raw_device_data()) + offset_a * elem,
                      lda, static_cast<const char*>(b.raw_device_data()) + offset_b * elem, ldb, 0.0,
                      static_cast<char*>(out.raw_device_data()) + offset_out * elem, N);
}

// op(a) @ op(b) for tensors of rank >= 2 with broadcast batch dimensions. No autograd.
Tensor gemm_batched(const Tensor& a, bool ta, const Tensor& b, bool tb) {
  const Device device = a.device();
  Mat ma = mat_of(a, ta), mb = mat_of(b, tb);
  const int64_t M = ma.rows, K = ma.cols, N = mb.cols;
  const int64_t lda = a.shape().back(), ldb = b.shape().back();

  // Empty operands: BLAS rejects leading dimensions of 0, and a sum over K = 0 terms is 0.
  if (a.numel() == 0 || b.numel() == 0) {
    Shape out_shape = broadcast_shapes(batch_shape(a), batch_shape(b), "matmul");
    out_shape.push_back(M);
    out_shape.push_back(N);
    return Tensor::zeros(out_shape, a.dtype(), device);
  }

  // One weight for all batch entries and a not transposed: fold the batch into M, one big GEMM.
  if (b.dim() == 2 && !ta) {
    Shape out_shape = batch_shape(a);
    out_shape.push_back(M);
    out_shape.push_back(N);
    Tensor out = Tensor::empty(out_shape, a.dtype(), device);
    const int64_t rows = a.numel() / K;
    if (device == Device::CUDA) {
      cuda_gemm(a, 0, false, lda, b, 0, tb, ldb, out, 0, rows, N, K);
      return out;
    }
    dispatch_float(a.dtype(), "matmul", [&](auto tag) {
      using T = decltype(tag);
      gemm(false, tb, rows, N, K, T(1), a.data<T>(), lda, b.data<T>(), ldb, T(0), out.data<T>(), N);
    });
    return out;
  }

  Shape batch = broadcast_shapes(batch_shape(a), batch_shape(b), "matmul");
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, a.dtype(), device);
  const int64_t batches = shape_numel(batch);
  if (batches == 0 || M == 0 || N == 0) return out;

  // Offsets of each batch entry's matrix in a and b (0-strides for broadcast dimensions).
  auto offsets = [&](const Tensor& x) {
    Shape bs = batch_shape(x);
    std::vector<int64_t> off(batches);
    const int64_t mat = x.shape()[x.dim() - 2] * x.shape()[x.dim() - 1];
    for (int64_t i = 0; i < batches; ++i) {
      int64_t rem = i, o = 0, stride = mat;
      for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
        int64_t idx = rem % batch[d];
        rem /= batch[d];
        int64_t xd = d - (static_cast<int64_t>(batch.size()) - static_cast<int64_t>(bs.size()));
        if (xd >= 0) {
          if (bs[xd] != 1) o += idx * stride;
          stride *= bs[xd];
        }
      }
      off[i] = o;
    }
    return off;
  };
  std::vector<int64_t> oa = offsets(a), ob = offsets(b);
  if (device == Device::CUDA) {
    for (int64_t i = 0; i < batches; ++i) cuda_gemm(a, oa[i], ta, lda, b, ob[i], tb, ldb, out, i * M * N, M, N, K);
    return out;
  }

  dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    // Many small matrices (attention heads): one matrix per thread, BLAS single-threaded.
    // Few large ones: one after another, each GEMM using every thread.
    const bool many_small = batches >= get_num_threads() && M * N * K < (1 << 21);
    if (many_small) {
      BlasThreadsGuard one(1);
      // tiny matrices: enough of them per thread (~32k multiply-adds) to be worth waking it
      const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(M * N * K, 1));
      parallel_for(0, batches, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
          gemm(ta, tb, M, N, K, T(1), pa + oa[i], lda, pb + ob[i], ldb, T(0), po + i * M * N, N);
      });
    } else {
      for (int64_t i = 0; i < batches; ++i)
        gemm(ta, tb, M, N, K, T(1), pa + oa[i], lda, pb + ob[i], ldb, T(0), po + i * M * N, N);
    }
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  OpScope scope("matmul", a, b);
  check(a.defined() && b.defined(), "matmul: tensor is undefined");
  check(a.dim() >= 2 && b.dim() >= 2, "matmul: both operands need at least 2 dimensions, got shapes ",
        shape_str(a.shape()), " and ", shape_str(b.shape()));
  check(a.dtype() == b.dtype(), "matmul: dtypes differ (", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()), ")");
  check(a.device() == b.device(), "matmul: the tensors are on different devices: ", shape_str(a.shape()), " on ",
        device_name(a.device()), " and ", shape_str(b.shape()), " on ", device_name(b.device()),
        "; move one with .cuda() or .cpu()");
  check(a.device() == Device::CPU || is_floating(a.dtype()), "matmul: expected float32 or float64 tensors, got ",
        dtype_name(a.dtype()));
  check(a.shape().back() == b.shape()[b.dim() - 2], "matmul: shapes ", shape_str(a.shape()), " and ",
        shape_str(b.shape()), " cannot be multiplied (", a.shape().back(), " != ", b.shape()[b.dim() - 2], ")");
  // The batch dimensions must broadcast; checked here so that the message shows the whole shapes.
  Shape ba = batch_shape(a), bb = batch_shape(b);
  for (size_t i = 1; i <= ba.size() && i <= bb.size(); ++i) {
    int64_t x = ba[ba.size() - i], y = bb[bb.size() - i];
    check(x == y || x == 1 || y == 1, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
          " cannot be multiplied: batch dimensions ", shape_str(ba), " and ", shape_str(bb), " do not broadcast");
  }
  Tensor out = gemm_batched(a, false, b, false);
  Tensor a_saved = a.detach(), b_saved = b.detach();
  record(out, "matmul", {a, b}, [a_saved, b_saved](const Tensor& g) {
    Tensor da, db;
    if (a_saved.dim() > 2 && b_saved.dim() == 2) {
      // shared weight: fold the batch, db = A^T g as one [K, rows] @ [rows, N] GEMM
      const int64_t K = a_saved.shape().back(), N = g.shape().back();
      da = gemm_batched(g, false, b_saved, true);
      db = gemm_batched(a_saved.reshape({-1, K}), true, g.reshape({-1, N}), false);
    } else {
      da = sum_to(gemm_batched(g, false, b_saved, true), a_saved.shape());
      db = sum_to(gemm_batched(a_saved, true, g, false), b_saved.shape());
    }
    return std::vector<Tensor>{da, db};
  });
  return out;
}

}  // namespace ember
