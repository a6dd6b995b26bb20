// Every setting of the chargpt lesson, nanoGPT's names and defaults (the course's configuration is
// configs/train_hca.conf; configs/cpu.conf trains in minutes on 2 cores), each with the range it
// must lie in; and the program that reads them and runs training or sampling.
#include <cmath>
#include <iostream>
#include <limits>

#include "lessons/chargpt/lesson.h"
#include "lessons/common/device.h"

namespace ember::chargpt {

void add_settings(Config& cfg) {
  // where things go
  cfg.add_string("out_dir", "runs/chargpt", "folder for checkpoints, vocab.txt, history.csv, curves.png, metrics.json");
  cfg.add_string("graph", "", "FILE.dot: write the first training step's autograd graph there (and FILE.png/.svg "
                 "when Graphviz's dot is installed)");
  cfg.add_string("init_from", "scratch",
                 "'scratch' (a new model) or 'resume' (continue from out_dir/ckpt.safetensors)");
  cfg.add_int("eval_interval", 250, "evaluate (and save checkpoints) every this many iterations");
  cfg.add_int("eval_iters", 20, "batches per split for each loss estimate");
  cfg.add_int("log_interval", 10, "print a progress line every this many iterations");
  // data
  cfg.add_string("dataset", "", "NAME: train on data/NAME/input.txt (empty: the default corpus, Debian's fortunes)");
  cfg.add_string("data", "", "a UTF-8 text file to train on (overrides dataset)");
  cfg.add_int("gradient_accumulation_steps", 1, "micro-batches per iteration (their gradients add up)");
  cfg.add_int("batch_size", 64, "windows of text per micro-batch");
  cfg.add_int("block_size", 256, "context length in characters");
  // model
  cfg.add_int("n_layer", 3, "transformer blocks");
  cfg.add_int("n_head", 3, "attention heads per block");
  cfg.add_int("n_embd", 192, "embedding width (a multiple of n_head)");
  cfg.add_float("dropout", 0.2, "dropout probability in training");
  cfg.add_bool("bias", false, "biases in the Linear and LayerNorm layers");
  // optimiser and schedule
  cfg.add_float("learning_rate", 1e-3, "peak learning rate");
  cfg.add_int("max_iters", 5000, "training iterations");
  cfg.add_float("weight_decay", 0.1, "AdamW weight decay on the 2-D weights (not on biases and LayerNorm)");
  cfg.add_float("beta1", 0.9, "AdamW beta1");
  cfg.add_float("beta2", 0.99, "AdamW beta2");
  cfg.add_float("grad_clip", 1.0, "clip the gradients' global norm to this (0: no clipping)");
  cfg.add_bool("decay_lr", true, "warmup and cosine decay (False: learning_rate throughout)");
  cfg.add_int("warmup_iters", 100, "iterations of linear warmup");
  cfg.add_int("lr_decay_iters", 5000, "iteration at which the cosine reaches min_lr");
  cfg.add_float("min_lr", 1e-4, "the learning rate at the end of the decay");
  // the run
  cfg.add_int("seed", 1337, "seed of the initialisation, the batches and dropout (and of sampling)");
  cfg.add_int("threads", 0, "threads to use (0: EMBER_NUM_THREADS, else OMP_NUM_THREADS, else all cores)");
  cfg.add_string("device", "cpu", "cpu, cuda (the GPU: an error without one) or auto (the GPU when there is one)");
  // sampling
  cfg.add_bool("sample", false, "sample from out_dir's checkpoint instead of training");
  cfg.add_string("start", "\n", "the text the samples continue");
  cfg.add_int("num_samples", 10, "how many samples");
  cfg.add_int("max_new_tokens", 500, "characters per sample");
  cfg.add_float("temperature", 0.8, "< 1: safer text, > 1: wilder text");
  cfg.add_int("top_k", 200, "sample only among the k most likely characters (0: all)");
}

namespace {

// The largest value any integer key may take; the model's size keys are bounded more tightly by
// check_memory (model.cpp), which knows what they cost together.
constexpr int64_t kIntMax = int64_t{1} << 40;

void check_int(const Config& cfg, const std::string& key, int64_t low, int64_t high = kIntMax) {
  const int64_t value = cfg.get_int(key);
  if (value >= low && value <= high) return;
  if (high == kIntMax && value < low) fail("chargpt: --", key, " must be at least ", low, ", got ", value);
  fail("chargpt: --", key, " must be in [", low, ", ", high, "], got ", value);
}

// `low_open`: the range excludes `low` itself, as (0, 1] excludes 0.
void check_float(const Config& cfg, const std::string& key, double low, bool low_open, double high, bool high_open) {
  const double value = cfg.get_float(key);
  const bool above = low_open ? value > low : value >= low;
  const bool below = std::isinf(high) ? std::isfinite(value) : (high_open ? value < high : value <= high);
  if (above && below) return;
  const char* close = high_open || std::isinf(high) ? ")" : "]";
  fail("chargpt: --", key, " must be in ", low_open ? "(" : "[", low, ", ", high, close, ", got ", value);
}

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

void check_settings(const Config& cfg) {
  const std::string& init_from = cfg.get_string("init_from");
  check(init_from == "scratch" || init_from == "resume", "chargpt: --init_from must be 'scratch' or 'resume', got '",
        init_from, "'");
  // the model
  for (const char* key : {"n_layer", "n_head", "n_embd", "block_size"}) check_int(cfg, key, 1);
  check(cfg.get_int("n_embd") % cfg.get_int("n_head") == 0, "chargpt: --n_embd (", cfg.get_int("n_embd"),
        ") must be a multiple of --n_head (", cfg.get_int("n_head"), "): each head gets n_embd / n_head features");
  check_float(cfg, "dropout", 0, false, 1, true);
  // the data and the loop
  for (const char* key : {"batch_size", "gradient_accumulation_steps", "eval_interval", "eval_iters", "log_interval"})
    check_int(cfg, key, 1);
  for (const char* key : {"max_iters", "warmup_iters", "lr_decay_iters", "seed"}) check_int(cfg, key, 0);
  check_int(cfg, "threads", 0, 1024);
  check(is_device_setting(cfg.get_string("device")), "chargpt: --device must be cpu, cuda or auto, got \"",
        cfg.get_string("device"), "\"");
  // the optimiser
  check_float(cfg, "learning_rate", 0, true, kInf, false);
  check_float(cfg, "min_lr", 0, false, kInf, false);
  check_float(cfg, "weight_decay", 0, false, kInf, false);
  check_float(cfg, "beta1", 0, false, 1, true);
  check_float(cfg, "beta2", 0, false, 1, true);
  check_float(cfg, "grad_clip", 0, false, kInf, false);
  // sampling
  check_int(cfg, "num_samples", 1);
  check_int(cfg, "max_new_tokens", 1);
  check_int(cfg, "top_k", 0);
  check_float(cfg, "temperature", 0, true, kInf, false);
}

Config with_model_settings_of(const Config& cfg, const Config& saved, std::ostream& log) {
  Config result = cfg;
  for (const char* key : {"n_layer", "n_head", "n_embd", "block_size"}) {
    if (cfg.get_int(key) != saved.get_int(key))
      log << "note: " << key << " = " << saved.get_int(key) << " from the checkpoint (the settings say "
          << cfg.get_int(key) << ")\n";
    result.set(key, std::to_string(saved.get_int(key)), "the checkpoint");
  }
  if (cfg.get_bool("bias") != saved.get_bool("bias"))
    log << "note: bias = " << (saved.get_bool("bias") ? "True" : "False") << " from the checkpoint\n";
  result.set("bias", saved.get_bool("bias") ? "True" : "False", "the checkpoint");
  return result;
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Config cfg;
  add_settings(cfg);
  try {
    if (!cfg.apply_args(args)) {
      out << cfg.help_text("./run.sh chargpt");
      return 0;
    }
    if (cfg.get_bool("sample")) sample(cfg, out);
    else train(cfg, out);
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ember::chargpt
