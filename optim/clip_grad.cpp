// clip_grad_norm (see optim/clip_grad.h for the formula).
#include "optim/clip_grad.h"

#include <cmath>

#include "core/cuda_backend.h"
#include "core/parallel.h"

namespace ember {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  check(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);

  // 1) the squared norm of all gradients together, summed in double in fixed blocks (parallel_sum),
  //    so the result does not depend on the number of threads
  double sum_of_squares = 0.0;
  for (const Tensor& p : params) {
    check(p.defined(), "clip_grad_norm: a parameter is undefined");
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    if (grad.device() == Device::CUDA) {  // the same sum on the GPU (cuda/clip_grad.cu), read back
      sum_of_squares += cuda_kernels().sum_of_squares(grad.dtype(), grad.raw_device_data(), grad.numel());
      continue;
    }
    dispatch_float(grad.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      const T* g = grad.data<T>();
      sum_of_squares += parallel_sum<double>(0, grad.numel(), 1 << 14, [&](int64_t lo, int64_t hi) {
        double acc = 0.0;
        for (int64_t i = lo; i < hi; ++i) acc += static_cast<double>(g[i]) * static_cast<double>(g[i]);
        return acc;
      });
    });
  }
  const double total_norm = std::sqrt(sum_of_squares);

  // 2) scale every gradient by the same factor when the norm is too large
  const double clip_coef = max_norm / (total_norm + 1e-6);
  if (!std::isfinite(total_norm) || clip_coef >= 1.0) return total_norm;
  for (const Tensor& p : params) {
    Tensor grad = p.grad();
    if (!grad.defined()) continue;
    if (grad.device() == Device::CUDA) {
      cuda_kernels().scale(grad.dtype(), grad.raw_device_data(), grad.numel(), clip_coef);
      continue;
    }
    dispatch_float(grad.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      T* g = grad.data<T>();
      const T coef = static_cast<T>(clip_coef);
      parallel_for(0, grad.numel(), 1 << 14, [=](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) g[i] *= coef;
      });
    });
  }
  return total_norm;
}

}  // namespace ember
