#pragma once
// Plain reference kernels: the readable truth beside the fast ops of core/ops.h.
//
// The fast ops are made fast with im2col + GEMM, blocking, packed layouts, threads and a
// vectorised exp; that hides the maths. Each function here is the same maths as one plain loop
// nest: no BLAS, no threads, no blocking, the formula and the shapes in a comment above it. They
// are what a student steps through in gdb (`break ember::reference::conv2d_forward`), what the
// fast ops are tested against (tests/test_reference_kernels.cpp), and what GPU kernels will be
// tested against.
//
// Conventions
// - forward(inputs, options) returns the output; backward(inputs, dy, options) returns the
//   gradients of the inputs given dy = dLoss/doutput. Backward recomputes what it needs from the
//   inputs (nothing is saved between the two), so each can be read on its own.
// - Inputs are float32 or float64. Every reference computes in float64 whatever the input type
//   (inputs are converted in, results converted back to the input's type): the loops read as
//   plain doubles, and a fast float32 kernel is compared with the most accurate answer there is.
// - Nothing is recorded for autograd: inputs that require grad are read, never tracked.
// - The options are those of the fast op, with the same defaults; errors name the op and the shapes.
#include <cstdint>

#include "core/ops.h"
#include "core/tensor.h"

namespace ember::reference {

// ---- convolution (core/ops/reference/conv2d.cpp; fast: core/ops/conv2d.cpp) ----------------------
// x: [N, C, H, W], weight: [K, C, KH, KW], bias: [K] or undefined -> y: [N, K, OH, OW],
// OH = (H + 2 pad - dil (KH - 1) - 1) / stride + 1 (the same for OW)
Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Conv2dOptions opt = {});
struct Conv2dGrads {
  Tensor dx;       // [N, C, H, W]
  Tensor dweight;  // [K, C, KH, KW]
  Tensor dbias;    // [K], the gradient a bias would get (also when the forward had none)
};
Conv2dGrads conv2d_backward(const Tensor& x, const Tensor& weight, const Tensor& dy, Conv2dOptions opt = {});

// ---- pooling (core/ops/reference/pool.cpp; fast: core/ops/pool.cpp) -------------------------------
// x: [N, C, H, W] -> y: [N, C, OH, OW], OH = (H + 2 pad - kernel) / stride + 1; stride 0 means
// stride = kernel; padding is never the max (as -inf).
Tensor max_pool2d_forward(const Tensor& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0);
Tensor max_pool2d_backward(const Tensor& x, const Tensor& dy, int64_t kernel, int64_t stride = 0,
                           int64_t padding = 0);  // -> dx [N, C, H, W]

// ---- attention (core/ops/reference/attention.cpp; fast: core/ops/attention.cpp) -------------------
// q, k, v: [B, H, T, D] -> out: [B, H, T, D] = softmax(q k^T / sqrt(D) [+ causal mask]) v.
// Without dropout: the fast op with dropout_p = 0 (or training = false), which is what these
// compare with. (The fast op's dropout masks are tested in tests/test_ops_attention.cpp.)
Tensor scaled_dot_product_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, bool causal);
struct AttentionGrads {
  Tensor dq, dk, dv;  // each [B, H, T, D]
};
AttentionGrads scaled_dot_product_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                     const Tensor& dout, bool causal);
// qkv: [B, T, 3C] (each token's q of every head, then its k, then its v; C = n_head * D)
// -> out: [B, T, C], the heads side by side. No dropout (see above).
Tensor self_attention_forward(const Tensor& qkv, int64_t n_head, bool causal);
Tensor self_attention_backward(const Tensor& qkv, const Tensor& dout, int64_t n_head, bool causal);  // -> dqkv

// ---- normalisation (core/ops/reference/batch_norm.cpp, layer_norm.cpp; fast: core/ops/ the same) ---
// x: [N, C], [N, C, L] or [N, C, H, W], statistics per channel; weight, bias [C] optional.
// training: batch statistics, and running_mean/var (when given) updated in place as the fast op
// does; eval: the running statistics.
Tensor batch_norm_forward(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                          const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
struct NormGrads {
  Tensor dx;       // the shape of x
  Tensor dweight;  // [C] (batch norm) or [D] (layer norm): the gradient a weight would get, also when
  Tensor dbias;    // the forward had none (then as if weight 1 and bias 0)
};
// training: the batch statistics are recomputed from x (running_mean/var are not read and may be
// undefined); eval: running_mean/var are the constants the forward used.
NormGrads batch_norm_backward(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                              const Tensor& weight, const Tensor& dy, bool training, double eps = 1e-5);
// x: [..., D], normalised over the last dimension; weight, bias [D] optional -> y: [..., D]
Tensor layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);
NormGrads layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& dy, double eps = 1e-5);

// ---- softmax family and cross-entropy (core/ops/reference/softmax.cpp; fast: core/ops/softmax.cpp,
// core/ops/cross_entropy.cpp) ----------------------------------------------------------------------
// x: any shape -> y: the same shape, normalised along `dim`.
Tensor softmax_forward(const Tensor& x, int64_t dim = -1);
Tensor softmax_backward(const Tensor& x, const Tensor& dy, int64_t dim = -1);  // -> dx
Tensor log_softmax_forward(const Tensor& x, int64_t dim = -1);
Tensor log_softmax_backward(const Tensor& x, const Tensor& dy, int64_t dim = -1);  // -> dx
// logits: [N, K] with target [N], or [N, K, d1, ...] with target [N, d1, ...] (int64 classes)
// -> loss: [] (Mean, Sum) or the shape of target (None). dloss has the loss's shape; -> dlogits.
Tensor cross_entropy_forward(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                             int64_t ignore_index = -100);
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss,
                              Reduction reduction = Reduction::Mean, int64_t ignore_index = -100);

// A float copy of t in float64, without autograd history: what every reference computes on.
// Throws, naming `op`, when t is undefined or not float32/float64.
inline Tensor as_float64(const Tensor& t, const char* op, const char* what) {
  check(t.defined(), op, ": ", what, " is undefined");
  check(is_floating(t.dtype()), op, ": ", what, " must be float32 or float64, got ", dtype_name(t.dtype()), " ",
        shape_str(t.shape()));
  return t.detach().to(DType::Float64);
}

}  // namespace ember::reference
