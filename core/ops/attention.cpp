// Scaled dot-product attention as one fused op (the heart of a transformer block).
// The plain reference of this op, one loop nest to step through: core/ops/reference/attention.cpp
//
//   q, k, v: [B, H, T, D]   (batch, heads, time, features per head)   out: [B, H, T, D]
// Each (b, h) pair is an independent problem on the [T, D] matrices Q, K, V of one head:
//   S      = Q K^T / sqrt(D)            [T, T]  S_ij: how well query i matches key j
//   causal:  S_ij = -inf for j > i      position i may not look at the future
//   P      = softmax of each row of S   [T, T]  attention probabilities; a row sums to 1
//   P_drop = P * mask / (1 - p)         dropout, training only; mask_ij = 0 with probability p
//   O      = P_drop V                   [T, D]  each output row is a weighted mix of value rows
//
// Backward, given dO = dL/dO [T, D]:
//   dV      = P_drop^T dO               [T, D]
//   dP_drop = dO V^T                    [T, T]
//   dP      = dP_drop * mask / (1 - p)
//   dS      = P * (dP - rowsum(dP * P)) the softmax backward, row by row
//   dQ      = dS K / sqrt(D)            [T, D]
//   dK      = dS^T Q / sqrt(D)          [T, D]
//
// Two ways in, the same math: scaled_dot_product_attention(q, k, v) with each head's [T, D]
// matrices contiguous, and self_attention(qkv, n_head), which reads every head's q, k and v rows
// straight out of a fused projection [B, T, 3C] (rows 3C numbers apart: BLAS takes a row stride)
// and writes [B, T, C]. The second saves a transformer the copies that take heads apart and put
// them together again (permutes and slices, ~8% of a training step of the course's GPT).
//
// Saved for backward: q, k, v, the probabilities P [B, H, T, T], and one dropout seed per (b, h).
// The dropout mask is not stored: it is a pure function of (seed, i, j) (see DropoutMask), so
// backward draws exactly the same mask again. Composing this from separate ops (matmul, softmax,
// dropout, matmul) would keep S, P, the mask and P_drop alive - four [B, H, T, T] tensors.
//
// Speed:
// - Threads split the B*H heads; every GEMM inside runs on one BLAS thread (never two pools).
// - A head's [T, T] matrices are processed in blocks of rows while they sit in cache.
// - Causal: rows [r0, r1) only look at keys [0, r1), so each row block multiplies only those
//   columns: for T = 256 and blocks of 32 rows the GEMMs compute 36 of the 64 blocks of S.
// - exp: std::exp is a library call the compiler cannot vectorise; float32 uses fast_exp.
//
// On the GPU (cuda_attention below) the same maths is put together from ops, every one of which is
// differentiable on its own: S = matmul(q, k^T) (cuBLAS), P = the fused scaled, causal softmax
// (cuda/attention.cu), P_drop = dropout with the CPU's per-head seeds and mask (cuda/attention.cu),
// O = matmul(P_drop, v). The packed layout is taken apart with reshape and permute first. S and P
// are kept for backward as [B, H, T, T] tensors (no FlashAttention-style tiling yet).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/blas.h"
#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/ops/dropout_mask.h"
#include "core/ops/fast_exp.h"
#include "core/parallel.h"
#include "core/random.h"

namespace ember {

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

// Rows of S handled together with causal masking: small enough for the skipped upper blocks to
// matter, large enough for efficient GEMMs (measured here: 32 beats 64, 128 and 256 rows).
constexpr int64_t kRowBlock = 32;

// The dropout mask of one head is a DropoutMask (core/ops/dropout_mask.h) of the element's index
// i*T + j, with that head's seed.

// The sizes and options shared by all heads of one call.
struct AttentionConfig {
  int64_t T, D;
  bool causal;
  bool dropout;  // training with p > 0
  double p;      // the dropout probability
};

// Where the heads live in memory. Head bh = b * H + h has its q, k and v as [T, D] matrices whose
// rows are `ld` numbers apart, starting at q_offset(bh) (of the q buffer), k_offset(bh) (of k),
// v_offset(bh) (of v); its output rows are `ld_out` apart from out_offset(bh). The gradients dq,
// dk, dv and dout have the same layout as q, k, v and out.
//   separate q, k, v [B, H, T, D] and out [B, H, T, D]:  every head is a contiguous [T, D] block
//   packed qkv [B, T, 3C] (C = H D) and out [B, T, C]:  head h of batch item b reads columns
//       [h D, h D + D) of each token's q part, and the same columns of its k and v parts
struct Layout {
  int64_t H, T, D;
  bool packed;
  int64_t ld, ld_out;

