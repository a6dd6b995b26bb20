// The model and its optimiser from the settings, and what they will cost in memory.
//
// The GPT itself is layers/gpt.h (its README section: lessons/chargpt/README.md, "The model, part
// by part"). Its parameters, for V characters, C = n_embd, T = block_size, L = n_layer:
//   wte [V, C] (also the output layer), wpe [T, C], and per block about 12 C^2:
//   c_attn [C, 3C], c_proj [C, C], c_fc [C, 4C], c_proj [4C, C]
#include <unistd.h>

#include <cstdio>

#include "lessons/chargpt/lesson.h"

namespace ember::chargpt {

GPTConfig model_config(const Config& cfg, int64_t vocab_size) {
  GPTConfig mc;
  mc.vocab_size = vocab_size;
  mc.block_size = cfg.get_int("block_size");
  mc.n_layer = cfg.get_int("n_layer");
  mc.n_head = cfg.get_int("n_head");
  mc.n_embd = cfg.get_int("n_embd");
  mc.dropout = cfg.get_float("dropout");
  mc.bias = cfg.get_bool("bias");
  return mc;
}

std::unique_ptr<AdamW> build_optimizer(const Config& cfg, const GPT& model) {
  return std::make_unique<AdamW>(param_groups_no_decay_for_1d(model.named_parameters(), cfg.get_float("weight_decay")),
                                 AdamWOptions{.lr = cfg.get_float("learning_rate"),
                                              .beta1 = cfg.get_float("beta1"),
                                              .beta2 = cfg.get_float("beta2"),
                                              .weight_decay = cfg.get_float("weight_decay")});
}

// ---- memory ------------------------------------------------------------------------------------------

MemoryEstimate estimate_memory(const Config& cfg, int64_t vocab_size) {
  // in double: the settings this guards against (n_embd = 10^6) overflow any integer product
  const double V = static_cast<double>(vocab_size), C = static_cast<double>(cfg.get_int("n_embd"));
  const double T = static_cast<double>(cfg.get_int("block_size")), L = static_cast<double>(cfg.get_int("n_layer"));
  const double B = static_cast<double>(cfg.get_int("batch_size")), H = static_cast<double>(cfg.get_int("n_head"));
  const double params = V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;  // with biases: an upper bound
  // Kept for the backward, per block and position: about 16 C floats (the LayerNorms, q k v, the
  // attention output, the MLP's 4C twice, the residual stream) and each head's row of attention
  // probabilities, T of them, with its dropout; then the logits [B, T, V] and their softmax.
  const double activations = B * T * (L * (16 * C + 2 * H * T) + 3 * C + 2 * V);
  return {.parameter_bytes = 16 * params, .activation_bytes = 4 * activations};
}

namespace {

double machine_memory_bytes() {
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

std::string format_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.3g %s", bytes, units[unit]);
  return text;
}

}  // namespace

void check_memory(const Config& cfg, int64_t vocab_size) {
  const MemoryEstimate need = estimate_memory(cfg, vocab_size);
  const double have = machine_memory_bytes();
  if (need.total() <= have) return;
  // the culprit: the size setting furthest above its default
  Config defaults;
  add_settings(defaults);
  std::string culprit;
  double worst_ratio = 0;
  for (const char* key : {"n_layer", "n_embd", "n_head", "block_size", "batch_size"}) {
    const double ratio = static_cast<double>(cfg.get_int(key)) / static_cast<double>(defaults.get_int(key));
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      culprit = key;
    }
  }
  fail("chargpt: --", culprit, "=", cfg.get_int(culprit), " (default ", defaults.get_int(culprit),
       ") is too large: with n_layer ", cfg.get_int("n_layer"), ", n_embd ", cfg.get_int("n_embd"), ", n_head ",
       cfg.get_int("n_head"), ", block_size ", cfg.get_int("block_size"), " and batch_size ",
       cfg.get_int("batch_size"), " training needs about ", format_bytes(need.total()),
       " (parameters with their gradients and AdamW moments ", format_bytes(need.parameter_bytes),
       ", activations of one micro-batch ", format_bytes(need.activation_bytes), "), more than this machine's ",
       format_bytes(have), " of memory: lower --", culprit,
       culprit == "batch_size" ? " (gradient_accumulation_steps trains on as many windows per iteration in smaller "
                                 "micro-batches)"
                               : "");
}

}  // namespace ember::chargpt
