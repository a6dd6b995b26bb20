#pragma once
// A character-level GPT (nanoGPT's "baby GPT"): token + position embeddings, a stack of
// pre-LayerNorm transformer blocks, a final LayerNorm, and a language-model head that shares its
// weights with the token embedding.
//
// Shapes: B batch, T time (<= block_size), C = n_embd, H = n_head, D = C / H, V = vocab_size.
//
//   idx [B, T] int64 (token ids)
//   x = drop(wte(idx) + wpe(0..T-1))                   [B, T, C]   what each token is + where it is
//   for each block:  x = x + attn(ln_1(x))              [B, T, C]   tokens look at earlier tokens
//                    x = x + mlp(ln_2(x))               [B, T, C]   each token thinks on its own
//   logits = ln_f(x) @ wte.weight^T                     [B, T, V]   a score for every next token
//
// The residual stream x is only ever added to: each block reads a normalised copy (ln_1, ln_2)
// and adds what it found. That keeps gradients flowing straight back to the embeddings, which is
// why deep stacks of blocks train at all.
#include <memory>
#include <vector>

#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/layernorm.h"
#include "layers/linear.h"
#include "layers/module.h"

namespace ember {

class Generator;

// The defaults are the course's baby GPT; vocab_size comes from the text.
struct GPTConfig {
  int64_t vocab_size = 0;
  int64_t block_size = 256;  // the longest context, in tokens
  int64_t n_layer = 3;
  int64_t n_head = 3;
  int64_t n_embd = 192;
  double dropout = 0.2;
  // Biases in the Linear layers and LayerNorms. nanoGPT's train.py trains without them (bias =
  // False): a little faster and no worse.
  bool bias = false;
};

// Multi-head causal self-attention with one fused QKV projection.
//   x [B, T, C] -> c_attn -> qkv [B, T, 3C] -> q, k, v [B, H, T, D]
//   -> scaled_dot_product_attention (causal, attention dropout) -> [B, H, T, D]
//   -> heads side by side [B, T, C] -> c_proj -> resid_dropout -> [B, T, C]
// Each head h works on its own D = C / H features: H small attention patterns instead of one big.
class CausalSelfAttention : public Module {
 public:
  CausalSelfAttention(const GPTConfig& cfg, Generator* gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "CausalSelfAttention"; }
  std::string extra_repr() const override;  // "n_head=3, n_embd=192, dropout=0.2"

  std::shared_ptr<Linear> c_attn;  // C -> 3C: query, key and value of every head at once
  std::shared_ptr<Linear> c_proj;  // C -> C
  std::shared_ptr<Dropout> resid_dropout;

 private:
  int64_t n_head_, n_embd_;
  double attn_dropout_;  // dropout on the attention probabilities, inside the fused op
  Generator* gen_;       // its masks (nullptr: the default generator)
};

// The feed-forward part of a block, applied to every position on its own:
//   x [B, T, C] -> c_fc -> [B, T, 4C] -> GELU (exact erf form) -> c_proj -> [B, T, C] -> dropout
class MLP : public Module {
 public:
  MLP(const GPTConfig& cfg, Generator* gen);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MLP"; }

  std::shared_ptr<Linear> c_fc, c_proj;
  std::shared_ptr<Dropout> dropout;
};

// One transformer block, pre-LayerNorm:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
class Block : public Module {
 public:
  Block(const GPTConfig& cfg, Generator* gen);
  Tensor forward(const Tensor& x) override;  // [B, T, C] -> [B, T, C]
  std::string type_name() const override { return "Block"; }

  std::shared_ptr<LayerNorm> ln_1, ln_2;
  std::shared_ptr<CausalSelfAttention> attn;
  std::shared_ptr<MLP> mlp;
};

class GPT : public Module {
 public:
  // Weights as nanoGPT initialises them: N(0, 0.02) for every Linear and Embedding, with the
  // residual projections (c_proj) N(0, 0.02 / sqrt(2 n_layer)) so that the sum of 2 n_layer
  // residual branches starts small; biases 0; LayerNorm weight 1, bias 0. Drawn from `gen`, which
  // the dropout layers then use for their masks (nullptr: the default generator). `gen` must
  // outlive the model.
  explicit GPT(const GPTConfig& cfg, Generator* gen = nullptr);

  // idx [B, T] int64 -> logits [B, T, V]
  Tensor forward(const Tensor& idx) override;
  // The mean cross-entropy of predicting targets [B, T] (the next token at each position) from
  // idx [B, T]: what training minimises. A model that knows nothing scores log(V).
  Tensor loss(const Tensor& idx, const Tensor& targets);

  std::string type_name() const override { return "GPT"; }
  std::string extra_repr() const override;

  // Generates max_new_tokens ids after `start` (at least one id), one at a time, each sampled
  // from softmax(logits / temperature) restricted to the top_k most likely tokens (top_k <= 0 or
  // >= V: all of them). The context is cropped to the last block_size ids. Runs in eval mode
  // without a graph and restores the mode afterwards. Returns start followed by the new ids.
  // Low temperature: safer, more repetitive text; high: more surprising, more mistakes.
  std::vector<int64_t> generate(const std::vector<int64_t>& start, int64_t max_new_tokens, double temperature,
                                int64_t top_k, Generator& gen);

  const GPTConfig config;
  std::shared_ptr<Embedding> wte;  // token embedding [V, C]; also the output layer (weight tying)
  std::shared_ptr<Embedding> wpe;  // position embedding [block_size, C]
  std::shared_ptr<Dropout> drop;
  std::vector<std::shared_ptr<Block>> blocks;  // registered as "h.0", "h.1", ...
  std::shared_ptr<LayerNorm> ln_f;

 private:
  // Everything but the head: idx [B, T] -> ln_f(x) [B, T, C]
  Tensor features(const Tensor& idx);
};

}  // namespace ember