  static Layout separate(int64_t H, int64_t T, int64_t D) { return {H, T, D, false, D, D}; }
  static Layout packed_qkv(int64_t H, int64_t T, int64_t D) { return {H, T, D, true, 3 * H * D, H * D}; }

  int64_t q_offset(int64_t bh) const {
    return packed ? (bh / H) * T * ld + (bh % H) * D : bh * T * D;
  }
  int64_t k_offset(int64_t bh) const { return q_offset(bh) + (packed ? H * D : 0); }
  int64_t v_offset(int64_t bh) const { return q_offset(bh) + (packed ? 2 * H * D : 0); }
  int64_t out_offset(int64_t bh) const {
    return packed ? (bh / H) * T * ld_out + (bh % H) * D : bh * T * D;
  }
};

// Everything one head needs; pointers are to that head's [T, D] matrices, rows `ld` apart (q, k,
// v and their gradients) or `ld_out` apart (the output and its gradient).
template <typename Real>
struct Head {
  const Real *q, *k, *v;
  int64_t ld, ld_out;
  int64_t T, D;
  bool causal;
  Real scale;       // 1 / sqrt(D)
  bool dropout;
  Real keep_scale;  // 1 / (1 - p)
  DropoutMask mask;

  // Row i attends to keys [0, valid(i)); the row block [r0, r1) is computed for keys [0, cols(r1)).
  int64_t valid(int64_t i) const { return causal ? i + 1 : T; }
  int64_t cols(int64_t r1) const { return causal ? r1 : T; }
  int64_t block() const { return causal ? kRowBlock : T; }
};

// Head bh (= b * H + h) of the buffers q, k, v laid out as `lay` says.
template <typename Real>
Head<Real> head_at(const AttentionConfig& c, const Layout& lay, const Real* q, const Real* k, const Real* v,
                   int64_t bh, uint64_t seed) {
  return Head<Real>{q + lay.q_offset(bh), k + lay.k_offset(bh), v + lay.v_offset(bh), lay.ld, lay.ld_out, c.T, c.D,
                    c.causal,
                    static_cast<Real>(1.0 / std::sqrt(static_cast<double>(c.D))), c.dropout,
                    static_cast<Real>(1.0 / (1.0 - c.p)), DropoutMask(seed, c.p)};
}

// probs[0, n) <- softmax(probs[0, n)); probs[n, len) <- 0 (the masked future).
template <typename Real>
void softmax_row(Real* probs, int64_t n, int64_t len) {
  Real m = probs[0];
  // (written as a comparison rather than std::max: the form the compiler vectorises)
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; ++j) m = probs[j] > m ? probs[j] : m;
  Real sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) {
    Real e = fast_exp(probs[j] - m);
    probs[j] = e;
    sum += e;
  }
  const Real inv = Real(1) / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) probs[j] *= inv;
  std::fill(probs + n, probs + len, Real(0));
}

