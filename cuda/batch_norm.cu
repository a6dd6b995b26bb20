// Batch normalisation on the GPU: the kernels of core/ops/batch_norm.cpp, the same formulas.
//
//   x viewed as [N, C, S] (S = H*W, or 1); channel c has the M = N*S values x[n, c, s]
//   training:  mean_c = (1/M) sum x,   var_c = (1/M) sum (x - mean_c)^2        (biased)
//              running_mean = (1 - momentum) running_mean + momentum mean_c
//              running_var  = (1 - momentum) running_var  + momentum var_c M / (M - 1)
//   eval:      mean_c, var_c = running_mean_c, running_var_c
//   rstd_c = 1 / sqrt(var_c + eps),   y = x scale_c + shift_c,  scale_c = weight_c rstd_c,
//                                                              shift_c = bias_c - mean_c scale_c
//   backward: dbias_c = sum g, dweight_c = sum g xhat
//             training: dx = weight_c rstd_c (g - sum g / M - xhat sum(g xhat) / M);  eval: weight_c rstd_c g
//
// One block of 256 threads per channel, forward and backward: thread t takes values t, t + 256, ...
// of the channel (value k is at (n C + c) S + s with n = k / S, s = k % S: for S >= 32 a warp reads
// runs of neighbours), the sums are block_sum (cuda/common.cuh) in double. The block then writes the
// channel's y (or dx) while the values are in cache, and thread 0 writes the channel's statistics.
// Each channel is one block's: no atomics, the same bits on every run.
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

__device__ inline int64_t offset_of(int64_t k, int64_t c, int64_t C, int64_t S) {
  return ((k / S) * C + c) * S + k % S;
}

template <typename T>
__global__ void batch_norm_kernel(const T* x, const T* w, const T* b, T* y, int64_t N, int64_t C, int64_t S,
                                  bool training, double momentum, double eps, T* running_mean, T* running_var,
                                  double* mean_out, double* rstd_out) {
  const int64_t c = blockIdx.x, M = N * S;
  double mean, var;
  if (training) {
    double sum = 0;
    for (int64_t k = threadIdx.x; k < M; k += blockDim.x) sum += x[offset_of(k, c, C, S)];
    mean = block_sum(sum) / static_cast<double>(M);
    double sum_sq = 0;
    for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
      const double d = x[offset_of(k, c, C, S)] - mean;
      sum_sq += d * d;
    }
    var = block_sum(sum_sq) / static_cast<double>(M);
  } else {
    mean = running_mean[c];
    var = running_var[c];
  }
  const double rstd = 1.0 / sqrt(var + eps);
  const double wc = w ? static_cast<double>(w[c]) : 1.0, bc = b ? static_cast<double>(b[c]) : 0.0;
  const T scale = static_cast<T>(rstd * wc), shift = static_cast<T>(bc - mean * rstd * wc);
  for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
    const int64_t i = offset_of(k, c, C, S);
    y[i] = x[i] * scale + shift;
  }
  if (threadIdx.x == 0) {
    mean_out[c] = mean;
    rstd_out[c] = rstd;
    if (training && running_mean) {
      running_mean[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_mean[c]) + momentum * mean);
      running_var[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_var[c]) +
                                      momentum * var * static_cast<double>(M) / static_cast<double>(M - 1));
    }
  }
}

template <typename T>
__global__ void batch_norm_backward_kernel(const T* x, const T* w, const T* g, const double* mean, const double* rstd,
                                           int64_t N, int64_t C, int64_t S, bool training, T* dx, T* dw, T* db) {
  const int64_t c = blockIdx.x, M = N * S;
  const T m = static_cast<T>(mean[c]), r = static_cast<T>(rstd[c]);
  double sum_g = 0, sum_g_xhat = 0;
  for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
    const int64_t i = offset_of(k, c, C, S);
    sum_g += g[i];
    sum_g_xhat += g[i] * ((x[i] - m) * r);
  }
  sum_g = block_sum(sum_g);
  sum_g_xhat = block_sum(sum_g_xhat);
  if (threadIdx.x == 0) {
    if (db) db[c] = static_cast<T>(sum_g);
    if (dw) dw[c] = static_cast<T>(sum_g_xhat);
  }
  if (!dx) return;
  const T k_c = static_cast<T>((w ? static_cast<double>(w[c]) : 1.0) * rstd[c]);
  const T mean_g = training ? static_cast<T>(sum_g / static_cast<double>(M)) : T(0);
  const T mean_g_xhat = training ? static_cast<T>(sum_g_xhat / static_cast<double>(M)) : T(0);
  for (int64_t k = threadIdx.x; k < M; k += blockDim.x) {
    const int64_t i = offset_of(k, c, C, S);
    const T xhat = (x[i] - m) * r;
    dx[i] = k_c * (g[i] - mean_g - xhat * mean_g_xhat);
  }
}

}  // namespace

void batch_norm(DType dtype, const void* x, const void* w, const void* b, void* y, int64_t N, int64_t C, int64_t S,
                bool training, double momentum, double eps, void* running_mean, void* running_var, double* mean,
                double* rstd) {
  if (C == 0) return;
  check(C <= 2147483647, "batch_norm: ", C, " channels are more than one CUDA launch takes");
  dispatch_float(dtype, "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    batch_norm_kernel<<<static_cast<unsigned>(C), kThreads>>>(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b), static_cast<T*>(y), N, C, S,
        training, momentum, eps, static_cast<T*>(running_mean), static_cast<T*>(running_var), mean, rstd);
  });
  CUDA_CHECK_LAUNCH();
}

void batch_norm_backward(DType dtype, const void* x, const void* w, const void* g, const double* mean,
                         const double* rstd, int64_t N, int64_t C, int64_t S, bool training, void* dx, void* dw,
                         void* db) {
  if (C == 0) return;
  dispatch_float(dtype, "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    batch_norm_backward_kernel<<<static_cast<unsigned>(C), kThreads>>>(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(g), mean, rstd, N, C, S, training,
        static_cast<T*>(dx), static_cast<T*>(dw), static_cast<T*>(db));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
