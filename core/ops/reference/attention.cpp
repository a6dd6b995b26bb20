// Scaled dot-product attention, the plain way: one query row at a time. The readable truth beside
// core/ops/attention.cpp (blocked GEMMs, packed qkv layouts, threads over heads, a vectorised
// exp, dropout), which is tested against it.
//
//   q, k, v, out: [B, H, T, D]   (batch, heads, time, features per head); scale = 1 / sqrt(D)
// For each head (b, h) and each query position i:
//   s_j   = scale * sum_d q[i,d] k[j,d]          for the keys j = 0 .. T-1 (causal: j <= i only)
//   p_j   = exp(s_j - max s) / sum_j' exp(s_j' - max s)     the softmax over those keys
//   out[i,d] = sum_j p_j v[j,d]
// Backward, given dout, for each (b, h, i) with p recomputed as above:
//   dp_j     = sum_d dout[i,d] v[j,d]
//   dv[j,d] += p_j dout[i,d]
//   ds_j     = p_j (dp_j - sum_j' p_j' dp_j')    the softmax backward
//   dq[i,d] += scale ds_j k[j,d]
//   dk[j,d] += scale ds_j q[i,d]
// No dropout: these are the fast op with dropout_p = 0 (or training = false).
//
// self_attention(qkv, n_head) is, by its definition in core/ops.h, the same attention on the heads
// of a fused projection: split qkv [B, T, 3C] into q, k, v [B, H, T, D], attend, and put the heads
// side by side again in [B, T, C]. The reference does exactly that.
#include <cmath>
#include <vector>

#include "core/ops/reference.h"

namespace ember::reference {

namespace {

void check_qkv(const Tensor& q, const Tensor& k, const Tensor& v, const char* op) {
  check(q.defined() && k.defined() && v.defined(), op, ": q, k or v is undefined");
  check(q.dim() == 4, op, ": q, k, v must be [B, H, T, D], got q of shape ", shape_str(q.shape()));
  check(k.shape() == q.shape() && v.shape() == q.shape(), op, ": q, k and v must have the same shape, got q ",
        shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()));
}

// x [B, T, parts * C] (float64) -> `parts` tensors [B, H, T, D] with C = H * D: part p holds
// x[b, t, p*C + h*D + d] at [b, h, t, d]. For qkv, parts = 3 gives q, k and v.
std::vector<Tensor> split_heads(const Tensor& x, int64_t n_head, int64_t parts) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2) / parts, H = n_head, D = C / H;
  std::vector<Tensor> out;
  for (int64_t part = 0; part < parts; ++part) {
    Tensor t = Tensor::empty({B, H, T, D}, DType::Float64);
    const double* src = x.data<double>();
    double* dst = t.data<double>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < T; ++i)
          for (int64_t d = 0; d < D; ++d)
            dst[((b * H + h) * T + i) * D + d] = src[(b * T + i) * parts * C + part * C + h * D + d];
    out.push_back(t);
  }
  return out;
}

// The reverse for one part: x [B, H, T, D] -> columns part*C + h*D + d of out [B, T, width].
void merge_heads(const Tensor& x, int64_t part, Tensor& out) {
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), D = x.size(3), width = out.size(2);
  const double* src = x.data<double>();
  double* dst = out.data<double>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i)
        for (int64_t d = 0; d < D; ++d)
          dst[(b * T + i) * width + part * H * D + h * D + d] = src[((b * H + h) * T + i) * D + d];
}

// qkv [B, T, 3C] as float64, checked as the fast op checks it.
Tensor checked_qkv(const Tensor& qkv_in, int64_t n_head, const char* op) {
  check(n_head > 0, op, ": n_head must be positive, got ", n_head);
  const Tensor qkv = as_float64(qkv_in, op, "qkv");
  check(qkv.dim() == 3 && qkv.size(2) % (3 * n_head) == 0, op, ": qkv must be [B, T, 3 C] with C a multiple of ",
        "n_head = ", n_head, ", got ", shape_str(qkv.shape()));
  return qkv;
}

}  // namespace

Tensor scaled_dot_product_attention_forward(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                            bool causal) {
  const char* op = "reference::scaled_dot_product_attention_forward";
  check_qkv(q_in, k_in, v_in, op);
  const Tensor q = as_float64(q_in, op, "q"), k = as_float64(k_in, op, "k"), v = as_float64(v_in, op, "v");
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const double *pq = q.data<double>(), *pk = k.data<double>(), *pv = v.data<double>();
  Tensor out = Tensor::empty(q.shape(), DType::Float64);
  double* po = out.data<double>();

  std::vector<double> p(T);  // the attention probabilities of one query row
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t head = (b * H + h) * T * D;  // where this head's [T, D] matrices start
      for (int64_t i = 0; i < T; ++i) {
        const int64_t keys = causal ? i + 1 : T;  // query i sees keys [0, keys)
        double max_s = -INFINITY;
        for (int64_t j = 0; j < keys; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += pq[head + i * D + d] * pk[head + j * D + d];
          p[j] = scale * s;
          if (p[j] > max_s) max_s = p[j];
        }
        double sum = 0;
        for (int64_t j = 0; j < keys; ++j) {
          p[j] = std::exp(p[j] - max_s);
          sum += p[j];
        }
        for (int64_t j = 0; j < keys; ++j) p[j] /= sum;
        for (int64_t d = 0; d < D; ++d) {
          double o = 0;
          for (int64_t j = 0; j < keys; ++j) o += p[j] * pv[head + j * D + d];
          po[head + i * D + d] = o;
        }
      }
    }
  return out.to(q_in.dtype());
}