// Forward of one head. out: [T, D] (rows ld_out apart); probs: [T, T], receives P; dropped:
// [T, T] scratch for P_drop (only used with dropout).
template <typename Real>
void head_forward(const Head<Real>& h, Real* out, Real* probs, Real* dropped) {
  const int64_t T = h.T, D = h.D, ld = h.ld, ldo = h.ld_out;
  const Real* weights = h.dropout ? dropped : probs;  // what multiplies V
  for (int64_t r0 = 0; r0 < T; r0 += h.block()) {
    const int64_t r1 = std::min(r0 + h.block(), T), rows = r1 - r0, cols = h.cols(r1);
    // S[r0:r1, 0:cols] = Q[r0:r1] K[0:cols]^T / sqrt(D), written straight into P's rows
    gemm(false, true, rows, cols, D, h.scale, h.q + r0 * ld, ld, h.k, ld, Real(0), probs + r0 * T, T);
    for (int64_t i = r0; i < r1; ++i) {
      Real* p = probs + i * T;
      softmax_row(p, h.valid(i), T);
      if (h.dropout) {
        Real* pd = dropped + i * T;
        const uint64_t base = static_cast<uint64_t>(i * T);
#pragma omp simd
        for (int64_t j = 0; j < cols; ++j) pd[j] = h.mask.keep(base + j) ? p[j] * h.keep_scale : Real(0);
      }
    }
    // O[r0:r1] = P_drop[r0:r1, 0:cols] V[0:cols]
    gemm(false, false, rows, D, cols, Real(1), weights + r0 * T, T, h.v, ld, Real(0), out + r0 * ldo, ldo);
  }
}

// Backward of one head. dout: [T, D] (rows ld_out apart); probs: the saved P; dprobs, dropped:
// [T, T] scratch; dq, dk, dv: [T, D] (rows ld apart).
template <typename Real>
void head_backward(const Head<Real>& h, const Real* dout, const Real* probs, Real* dprobs, Real* dropped, Real* dq,
                   Real* dk, Real* dv) {
  const int64_t T = h.T, D = h.D, ld = h.ld, ldo = h.ld_out;
  const Real* weights = h.dropout ? dropped : probs;  // P_drop
  // dS and dQ, one block of rows at a time
  for (int64_t r0 = 0; r0 < T; r0 += h.block()) {
    const int64_t r1 = std::min(r0 + h.block(), T), rows = r1 - r0, cols = h.cols(r1);
    // dP_drop[r0:r1, 0:cols] = dO[r0:r1] V[0:cols]^T
    gemm(false, true, rows, cols, D, Real(1), dout + r0 * ldo, ldo, h.v, ld, Real(0), dprobs + r0 * T, T);
    for (int64_t i = r0; i < r1; ++i) {
      const Real* p = probs + i * T;
      Real* ds = dprobs + i * T;  // holds dP_drop, becomes dP, then dS
      if (h.dropout) {
        // P_drop again (for dV) and dP = dP_drop * mask / (1 - p), with the forward's mask
        Real* pd = dropped + i * T;
        const uint64_t base = static_cast<uint64_t>(i * T);
#pragma omp simd
        for (int64_t j = 0; j < cols; ++j) {
          const bool keep = h.mask.keep(base + j);
          pd[j] = keep ? p[j] * h.keep_scale : Real(0);
          ds[j] = keep ? ds[j] * h.keep_scale : Real(0);
        }
      }
      // masked entries (j >= valid(i)) have P = 0, so they add nothing here and get dS = 0
      Real dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < cols; ++j) dot += ds[j] * p[j];
#pragma omp simd
      for (int64_t j = 0; j < cols; ++j) ds[j] = p[j] * (ds[j] - dot);
    }
    // dQ[r0:r1] = dS[r0:r1, 0:cols] K[0:cols] / sqrt(D)
    gemm(false, false, rows, D, cols, h.scale, dprobs + r0 * T, T, h.k, ld, Real(0), dq + r0 * ld, ld);
  }
  // dV and dK, one block of columns (keys) at a time. With causal, key block [c0, c1) is only
  // seen by the queries [c0, T), so the sums over queries start at c0.
  for (int64_t c0 = 0; c0 < T; c0 += h.block()) {
    const int64_t c1 = std::min(c0 + h.block(), T), n = c1 - c0, q0 = h.causal ? c0 : 0;
    // dV[c0:c1] = P_drop[q0:T, c0:c1]^T dO[q0:T]
    gemm(true, false, n, D, T - q0, Real(1), weights + q0 * T + c0, T, dout + q0 * ldo, ldo, Real(0), dv + c0 * ld,
         ld);
    // dK[c0:c1] = dS[q0:T, c0:c1]^T Q[q0:T] / sqrt(D)
    gemm(true, false, n, D, T - q0, h.scale, dprobs + q0 * T + c0, T, h.q + q0 * ld, ld, Real(0), dk + c0 * ld,
         ld);
  }
}

