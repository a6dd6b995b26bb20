// Layer normalisation over the last dimension (the transformer's normalisation).
// The plain reference of this op, one loop nest to step through: core/ops/reference/layer_norm.cpp
//
//   x: [..., D]   weight (gamma), bias (beta): [D], both optional   y: [..., D]
// Every row r (one position of one sequence) is normalised on its own:
//   mean_r = (1/D) sum_j x_rj
//   var_r  = (1/D) sum_j (x_rj - mean_r)^2        (population variance, as PyTorch)
//   rstd_r = 1 / sqrt(var_r + eps)
//   xhat_rj = (x_rj - mean_r) * rstd_r
//   y_rj    = xhat_rj * w_j + b_j
// Forward saves x, mean and rstd (one number each per row) and recomputes xhat in backward.
//
// Backward, with g = dL/dy and gw_j = g_j * w_j for one row:
//   dx_j = rstd * (gw_j - mean_k(gw_k) - xhat_j * mean_k(gw_k * xhat_k))
//   dw_j = sum over rows of g_rj * xhat_rj
//   db_j = sum over rows of g_rj
// (The two means come from differentiating through mean and rstd, which depend on every x_j.)
//
// Threads: rows are independent, so both passes split the rows across threads. dw and db are
// sums over all rows; each block of rows writes its own partial sums and the blocks are added in
// a fixed order afterwards. The blocks do not depend on the thread count, so the result is the
// same bits on 1 or 16 threads.
// On the GPU (cuda/layer_norm.cu): a warp per row (shuffles for the row sums, in double), and dw, db
// as fixed chunks of rows added in order (no atomics).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/parallel.h"

namespace ember {

namespace {

// Rows per parallel_for task: enough work (~16k elements) to be worth a thread.
int64_t row_grain(int64_t D) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1)); }

// The number of blocks the backward sums dw and db over: fixed, so results do not depend on the
// thread count; 32 blocks keep 2..32 threads busy and the partial sums small (32 x 2D numbers).
constexpr int64_t kSumBlocks = 32;

template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean_out, T* rstd_out, int64_t rows,
                        int64_t D, double eps) {
  parallel_for(0, rows, row_grain(D), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* xr = x + r * D;
      T* yr = y + r * D;
      // One pass for mean and variance. Sums are taken of x - x[0] rather than of x: the shift
      // changes neither the variance nor (once added back) the mean, and it keeps
      // sum(d^2) - sum(d)^2 / D from cancelling catastrophically when |mean| >> std.
      const T shift = xr[0];
      T sum = 0, sum_sq = 0;
#pragma omp simd reduction(+ : sum, sum_sq)
      for (int64_t j = 0; j < D; ++j) {
        T d = xr[j] - shift;
        sum += d;
        sum_sq += d * d;
      }
      const T mean_shifted = sum / static_cast<T>(D);
      const T var = std::max(sum_sq / static_cast<T>(D) - mean_shifted * mean_shifted, T(0));
      const T mean = shift + mean_shifted;
      const T rstd = T(1) / std::sqrt(var + static_cast<T>(eps));
      mean_out[r] = mean;
      rstd_out[r] = rstd;
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
    }
  });
}