AttentionGrads scaled_dot_product_attention_backward(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                                     const Tensor& dout_in, bool causal) {
  const char* op = "reference::scaled_dot_product_attention_backward";
  check_qkv(q_in, k_in, v_in, op);
  const Tensor q = as_float64(q_in, op, "q"), k = as_float64(k_in, op, "k"), v = as_float64(v_in, op, "v");
  const Tensor dout = as_float64(dout_in, op, "dout");
  check(dout.shape() == q.shape(), op, ": dout must have the output's shape ", shape_str(q.shape()), ", got ",
        shape_str(dout.shape()));
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const double *pq = q.data<double>(), *pk = k.data<double>(), *pv = v.data<double>();
  const double* pdo = dout.data<double>();
  Tensor dq = Tensor::zeros(q.shape(), DType::Float64);
  Tensor dk = Tensor::zeros(q.shape(), DType::Float64);
  Tensor dv = Tensor::zeros(q.shape(), DType::Float64);
  double *pdq = dq.data<double>(), *pdk = dk.data<double>(), *pdv = dv.data<double>();

  std::vector<double> p(T), dp(T);  // one query row's probabilities and their gradient
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t head = (b * H + h) * T * D;
      for (int64_t i = 0; i < T; ++i) {
        const int64_t keys = causal ? i + 1 : T;
        // p: the forward's probabilities of row i, recomputed
        double max_s = -INFINITY;
        for (int64_t j = 0; j < keys; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += pq[head + i * D + d] * pk[head + j * D + d];
          p[j] = scale * s;
          if (p[j] > max_s) max_s = p[j];
        }
        double sum = 0;
        for (int64_t j = 0; j < keys; ++j) {
          p[j] = std::exp(p[j] - max_s);
          sum += p[j];
        }
        for (int64_t j = 0; j < keys; ++j) p[j] /= sum;
        // out[i] = sum_j p_j v[j]: gradients of p and of v
        double p_dot_dp = 0;
        for (int64_t j = 0; j < keys; ++j) {
          dp[j] = 0;
          for (int64_t d = 0; d < D; ++d) {
            dp[j] += pdo[head + i * D + d] * pv[head + j * D + d];
            pdv[head + j * D + d] += p[j] * pdo[head + i * D + d];
          }
          p_dot_dp += p[j] * dp[j];
        }
        // through the softmax to the scores s_j, and from s_j = scale q[i] . k[j] to q and k
        for (int64_t j = 0; j < keys; ++j) {
          const double ds = p[j] * (dp[j] - p_dot_dp);
          for (int64_t d = 0; d < D; ++d) {
            pdq[head + i * D + d] += scale * ds * pk[head + j * D + d];
            pdk[head + j * D + d] += scale * ds * pq[head + i * D + d];
          }
        }
      }
    }
  const DType dtype = q_in.dtype();
  return {dq.to(dtype), dk.to(dtype), dv.to(dtype)};
}

Tensor self_attention_forward(const Tensor& qkv_in, int64_t n_head, bool causal) {
  const char* op = "reference::self_attention_forward";
  const Tensor qkv = checked_qkv(qkv_in, n_head, op);
  const std::vector<Tensor> heads = split_heads(qkv, n_head, 3);  // q, k, v [B, H, T, D]
  const Tensor out_heads = scaled_dot_product_attention_forward(heads[0], heads[1], heads[2], causal);
  Tensor out = Tensor::empty({qkv.size(0), qkv.size(1), qkv.size(2) / 3}, DType::Float64);
  merge_heads(out_heads, 0, out);
  return out.to(qkv_in.dtype());
}

Tensor self_attention_backward(const Tensor& qkv_in, const Tensor& dout_in, int64_t n_head, bool causal) {
  const char* op = "reference::self_attention_backward";
  const Tensor qkv = checked_qkv(qkv_in, n_head, op);
  const Tensor dout = as_float64(dout_in, op, "dout");
  const Shape out_shape{qkv.size(0), qkv.size(1), qkv.size(2) / 3};
  check(dout.shape() == out_shape, op, ": dout must have the output's shape ", shape_str(out_shape), ", got ",
        shape_str(dout.shape()));
  const std::vector<Tensor> heads = split_heads(qkv, n_head, 3);  // q, k, v [B, H, T, D]
  const Tensor dout_heads = split_heads(dout, n_head, 1)[0];      // [B, H, T, D]
  const AttentionGrads g = scaled_dot_product_attention_backward(heads[0], heads[1], heads[2], dout_heads, causal);
  Tensor dqkv = Tensor::empty(qkv.shape(), DType::Float64);
  merge_heads(g.dq, 0, dqkv);
  merge_heads(g.dk, 1, dqkv);
  merge_heads(g.dv, 2, dqkv);
  return dqkv.to(qkv_in.dtype());
}

}  // namespace ember::reference
