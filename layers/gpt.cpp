// The baby GPT: shapes and the big picture are in layers/gpt.h; the heavy lifting is done by the
// ops (linear, layer_norm, scaled_dot_product_attention, gelu, embedding, cross_entropy), each of
// which has its backward next to its forward in core/ops/.
#include "layers/gpt.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/ops.h"
#include "core/random.h"
#include "layers/init.h"

namespace ember {

// ---- attention ---------------------------------------------------------------------------------

CausalSelfAttention::CausalSelfAttention(const GPTConfig& cfg, Generator* gen)
    : n_head_(cfg.n_head), n_embd_(cfg.n_embd), attn_dropout_(cfg.dropout), gen_(gen) {
  check(cfg.n_head > 0 && cfg.n_embd % cfg.n_head == 0, "CausalSelfAttention: n_embd ", cfg.n_embd,
        " must be a multiple of n_head ", cfg.n_head, " (each head gets n_embd / n_head features)");
  c_attn = register_module("c_attn", std::make_shared<Linear>(cfg.n_embd, 3 * cfg.n_embd, cfg.bias, gen));
  c_proj = register_module("c_proj", std::make_shared<Linear>(cfg.n_embd, cfg.n_embd, cfg.bias, gen));
  resid_dropout = register_module("resid_dropout", std::make_shared<Dropout>(cfg.dropout, gen));
}

std::string CausalSelfAttention::extra_repr() const {
  return "n_head=" + std::to_string(n_head_) + ", n_embd=" + std::to_string(n_embd_) +
         ", dropout=" + repr_number(attn_dropout_);
}

Tensor CausalSelfAttention::forward(const Tensor& x) {
  check(x.dim() == 3 && x.size(2) == n_embd_, "CausalSelfAttention: input must be [B, T, ", n_embd_, "], got ",
        shape_str(x.shape()));
  Tensor qkv = (*c_attn)(x);  // [B, T, 3C]: for each token, q of every head, then k, then v
  // Head h of token t: q = qkv[b, t, hD : hD+D], k = the same columns + C, v = + 2C. For every
  // head: softmax(q k^T / sqrt(D), future masked) (dropout) v, with its own hand-written backward.
  // self_attention reads the heads where they are; the same with copies would be
  //   heads = qkv.reshape({B, T, 3, H, D}).permute({2, 0, 3, 1, 4})   [3, B, H, T, D]
  //   y = scaled_dot_product_attention(q = heads[0], k = heads[1], v = heads[2], causal)  [B, H, T, D]
  //   y = y.permute({0, 2, 1, 3}).reshape({B, T, C})
  // (tests/test_ops_attention.cpp checks that the two agree).
  Tensor y = self_attention(qkv, n_head_, /*causal=*/true, attn_dropout_, is_training(), gen_);  // [B, T, C]: heads side by side
  return (*resid_dropout)((*c_proj)(y));
}

// ---- MLP and block -----------------------------------------------------------------------------

MLP::MLP(const GPTConfig& cfg, Generator* gen) {
  c_fc = register_module("c_fc", std::make_shared<Linear>(cfg.n_embd, 4 * cfg.n_embd, cfg.bias, gen));
  c_proj = register_module("c_proj", std::make_shared<Linear>(4 * cfg.n_embd, cfg.n_embd, cfg.bias, gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(cfg.dropout, gen));
}

Tensor MLP::forward(const Tensor& x) { return (*dropout)((*c_proj)(gelu((*c_fc)(x)))); }

Block::Block(const GPTConfig& cfg, Generator* gen) {
  ln_1 = register_module("ln_1", std::make_shared<LayerNorm>(cfg.n_embd, 1e-5, true, cfg.bias));
  attn = register_module("attn", std::make_shared<CausalSelfAttention>(cfg, gen));
  ln_2 = register_module("ln_2", std::make_shared<LayerNorm>(cfg.n_embd, 1e-5, true, cfg.bias));
  mlp = register_module("mlp", std::make_shared<MLP>(cfg, gen));
}

Tensor Block::forward(const Tensor& x) {
  Tensor h = x + (*attn)((*ln_1)(x));
  return h + (*mlp)((*ln_2)(h));
}

// ---- the model ---------------------------------------------------------------------------------

GPT::GPT(const GPTConfig& cfg, Generator* gen) : config(cfg) {
  check(cfg.vocab_size > 0, "GPT: vocab_size must be positive, got ", cfg.vocab_size);
  check(cfg.block_size > 0 && cfg.n_layer > 0 && cfg.n_embd > 0, "GPT: block_size, n_layer and n_embd must be ",
        "positive, got ", cfg.block_size, ", ", cfg.n_layer, " and ", cfg.n_embd);
  wte = register_module("wte", std::make_shared<Embedding>(cfg.vocab_size, cfg.n_embd, gen));
  wpe = register_module("wpe", std::make_shared<Embedding>(cfg.block_size, cfg.n_embd, gen));
  drop = register_module("drop", std::make_shared<Dropout>(cfg.dropout, gen));
  for (int64_t i = 0; i < cfg.n_layer; ++i)
    blocks.push_back(register_module("h." + std::to_string(i), std::make_shared<Block>(cfg, gen)));
  ln_f = register_module("ln_f", std::make_shared<LayerNorm>(cfg.n_embd, 1e-5, true, cfg.bias));

  // nanoGPT's initialisation (it trains noticeably better here than the layers' own defaults).
  // Each block adds two residual branches (attn.c_proj, mlp.c_proj) into x; scaling those by
  // 1/sqrt(2 n_layer) keeps the variance of x at the top the same whatever the depth.
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(cfg.n_layer));
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (auto& [name, p] : named_parameters()) {
    if (name.find("ln_") != std::string::npos) continue;  // LayerNorm: weight 1, bias 0 already
    if (ends_with(name, ".bias")) zeros_(p);
    else if (ends_with(name, "c_proj.weight")) normal_(p, 0.0, residual_std, gen);
    else normal_(p, 0.0, 0.02, gen);  // c_attn, c_fc, wte, wpe
  }
}

std::string GPT::extra_repr() const {
  return "vocab_size=" + std::to_string(config.vocab_size) + ", block_size=" + std::to_string(config.block_size) +
         ", n_layer=" + std::to_string(config.n_layer) + ", n_head=" + std::to_string(config.n_head) +
         ", n_embd=" + std::to_string(config.n_embd);
}

Tensor GPT::features(const Tensor& idx) {
  check(idx.dtype() == DType::Int64 && idx.dim() == 2, "GPT: input must be int64 token ids [B, T], got ",
        dtype_name(idx.dtype()), " ", shape_str(idx.shape()));
  const int64_t T = idx.size(1);
  check(T >= 1 && T <= config.block_size, "GPT: sequence length ", T, " (input ", shape_str(idx.shape()),
        ") must be between 1 and block_size ", config.block_size);
  // 0, 1, ..., T-1, on the device of the ids (a model moved to the GPU gets GPU ids)
  Tensor pos = Tensor::arange(0, static_cast<double>(T), 1, DType::Int64).to(idx.device());
  Tensor x = (*drop)((*wte)(idx) + (*wpe)(pos));  // [B, T, C] + [T, C] (broadcast over the batch)
  for (auto& block : blocks) x = (*block)(x);
  return (*ln_f)(x);
}

Tensor GPT::forward(const Tensor& idx) {
  // Weight tying: the head scores each token by the dot product of the final features with that
  // token's embedding row, so wte.weight [V, C] is both the input table and the output layer
  // (one parameter, whose gradient gets both contributions).
  return linear(features(idx), wte->weight);  // [B, T, C] @ [V, C]^T -> [B, T, V]
}

Tensor GPT::loss(const Tensor& idx, const Tensor& targets) {
  check(targets.dtype() == DType::Int64 && targets.shape() == idx.shape(), "GPT::loss: targets must be int64 ",
        shape_str(idx.shape()), " like the input, got ", dtype_name(targets.dtype()), " ", shape_str(targets.shape()));
  Tensor logits = (*this)(idx);  // [B, T, V]
  const int64_t V = config.vocab_size;
  return cross_entropy(logits.reshape({-1, V}), targets.reshape({-1}));  // over all B * T positions
}

std::vector<int64_t> GPT::generate(const std::vector<int64_t>& start, int64_t max_new_tokens, double temperature,
                                   int64_t top_k, Generator& gen) {
  check(!start.empty(), "generate: the start sequence is empty (give at least one token)");
  check(temperature > 0, "generate: temperature must be positive, got ", temperature);
  check(max_new_tokens >= 0, "generate: max_new_tokens must be >= 0, got ", max_new_tokens);
  const int64_t V = config.vocab_size;
  for (int64_t id : start) check(id >= 0 && id < V, "generate: start token ", id, " is not in [0, ", V, ")");

  // eval mode (no dropout) and no graph; the mode comes back however this function ends
  struct RestoreMode {
    Module& m;
    bool was_training;
    ~RestoreMode() { m.train(was_training); }
  } restore{*this, is_training()};
  eval();
  NoGradGuard no_grad;

  std::vector<int64_t> ids = start;
  std::vector<double> probs(V);
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    const int64_t T = std::min<int64_t>(static_cast<int64_t>(ids.size()), config.block_size);
    std::vector<int64_t> context(ids.end() - T, ids.end());
    // only the last position predicts the next token: the head runs on that row alone
    const Device device = wte->weight.device();  // the model's: the GPU after Module::to(Device::CUDA)
    Tensor last = features(Tensor::from_vector(context, {1, T}).to(device)).slice(1, T - 1, T);  // [1, 1, C]
    Tensor logits = linear(last, wte->weight).reshape({V}).to(DType::Float64).cpu();
    const double* l = logits.data<double>();

    // top-k: every logit below the k-th largest gets probability 0 (ties with it stay in)
    double cutoff = -INFINITY;
    if (top_k > 0 && top_k < V) {
      std::vector<double> sorted(l, l + V);
      std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(), std::greater<double>());
      cutoff = sorted[top_k - 1];
    }
    // softmax(logits / temperature) over the survivors (unnormalised; the max is subtracted so
    // that exp cannot overflow)
    const double max_logit = *std::max_element(l, l + V);
    double total = 0;
    for (int64_t i = 0; i < V; ++i) {
      probs[i] = l[i] < cutoff ? 0.0 : std::exp((l[i] - max_logit) / temperature);
      total += probs[i];
    }
    check(std::isfinite(total) && total > 0, "generate: the model's logits are not finite (has training diverged?)");
    // draw u in [0, total) and walk the cumulative sum until it passes u
    const double u = gen.uniform() * total;
    double cumulative = 0;
    int64_t next = -1;
    for (int64_t i = 0; i < V; ++i) {
      if (probs[i] == 0) continue;
      next = i;  // also the answer if rounding leaves u just above the final sum
      cumulative += probs[i];
      if (u < cumulative) break;
    }
    ids.push_back(next);
  }
  return ids;
}

}  // namespace ember