// Runs f(head_index, scratch) for every one of the `heads` heads, split across threads; each
// thread gets its own scratch buffer of `scratch_size` elements, allocated once per call.
// Tiny heads (a gradcheck's) stay on one thread: starting threads would cost more than the work.
template <typename Real, typename F>
void for_each_head(int64_t heads, const AttentionConfig& c, int64_t scratch_size, F f) {
  const int64_t work_per_head = c.T * c.T * std::max<int64_t>(c.D, 1);
  const int64_t grain = std::max<int64_t>(1, (1 << 16) / work_per_head);
  BlasThreadsGuard one_blas_thread(1);
  parallel_for(0, heads, grain, [&](int64_t lo, int64_t hi) {
    std::vector<Real> scratch(scratch_size);
    for (int64_t bh = lo; bh < hi; ++bh) f(bh, scratch.data());
  });
}

// The op itself, for either layout. `inputs` are q, k, v (separate) or qkv (packed); their
// gradients have the same shapes and the same layout. out has shape out_shape.
Tensor attention(const char* op, const std::vector<Tensor>& inputs, const Layout& lay, int64_t B,
                 const Shape& out_shape, bool causal, double dropout_p, bool training, Generator* gen) {
  const int64_t T = lay.T, D = lay.D, heads = B * lay.H;
  const DType dtype = inputs[0].dtype();
  Tensor out = Tensor::empty(out_shape, dtype);
  if (out.numel() == 0) {
    // nothing to attend over; the gradients are empty tensors of the inputs' shapes
    std::vector<Shape> shapes;
    for (const Tensor& t : inputs) shapes.push_back(t.shape());
    record(out, op, inputs, [shapes, dtype](const Tensor&) {
      std::vector<Tensor> grads;
      for (const Shape& shape : shapes) grads.push_back(Tensor::zeros(shape, dtype));
      return grads;
    });
    return out;
  }

  const bool dropout = training && dropout_p > 0;
  // One seed per head, drawn in order before the threads start: the same generator state gives
  // the same masks whatever the number of threads.
  std::vector<uint64_t> seeds(dropout ? heads : 0);
  Generator& rng = gen ? *gen : default_generator();
  for (uint64_t& s : seeds) s = rng.next_u64();

  // P is kept for backward only when there will be one; otherwise it lives in per-thread scratch.
  const bool save = needs_grad(inputs);
  Tensor probs = save ? Tensor::empty({heads, T, T}, dtype) : Tensor();
  // q, k and v are the three inputs, or all three the one packed input
  const size_t ik = inputs.size() == 3 ? 1 : 0, iv = inputs.size() == 3 ? 2 : 0;

  const AttentionConfig cfg{T, D, causal, dropout, dropout_p};
  dispatch_float(dtype, op, [&](auto tag) {
    using Real = decltype(tag);
    const Real *pq = inputs[0].data<Real>(), *pk = inputs[ik].data<Real>(), *pv = inputs[iv].data<Real>();
    Real* pout = out.data<Real>();
    Real* pprobs = save ? probs.data<Real>() : nullptr;
    // scratch per thread: P_drop (with dropout), and P itself when it is not saved
    const int64_t scratch = (dropout ? T * T : 0) + (save ? 0 : T * T);
    for_each_head<Real>(heads, cfg, scratch, [&](int64_t bh, Real* buf) {
      Real* p = save ? pprobs + bh * T * T : buf + (dropout ? T * T : 0);
      head_forward(head_at(cfg, lay, pq, pk, pv, bh, dropout ? seeds[bh] : 0), pout + lay.out_offset(bh), p, buf);
    });
  });

  if (!save) return out;
  std::vector<Tensor> saved;
  for (const Tensor& t : inputs) saved.push_back(t.detach());
  record(out, op, inputs, [op, saved, probs, seeds, cfg, lay, heads, ik, iv](const Tensor& g) {
    // every element of the inputs belongs to exactly one head's q, k or v: empty() is safe
    std::vector<Tensor> grads;
    for (const Tensor& t : saved) grads.push_back(Tensor::empty(t.shape(), g.dtype()));
    const int64_t T = cfg.T;
    dispatch_float(g.dtype(), op, [&](auto tag) {
      using Real = decltype(tag);
      const Real *pq = saved[0].data<Real>(), *pk = saved[ik].data<Real>(), *pv = saved[iv].data<Real>();
      const Real* pg = g.data<Real>();
      const Real* pprobs = probs.data<Real>();
      Real *pdq = grads[0].data<Real>(), *pdk = grads[ik].data<Real>(), *pdv = grads[iv].data<Real>();
      // scratch per thread: dP / dS, and P_drop (with dropout)
      for_each_head<Real>(heads, cfg, T * T * (cfg.dropout ? 2 : 1), [&](int64_t bh, Real* buf) {
        head_backward(head_at(cfg, lay, pq, pk, pv, bh, cfg.dropout ? seeds[bh] : 0), pg + lay.out_offset(bh),
                      pprobs + bh * T * T, buf, buf + T * T, pdq + lay.q_offset(bh), pdk + lay.k_offset(bh),
                      pdv + lay.v_offset(bh));
      });
    });
    return grads;
  });
  return out;
}

