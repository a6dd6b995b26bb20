// One SGD step on the GPU: the loop of optim/sgd.cpp (SGD::update), one thread per element.
//
//   d = g + weight_decay p
//   momentum 0:  p = p - lr d
//   otherwise:   buf = momentum buf + share d      (share = 1 on the first step, 1 - dampening after)
//                p = p - lr (nesterov ? d + momentum buf : buf)
// The constants come from the CPU (sgd.cpp), in the parameter's type, as in the CPU loop.
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

template <typename T>
__global__ void sgd_kernel(T* p, const T* g, int64_t n, T lr, T wd) {
  GRID_STRIDE_LOOP(i, n) p[i] -= lr * (g[i] + wd * p[i]);
}

template <typename T>
__global__ void sgd_momentum_kernel(T* p, const T* g, T* buf, int64_t n, T lr, T wd, T mom, T share, bool nesterov) {
  GRID_STRIDE_LOOP(i, n) {
    const T d = g[i] + wd * p[i];
    const T b = mom * buf[i] + share * d;
    buf[i] = b;
    p[i] -= lr * (nesterov ? d + mom * b : b);
  }
}

}  // namespace

void sgd_step(DType dtype, void* p, const void* g, void* buffer, int64_t n, double lr, double weight_decay,
              double momentum, double new_share, bool nesterov) {
  if (n == 0) return;
  dispatch_float(dtype, "sgd", [&](auto tag) {
    using T = decltype(tag);
    if (buffer == nullptr)
      sgd_kernel<<<blocks_for(n), kThreads>>>(static_cast<T*>(p), static_cast<const T*>(g), n, T(lr), T(weight_decay));
    else
      sgd_momentum_kernel<<<blocks_for(n), kThreads>>>(static_cast<T*>(p), static_cast<const T*>(g),
                                                       static_cast<T*>(buffer), n, T(lr), T(weight_decay),
                                                       T(momentum), T(new_share), nesterov);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
