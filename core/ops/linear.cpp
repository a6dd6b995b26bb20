// Linear (fully connected) op: y = x W^T + b.
//
//   x: [..., in]   weight: [out, in] (PyTorch's layout)   bias: [out]   y: [..., out]
//   forward:  Y = X W^T              one GEMM, W passed transposed (no copy)
//   backward: dX = G W               [rows, out] @ [out, in]
//             dW = G^T X             [out, rows] @ [rows, in]
//             db = sum of G's rows
// (X and G are x and the gradient flattened to [rows, in] and [rows, out].)
//
// On the GPU: the same GEMMs through cuBLAS (cuda/matmul.cu); the bias is added by the broadcast add
// of cuda/binary.cu after the GEMM, and db is a sum over the rows (cuda/reduce.cu).
#include "core/blas.h"
#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace ember {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  OpScope scope("linear", x, weight, bias);
  check(x.defined() && weight.defined(), "linear: tensor is undefined");
  check(weight.dim() == 2, "linear: weight must be [out, in], got ", shape_str(weight.shape()));
  check(x.dim() >= 1, "linear: input must have at least one dimension");
  const int64_t in = weight.shape()[1], out_features = weight.shape()[0];
  check(in > 0, "linear: weight ", shape_str(weight.shape()), " has no input features");
  check(x.shape().back() == in, "linear: input has ", x.shape().back(), " features, layer expects ", in,
        " (input shape ", shape_str(x.shape()), ", weight shape ", shape_str(weight.shape()), ")");
  check(x.dtype() == weight.dtype(), "linear: input is ", dtype_name(x.dtype()), ", weight is ",
        dtype_name(weight.dtype()));
  if (bias.defined())
    check(bias.dim() == 1 && bias.shape()[0] == out_features && bias.dtype() == x.dtype(), "linear: bias must be [",
          out_features, "] ", dtype_name(x.dtype()), ", got ", shape_str(bias.shape()), " ", dtype_name(bias.dtype()));

  check(x.device() == weight.device() && (!bias.defined() || bias.device() == x.device()),
        "linear: input, weight and bias must be on one device: input on ", device_name(x.device()), ", weight on ",
        device_name(weight.device()), bias.defined() ? ", bias on " : "",
        bias.defined() ? device_name(bias.device()) : "");

  const int64_t rows = x.numel() / in;
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  const bool gpu = x.device() == Device::CUDA;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  // Y [rows, out] = X [rows, in] @ W^T; on the GPU the bias is added after (one broadcast add)
  if (gpu) {
    check(is_floating(x.dtype()), "linear: expected float32 or float64 tensors, got ", dtype_name(x.dtype()));
    if (rows > 0)
      cuda_kernels().gemm(x.dtype(), false, true, rows, out_features, in, 1.0, x.raw_device_data(), in,
                          weight.raw_device_data(), in, 0.0, y.raw_device_data(), out_features);
    else y.fill_(0.0);
    if (bias.defined()) {
      NoGradGuard plain;  // a step of this op's forward, not an op of the graph
      add_(y, bias);
    }
  } else dispatch_float(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    T* py = y.data<T>();
    if (bias.defined()) {
      // start from the bias in every row, then GEMM adds X W^T (beta = 1)
      const T* pb = bias.data<T>();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < out_features; ++j) py[r * out_features + j] = pb[j];
    }
    gemm(false, true, rows, out_features, in, T(1), x.data<T>(), in, weight.data<T>(), in,
         bias.defined() ? T(1) : T(0), py, out_features);
  });

  Tensor x_saved = x.detach(), w_saved = weight.detach();
  bool has_bias = bias.defined();
  bool need_dx = x.requires_grad();  // the images fed to a first layer need no gradient: skip that GEMM
  record(y, "linear", {x, weight, bias}, [x_saved, w_saved, has_bias, need_dx, rows, in, out_features](const Tensor& g) {
    if (g.device() == Device::CUDA) {
      // the same three GEMMs on the GPU; db sums G's rows
      const CudaKernels& cuda = cuda_kernels();
      Tensor dx = need_dx ? Tensor::zeros(x_saved.shape(), g.dtype(), Device::CUDA) : Tensor();
      Tensor dw = Tensor::zeros(w_saved.shape(), g.dtype(), Device::CUDA);
      if (rows > 0) {
        if (need_dx)
          cuda.gemm(g.dtype(), false, false, rows, in, out_features, 1.0, g.raw_device_data(), out_features,
                    w_saved.raw_device_data(), in, 0.0, dx.raw_device_data(), in);
        cuda.gemm(g.dtype(), true, false, out_features, in, rows, 1.0, g.raw_device_data(), out_features,
                  x_saved.raw_device_data(), in, 0.0, dw.raw_device_data(), in);
      }
      Tensor db = has_bias ? sum(g.reshape({rows, out_features}), {0}) : Tensor();
      return std::vector<Tensor>{dx, dw, db};
    }
    Tensor dx = need_dx ? Tensor::empty(x_saved.shape(), g.dtype()) : Tensor();
    Tensor dw = Tensor::empty(w_saved.shape(), g.dtype());
    Tensor db = has_bias ? Tensor::empty({out_features}, g.dtype()) : Tensor();
    dispatch_float(g.dtype(), "linear", [&](auto tag) {
      using T = decltype(tag);
      const T* pg = g.data<T>();
      if (need_dx)
        gemm(false, false, rows, in, out_features, T(1), pg, out_features, w_saved.data<T>(), in, T(0), dx.data<T>(), in);
      gemm(true, false, out_features, in, rows, T(1), pg, out_features, x_saved.data<T>(), in, T(0), dw.data<T>(), in);
      if (has_bias) {
        T* pdb = db.data<T>();
        for (int64_t j = 0; j < out_features; ++j) pdb[j] = 0;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < out_features; ++j) pdb[j] += pg[r * out_features + j];
      }
    });
    return std::vector<Tensor>{dx, dw, db};
  });
  return y;
}

}  // namespace ember
