// Layer normalisation on the GPU: the kernels of core/ops/layer_norm.cpp, the same formulas.
//
//   x [rows, D], weight w and bias b [D] (absent: 1 and 0), y [rows, D]; per row r:
//   mean_r = (1/D) sum_j x_rj,   var_r = (1/D) sum_j (x_rj - mean_r)^2,   rstd_r = 1 / sqrt(var_r + eps)
//   xhat_rj = (x_rj - mean_r) rstd_r,   y_rj = xhat_rj w_j + b_j
//   backward, gw_j = g_j w_j:  dx_j = rstd (gw_j - mean_k(gw_k) - xhat_j mean_k(gw_k xhat_k))
//                              dw_j = sum_r g_rj xhat_rj,   db_j = sum_r g_rj
//
// Rows: one warp (32 threads) per row, as softmax.cu: lane l takes elements l, l + 32, ...; the row
// sums are warp_sum (register shuffles), accumulated in double. The mean is taken first and the
// variance from x - mean (two passes over the row, which the warp reads from L1/L2), so there is no
// cancellation when |mean| >> std.
// dw and db are sums over the rows for each column: a grid of (column blocks) x (kChunks chunks of
// rows); thread (j, chunk) sums its chunk of column j into partial[chunk] (neighbouring threads read
// neighbouring columns: coalesced), then one thread per column adds the chunks in order. A fixed
// order: the same bits on every run.
#include <algorithm>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

constexpr int kRowsPerBlock = kThreads / kWarp;  // 8 warps, 8 rows
constexpr int64_t kChunks = 64;                  // row chunks of the dw, db sums

unsigned blocks_for_rows(int64_t rows) { return static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock); }

template <typename T>
__global__ void layer_norm_kernel(const T* x, const T* w, const T* b, T* y, T* mean_out, T* rstd_out, int64_t rows,
                                  int64_t D, double eps) {
  const int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (r >= rows) return;  // the whole warp leaves together
  const T* xr = x + r * D;
  T* yr = y + r * D;
  double sum = 0;
  for (int64_t j = lane; j < D; j += kWarp) sum += xr[j];
  const double mean = warp_sum(sum) / static_cast<double>(D);
  double sum_sq = 0;
  for (int64_t j = lane; j < D; j += kWarp) {
    const double d = xr[j] - mean;
    sum_sq += d * d;
  }
  const double var = warp_sum(sum_sq) / static_cast<double>(D);
  const T m = static_cast<T>(mean), rstd = static_cast<T>(1.0 / sqrt(var + eps));
  if (lane == 0) {
    mean_out[r] = m;
    rstd_out[r] = rstd;
  }
  for (int64_t j = lane; j < D; j += kWarp) yr[j] = (xr[j] - m) * rstd * (w ? w[j] : T(1)) + (b ? b[j] : T(0));
}

template <typename T>
__global__ void layer_norm_dx_kernel(const T* x, const T* w, const T* mean, const T* rstd, const T* g, T* dx,
                                     int64_t rows, int64_t D) {
  const int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (r >= rows) return;
  const T* xr = x + r * D;
  const T* gr = g + r * D;
  T* dxr = dx + r * D;
  const T m = mean[r], s = rstd[r];
  double sum_gw = 0, sum_gw_xhat = 0;
  for (int64_t j = lane; j < D; j += kWarp) {
    const T gw = gr[j] * (w ? w[j] : T(1));
    sum_gw += gw;
    sum_gw_xhat += gw * ((xr[j] - m) * s);
  }
  const T mean_gw = static_cast<T>(warp_sum(sum_gw) / static_cast<double>(D));
  const T mean_gw_xhat = static_cast<T>(warp_sum(sum_gw_xhat) / static_cast<double>(D));
  for (int64_t j = lane; j < D; j += kWarp)
    dxr[j] = s * (gr[j] * (w ? w[j] : T(1)) - mean_gw - (xr[j] - m) * s * mean_gw_xhat);
}

// partial [chunks, 2, D]: chunk c's sums of g xhat (dw) and of g (db) over its rows.
template <typename T>
__global__ void layer_norm_param_partial_kernel(const T* x, const T* mean, const T* rstd, const T* g, double* partial,
                                                int64_t rows, int64_t D, int64_t chunks) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  if (j >= D) return;
  const int64_t r0 = rows * chunk / chunks, r1 = rows * (chunk + 1) / chunks;
  double dw = 0, db = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const double gj = g[r * D + j];
    dw += gj * ((x[r * D + j] - mean[r]) * rstd[r]);
    db += gj;
  }
  partial[(chunk * 2) * D + j] = dw;
  partial[(chunk * 2 + 1) * D + j] = db;
}

template <typename T>
__global__ void layer_norm_param_final_kernel(const double* partial, T* dw, T* db, int64_t D, int64_t chunks) {
  GRID_STRIDE_LOOP(j, D) {
    double sw = 0, sb = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      sw += partial[(c * 2) * D + j];
      sb += partial[(c * 2 + 1) * D + j];
    }
    dw[j] = static_cast<T>(sw);
    db[j] = static_cast<T>(sb);
  }
}

}  // namespace

void layer_norm(DType dtype, const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                int64_t rows, int64_t D, double eps) {
  if (rows == 0 || D == 0) return;
  dispatch_float(dtype, "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_kernel<<<blocks_for_rows(rows), kThreads>>>(static_cast<const T*>(x), static_cast<const T*>(w),
                                                           static_cast<const T*>(b), static_cast<T*>(y),
                                                           static_cast<T*>(mean), static_cast<T*>(rstd), rows, D, eps);
  });
  CUDA_CHECK_LAUNCH();
}

void layer_norm_backward(DType dtype, const void* x, const void* w, const void* mean, const void* rstd, const void* g,
                         void* dx, void* dw, void* db, int64_t rows, int64_t D) {
  if (rows == 0 || D == 0) return;
  dispatch_float(dtype, "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x);
    const T* pm = static_cast<const T*>(mean);
    const T* pr = static_cast<const T*>(rstd);
    const T* pg = static_cast<const T*>(g);
    if (dx)
      layer_norm_dx_kernel<<<blocks_for_rows(rows), kThreads>>>(px, static_cast<const T*>(w), pm, pr, pg,
                                                                static_cast<T*>(dx), rows, D);
    if (dw || db) {
      const int64_t chunks = std::min(kChunks, rows);
      Workspace partial(static_cast<size_t>(chunks * 2 * D) * sizeof(double));
      double* pp = static_cast<double*>(partial.data);
      const dim3 grid(static_cast<unsigned>((D + kThreads - 1) / kThreads), static_cast<unsigned>(chunks));
      layer_norm_param_partial_kernel<<<grid, kThreads>>>(px, pm, pr, pg, pp, rows, D, chunks);
      // dw and db come together; a caller that wants one gives scratch for the other
      Workspace spare(static_cast<size_t>(D) * sizeof(T));
      T* pdw = dw ? static_cast<T*>(dw) : static_cast<T*>(spare.data);
      T* pdb = db ? static_cast<T*>(db) : static_cast<T*>(spare.data);
      layer_norm_param_final_kernel<<<blocks_for(D), kThreads>>>(pp, pdw, pdb, D, chunks);
    }
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