// ---- the GPU path ----------------------------------------------------------------------------------

// P = softmax(scale S) over the last dimension, causal rows masked: S [..., T, T] on the GPU.
// backward: dS = scale * P (dP - rowsum(dP P)), the softmax backward (cuda/softmax.cu) and the scale.
Tensor cuda_attention_probs(const Tensor& s, double scale, bool causal) {
  const int64_t T = s.shape().back(), rows = s.numel() / T;
  Tensor p = Tensor::empty(s.shape(), s.dtype(), Device::CUDA);
  cuda_kernels().attention_softmax(s.dtype(), s.raw_device_data(), p.raw_device_data(), rows, T, scale, causal);
  Tensor p_saved = p.detach();
  record(p, "attention_softmax", {s}, [p_saved, rows, T, scale](const Tensor& g) {
    Tensor ds = Tensor::empty(g.shape(), g.dtype(), Device::CUDA);
    cuda_kernels().softmax_backward(g.dtype(), p_saved.raw_device_data(), g.raw_device_data(), ds.raw_device_data(),
                                    rows, T, 1, /*log=*/false);
    return std::vector<Tensor>{mul(ds, scale)};
  });
  return p;
}

// P_drop = P * mask / (1 - p) with one seed per head, the CPU's mask; backward: the same on g.
Tensor cuda_head_dropout(const Tensor& probs, const std::vector<uint64_t>& seeds, double p) {
  const int64_t heads = static_cast<int64_t>(seeds.size()), per_head = probs.numel() / heads;
  const double keep_scale = 1.0 / (1.0 - p);
  Tensor out = Tensor::empty(probs.shape(), probs.dtype(), Device::CUDA);
  cuda_kernels().attention_dropout(probs.dtype(), probs.raw_device_data(), out.raw_device_data(), heads, per_head,
                                   seeds.data(), p, keep_scale);
  record(out, "attention_dropout", {probs}, [seeds, p, keep_scale, heads, per_head](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), Device::CUDA);
    cuda_kernels().attention_dropout(g.dtype(), g.raw_device_data(), dx.raw_device_data(), heads, per_head,
                                     seeds.data(), p, keep_scale);
    return std::vector<Tensor>{dx};
  });
  return out;
}