// dx for every row (when dx != nullptr), and dw, db summed over the rows (when dw != nullptr).
template <typename T>
void layer_norm_backward(const T* x, const T* w, const T* mean, const T* rstd, const T* g, T* dx, T* dw, T* db,
                         int64_t rows, int64_t D) {
  const bool param_grads = dw != nullptr;
  const int64_t blocks = std::min(kSumBlocks, rows);
  // partial[blk] holds block blk's [dw (D numbers), db (D numbers)]
  std::vector<T> partial(param_grads ? blocks * 2 * D : 0, T(0));

  parallel_for(0, blocks, 1, [&](int64_t blk_lo, int64_t blk_hi) {
    for (int64_t blk = blk_lo; blk < blk_hi; ++blk) {
      const int64_t row_lo = rows * blk / blocks, row_hi = rows * (blk + 1) / blocks;
      T* dw_part = param_grads ? partial.data() + blk * 2 * D : nullptr;
      T* db_part = param_grads ? dw_part + D : nullptr;
      for (int64_t r = row_lo; r < row_hi; ++r) {
        const T* xr = x + r * D;
        const T* gr = g + r * D;
        const T m = mean[r], s = rstd[r];
        if (param_grads) {
#pragma omp simd
          for (int64_t j = 0; j < D; ++j) {
            dw_part[j] += gr[j] * (xr[j] - m) * s;
            db_part[j] += gr[j];
          }
        }
        if (dx == nullptr) continue;
        // the two row means of the formula: mean(g w) and mean(g w xhat)
        T sum_gw = 0, sum_gw_xhat = 0;
#pragma omp simd reduction(+ : sum_gw, sum_gw_xhat)
        for (int64_t j = 0; j < D; ++j) {
          T gw = gr[j] * w[j];
          sum_gw += gw;
          sum_gw_xhat += gw * (xr[j] - m) * s;
        }
        const T mean_gw = sum_gw / static_cast<T>(D);
        const T mean_gw_xhat = sum_gw_xhat / static_cast<T>(D);
        T* dxr = dx + r * D;
#pragma omp simd
        for (int64_t j = 0; j < D; ++j) dxr[j] = s * (gr[j] * w[j] - mean_gw - (xr[j] - m) * s * mean_gw_xhat);
      }
    }
  });

  if (!param_grads) return;
  // add the blocks' partial sums in block order: the same bits for any thread count
  std::fill(dw, dw + D, T(0));
  std::fill(db, db + D, T(0));
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const T* dw_part = partial.data() + blk * 2 * D;
    const T* db_part = dw_part + D;
    for (int64_t j = 0; j < D; ++j) {
      dw[j] += dw_part[j];
      db[j] += db_part[j];
    }
  }
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  OpScope scope("layer_norm", x, weight, bias);
  check(x.defined(), "layer_norm: input is undefined");
  check(x.dim() >= 1, "layer_norm: input must have at least one dimension (the one normalised), got shape ",
        shape_str(x.shape()));
  const int64_t D = x.shape().back();
  const int64_t rows = D == 0 ? 0 : x.numel() / D;
  for (const Tensor* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    const char* what = p == &weight ? "weight" : "bias";
    check(p->dim() == 1 && p->shape()[0] == D, "layer_norm: ", what, " must have shape [", D,
          "] (the last dimension of the input ", shape_str(x.shape()), "), got ", shape_str(p->shape()));
    check(p->dtype() == x.dtype(), "layer_norm: input is ", dtype_name(x.dtype()), " but ", what, " is ",
          dtype_name(p->dtype()));
  }
  check(eps >= 0, "layer_norm: eps must be >= 0, got ", eps);
  check_devices_match("layer_norm", x, "input", weight, "weight");
  check_devices_match("layer_norm", x, "input", bias, "bias");

  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty({rows}, x.dtype(), x.device());
  Tensor rstd = Tensor::empty({rows}, x.dtype(), x.device());
  if (is_cuda(x)) {
    check(is_floating(x.dtype()), "layer_norm: expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
    cuda_kernels().layer_norm(x.dtype(), x.raw_device_data(), weight.defined() ? weight.raw_device_data() : nullptr,
                              bias.defined() ? bias.raw_device_data() : nullptr, y.raw_device_data(),
                              mean.raw_device_data(), rstd.raw_device_data(), rows, D, eps);
  } else dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    // Without weight or bias, normalise with w = 1 and b = 0: one kernel for every case.
    std::vector<T> ones(weight.defined() ? 0 : D, T(1)), zeros(bias.defined() ? 0 : D, T(0));
    const T* w = weight.defined() ? weight.data<T>() : ones.data();
    const T* b = bias.defined() ? bias.data<T>() : zeros.data();
    layer_norm_forward<T>(x.data<T>(), w, b, y.data<T>(), mean.data<T>(), rstd.data<T>(), rows, D, eps);
  });

  Tensor x_saved = x.detach(), w_saved = weight.defined() ? weight.detach() : Tensor();
  const bool need_dx = x.requires_grad();
  const bool need_params = (weight.defined() && weight.requires_grad()) || (bias.defined() && bias.requires_grad());
  const bool has_bias = bias.defined();
  record(y, "layer_norm", {x, weight, bias},
         [x_saved, w_saved, mean, rstd, need_dx, need_params, has_bias, rows, D](const Tensor& g) {
           const Device device = g.device();
           Tensor dx = need_dx ? Tensor::empty(x_saved.shape(), g.dtype(), device) : Tensor();
           // dw and db come out of the same pass; computed together whenever either is needed
           Tensor dw = need_params ? Tensor::empty({D}, g.dtype(), device) : Tensor();
           Tensor db = need_params ? Tensor::empty({D}, g.dtype(), device) : Tensor();
           if (is_cuda(g)) {
             cuda_kernels().layer_norm_backward(
                 g.dtype(), x_saved.raw_device_data(), w_saved.defined() ? w_saved.raw_device_data() : nullptr,
                 mean.raw_device_data(), rstd.raw_device_data(), g.raw_device_data(),
                 need_dx ? dx.raw_device_data() : nullptr, need_params ? dw.raw_device_data() : nullptr,
                 need_params ? db.raw_device_data() : nullptr, rows, D);
             return std::vector<Tensor>{dx, w_saved.defined() ? dw : Tensor(), has_bias ? db : Tensor()};
           }
           dispatch_float(g.dtype(), "layer_norm", [&](auto tag) {
             using T = decltype(tag);
             std::vector<T> ones(w_saved.defined() ? 0 : D, T(1));
             const T* w = w_saved.defined() ? w_saved.data<T>() : ones.data();
             layer_norm_backward<T>(x_saved.data<T>(), w, mean.data<T>(), rstd.data<T>(), g.data<T>(),
                                    need_dx ? dx.data<T>() : nullptr, need_params ? dw.data<T>() : nullptr,
                                    need_params ? db.data<T>() : nullptr, rows, D);
           });
           return std::vector<Tensor>{dx, w_saved.defined() ? dw : Tensor(), has_bias ? db : Tensor()};
         });
  return y;
}

}  // namespace ember
