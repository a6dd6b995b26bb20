#pragma once
// The Tensor side of the CUDA calls that several op files share: allocate the result on the GPU,
// check what the CPU path checks, and call one entry of the backend's table (core/cuda_backend.h).
// An op chooses between these and its CPU loop in one line:
//   Tensor y = is_cuda(x) ? cuda_unary(UnaryOp::Exp, x, "exp") : map(x, "exp", ...);
#include "core/cuda_backend.h"
#include "core/tensor.h"

namespace ember {

// Whether x is a (defined) CUDA tensor: an undefined one goes on to the CPU path, which names the op
// in its error.
inline bool is_cuda(const Tensor& x) { return x.defined() && x.device() == Device::CUDA; }

// For an op of several tensor arguments: all on one device, or an error naming both.
inline void check_devices_match(const char* name, const Tensor& a, const char* a_name, const Tensor& b,
                                const char* b_name) {
  if (!a.defined() || !b.defined()) return;
  check(a.device() == b.device(), name, ": ", a_name, " ", shape_str(a.shape()), " is on ", device_name(a.device()),
        " but ", b_name, " ", shape_str(b.shape()), " is on ", device_name(b.device()),
        "; move one with .cuda() or .cpu()");
}

// y = f(x) element by element, f one of UnaryOp (cuda/unary.cu, cuda/activations.cu).
inline Tensor cuda_unary(UnaryOp op, const Tensor& x, const char* name) {
  check(is_floating(x.dtype()), name, ": expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
  Tensor y = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
  if (x.numel() > 0) cuda_kernels().unary(op, x.dtype(), x.raw_device_data(), y.raw_device_data(), x.numel());
  return y;
}

// dx = g * f'(.) from the saved input or output (which one: see CudaKernels::unary_backward).
inline Tensor cuda_unary_backward(UnaryOp op, const Tensor& g, const Tensor& saved, const char* name) {
  check(g.shape() == saved.shape(), name, ": gradient of shape ", shape_str(g.shape()), " for a tensor of shape ",
        shape_str(saved.shape()));
  check(g.device() == saved.device(), name, ": gradient on ", device_name(g.device()), " for a tensor on ",
        device_name(saved.device()));
  Tensor dx = Tensor::empty(g.shape(), g.dtype(), Device::CUDA);
  if (g.numel() > 0)
    cuda_kernels().unary_backward(op, g.dtype(), g.raw_device_data(), saved.raw_device_data(), dx.raw_device_data(),
                                  g.numel());
  return dx;
}

}  // namespace ember
