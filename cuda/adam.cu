// One Adam / AdamW step on the GPU: the loop of optim/adam.cpp (Adam::update), one thread per
// element, with the same per-parameter constants computed on the CPU in double:
//
//   g' = g + l2 p                 Adam's L2 weight decay (l2 = 0 for AdamW)
//   p  = p * shrink               AdamW's decoupled weight decay (shrink = 1 - lr wd; 1 for Adam)
//   m  = b1 m + (1 - b1) g'
//   v  = b2 v + (1 - b2) g'^2
//   p  = p - step_size m / (sqrt(v) / sqrt(1 - b2^t) + eps),   step_size = lr / (1 - b1^t)
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, int64_t n, T b1, T b2, T one_minus_b1, T one_minus_b2,
                            T l2, T shrink, T step_size, T bc2_sqrt, T eps) {
  GRID_STRIDE_LOOP(i, n) {
    const T gi = g[i] + l2 * p[i];
    T pi = p[i] * shrink;
    const T mi = b1 * m[i] + one_minus_b1 * gi;
    const T vi = b2 * v[i] + one_minus_b2 * gi * gi;
    const T denom = sqrt(vi) / bc2_sqrt + eps;
    pi -= step_size * mi / denom;
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

void adam_step(DType dtype, void* p, const void* g, void* m, void* v, int64_t n, double beta1, double beta2, double l2,
               double shrink, double step_size, double bias_correction2_sqrt, double eps) {
  dispatch_float(dtype, "adam", [&](auto tag) {
    using T = decltype(tag);
    adam_kernel<<<blocks_for(n), kThreads>>>(static_cast<T*>(p), static_cast<const T*>(g), static_cast<T*>(m),
                                             static_cast<T*>(v), n, T(beta1), T(beta2), T(1.0 - beta1),
                                             T(1.0 - beta2), T(l2), T(shrink),
                                             T(step_size), T(bias_correction2_sqrt), T(eps));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