// q, k, v [B, H, T, D] on the GPU -> out [B, H, T, D].
Tensor cuda_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double dropout_p, bool training,
                      Generator* gen) {
  const int64_t heads = q.size(0) * q.size(1), D = q.size(3);
  // the seeds as the CPU path draws them: one per head, in order, only with dropout
  std::vector<uint64_t> seeds;
  if (training && dropout_p > 0) {
    Generator& rng = gen ? *gen : default_generator();
    for (int64_t h = 0; h < heads; ++h) seeds.push_back(rng.next_u64());
  }
  Tensor scores = matmul(q, transpose(k, 2, 3));  // [B, H, T, T]
  Tensor probs = cuda_attention_probs(scores, 1.0 / std::sqrt(static_cast<double>(D)), causal);
  if (!seeds.empty()) probs = cuda_head_dropout(probs, seeds, dropout_p);
  return matmul(probs, v);
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double dropout_p,
                                    bool training, Generator* gen) {
  OpScope scope("scaled_dot_product_attention", q, k, v);
  check(q.defined() && k.defined() && v.defined(), kOp, ": q, k or v is undefined");
  check(q.dim() == 4, kOp, ": q, k, v must be [B, H, T, D] (batch, heads, time, head size), got q of shape ",
        shape_str(q.shape()));
  check(k.shape() == q.shape() && v.shape() == q.shape(), kOp, ": q, k and v must have the same shape, got q ",
        shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()));
  check(k.dtype() == q.dtype() && v.dtype() == q.dtype(), kOp, ": q, k and v must have the same dtype, got ",
        dtype_name(q.dtype()), ", ", dtype_name(k.dtype()), ", ", dtype_name(v.dtype()));
  check(dropout_p >= 0 && dropout_p < 1, kOp, ": dropout_p must be in [0, 1), got ", dropout_p);
  const int64_t B = q.shape()[0], H = q.shape()[1], T = q.shape()[2], D = q.shape()[3];
  if (is_cuda(q) || is_cuda(k) || is_cuda(v)) {
    check_devices_match(kOp, q, "q", k, "k");
    check_devices_match(kOp, q, "q", v, "v");
    if (q.numel() > 0) return cuda_attention(q, k, v, causal, dropout_p, training, gen);
  }
  return attention(kOp, {q, k, v}, Layout::separate(H, T, D), B, q.shape(), causal, dropout_p, training, gen);
}

Tensor self_attention(const Tensor& qkv, int64_t n_head, bool causal, double dropout_p, bool training,
                      Generator* gen) {
  OpScope scope("self_attention", qkv);
  constexpr const char* op = "self_attention";
  check(qkv.defined(), op, ": qkv is undefined");
  check(n_head > 0, op, ": n_head must be positive, got ", n_head);
  check(qkv.dim() == 3 && qkv.size(2) % (3 * n_head) == 0, op,
        ": qkv must be [B, T, 3 C] with C a multiple of n_head = ", n_head, " (q, k, v of every head side by side), got ",
        shape_str(qkv.shape()));
  check(is_floating(qkv.dtype()), op, ": expected a float32 or float64 tensor, got ", dtype_name(qkv.dtype()));
  check(dropout_p >= 0 && dropout_p < 1, op, ": dropout_p must be in [0, 1), got ", dropout_p);
  const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3, D = C / n_head;
  if (is_cuda(qkv) && qkv.numel() > 0) {
    // [B, T, 3C] -> [B, T, 3, H, D] -> [3, B, H, T, D]: q, k, v as [B, H, T, D] each (slices of dim 0 are views)
    Tensor heads = permute(qkv.reshape({B, T, 3, n_head, D}), {2, 0, 3, 1, 4});
    auto part = [&](int64_t i) { return slice(heads, 0, i, i + 1).reshape({B, n_head, T, D}); };
    Tensor out = cuda_attention(part(0), part(1), part(2), causal, dropout_p, training, gen);
    return permute(out, {0, 2, 1, 3}).reshape({B, T, C});  // [B, H, T, D] -> [B, T, H, D] -> [B, T, C]
  }
  return attention(op, {qkv}, Layout::packed_qkv(n_head, T, D), B, {B, T, C}, causal, dropout_p, training, gen);
}

}  // namespace ember
