#pragma once
// Every differentiable op of the engine, as free functions. Each group lives in one file under
// core/ops/ with its forward and backward next to each other; the file named beside each group
// is where to read it.
//
// Conventions
// - Shapes in comments: N batch, C channels, H/W height/width, T time, D features, K classes.
// - Ops check their inputs and throw ember::Error naming the op and the shapes.
// - Float ops accept float32 and float64 (float64 is what gradcheck uses).
// - `dims` arguments accept negative indices; an empty `dims` means "all dimensions".
#include <optional>
#include <vector>

#include "core/autograd.h"
#include "core/tensor.h"

namespace ember {

class Generator;

// ---- element-wise binary, NumPy broadcasting (core/ops/binary.cpp) -----------------------------
// Shapes are aligned on the right; a dimension of size 1 stretches to match. The gradient of a
// broadcast input is summed back over the stretched dimensions.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
// Sums `g` down to `shape` (the reverse of broadcasting); used by backward functions.
Tensor sum_to(const Tensor& g, const Shape& shape);
// In place, no autograd: a += b (b broadcast to a's shape). Used for gradient accumulation.
void add_(Tensor& a, const Tensor& b);
// In place, no autograd: a += alpha * b (same shape). Used by optimizers.
void axpy_(Tensor& a, double alpha, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator-(const Tensor& a);

// ---- element-wise unary math (core/ops/unary.cpp) ----------------------------------------------
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor abs(const Tensor& x);    // gradient sign(x), 0 at 0
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);  // grad 0 outside

// ---- activations (core/ops/activations.cpp) ----------------------------------------------------
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// gelu(x) = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); approximate=true uses the tanh form
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
Tensor gelu(const Tensor& x, bool approximate = false);

// ---- reductions (core/ops/reduce.cpp) ------------------------------------------------------------
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Population variance by default (unbiased=false divides by n, as batch_norm uses);
// unbiased=true divides by n-1.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, bool unbiased = false, bool keepdim = false);
// Max over one dimension; the gradient goes to the (first) maximal element.
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // of all elements
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // int64, not differentiable

// ---- matrix multiply through BLAS (core/ops/matmul.cpp) ------------------------------------------
// a: [M, K] @ b: [K, N] -> [M, N]. Batched: a [..., M, K] @ b [..., K, N] with broadcast batch
// dimensions, or a [..., M, K] @ b [K, N] (one weight for all). Transposed operands are passed to
// GEMM as flags, never copied.
Tensor matmul(const Tensor& a, const Tensor& b);
// x: [..., in] -> [..., out] with weight [out, in] (PyTorch's layout) and optional bias [out]:
// y = x W^T + b, as one GEMM with a transposed operand.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- shape ops (core/ops/shape.cpp; methods on Tensor call these) -------------------------------
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
// Rows x[index[i]] of a tensor along dim 0; index int64 [n] -> [n, ...]. Gradient scatter-adds.
Tensor index_select(const Tensor& x, const Tensor& index);

// ---- softmax family (core/ops/softmax.cpp) -------------------------------------------------------
// softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x), along `dim`
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

// ---- losses (core/ops/loss.cpp, core/ops/cross_entropy.cpp) -------------------------------------
enum class Reduction { Mean, Sum, None };
// logits: [N, K] (or [N, K, d...] with target [N, d...]), target: int64 class indices.
// Fused with log_softmax: one pass forward, and the gradient is softmax - onehot.
// Targets equal to ignore_index contribute nothing; the mean is over the others.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     int64_t ignore_index = -100);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// Numerically stable: max(x,0) - x*y + log(1 + exp(-|x|)).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);

// ---- embedding and dropout (core/ops/embedding.cpp, core/ops/dropout.cpp) ------------------------
// weight [V, D], ids int64 [...] -> [..., D]; gradient scatter-adds rows into dweight.
Tensor embedding(const Tensor& ids, const Tensor& weight);
// In training, zeroes each element with probability p and scales the rest by 1/(1-p); the
// identity when !training or p == 0.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

// ---- convolution and pooling (core/ops/conv2d.cpp, core/ops/im2col.cpp, core/ops/pool.cpp) -----
struct Conv2dOptions {
  int64_t stride = 1, padding = 0, dilation = 1;
};
// x: [N, C, H, W], weight: [K, C, KH, KW], bias: [K] or undefined -> [N, K, OH, OW] with
// OH = (H + 2 pad - dil (KH - 1) - 1) / stride + 1 (the same for OW).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Conv2dOptions opt = {});
// x: [N, C, H, W] -> [N, C, OH, OW]; padding pads with -inf for max.
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride = 0 /* 0: = kernel */, int64_t padding = 0);
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0);
// [N, C, H, W] -> [N, C]
Tensor global_avg_pool2d(const Tensor& x);

// ---- normalisation (core/ops/batch_norm.cpp, core/ops/layer_norm.cpp) ----------------------------
// x: [N, C] or [N, C, H, W]; statistics per channel C. In training, normalises with the batch
// statistics and updates running_mean/var in place (momentum as PyTorch: new = (1-m) old + m batch,
// with the unbiased batch variance); in eval, uses the running statistics. weight/bias [C] optional.
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
// Normalises over the last dimension D: x [..., D], weight/bias [D] optional.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

// ---- masking and attention (core/ops/masked_fill.cpp, core/ops/attention.cpp) ---------------------
// out = mask ? value : x (mask: any dtype, nonzero = true, broadcast to x); no gradient where masked.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// [T, T] float mask with 1 above the diagonal (the future), 0 elsewhere.
Tensor causal_mask(int64_t T, DType dtype = DType::Float32);
// q, k, v: [B, H, T, D] -> [B, H, T, D]: softmax(q k^T / sqrt(D) [+ causal mask]) (dropout) v,
// as one op with a hand-written backward that keeps only the attention probabilities.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                                    double dropout_p = 0.0, bool training = false,
                                    Generator* gen = nullptr);
// The same for the heads of a fused q, k, v projection, read where they are (no copies):
// qkv: [B, T, 3C], each token's q of every head, then its k, then its v (C = n_head * D) -> [B, T, C],
// each token's output of every head side by side. Equal to splitting qkv into q, k, v [B, H, T, D],
// scaled_dot_product_attention, and putting the heads side by side again.
Tensor self_attention(const Tensor& qkv, int64_t n_head, bool causal, double dropout_p = 0.0,
                      bool training = false, Generator* gen = nullptr);

}  // namespace ember
