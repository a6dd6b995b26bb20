#pragma once
// The character-level transformer lesson (nanoGPT's "baby GPT"), as functions that main.cpp and
// the tests call. The model itself is layers/gpt.h; this file is the training run around it:
// settings, data, the loop, evaluation, checkpoints, sampling.
//
//   Config cfg;
//   chargpt::add_keys(cfg);                      // every setting, with its default and help
//   cfg.apply_args({"--config=lessons/chargpt/configs/cpu.conf", "--max_iters=100"});
//   chargpt::TrainResult r = chargpt::train(cfg, std::cout);
//   chargpt::sample(cfg, std::cout);             // reads the checkpoint in cfg's out_dir
//
// What a run leaves in out_dir:
//   ckpt.safetensors   the latest state (model, AdamW state, step, RNG state, config, history):
//                      --init_from=resume continues from it exactly, bit for bit
//   best.safetensors   the same, from the evaluation with the lowest val loss (sampling uses it)
//   vocab.txt          the characters, one per line as U+XXXX (the token id is the line's place)
//   config.conf        every setting of the run, as a config file
//   history.csv        iter, train_loss, val_loss, lr at every evaluation
//   curves.png         train and val loss against iterations
//   metrics.json       iters, train_loss, val_loss, best_val_loss, tokens_per_second, params, ...
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "lessons/common/config.h"

namespace ember::chargpt {

// Registers every key of the lesson (nanoGPT's names: batch_size, block_size, n_layer, ...).
void add_keys(Config& cfg);

// The text to train on and where it came from: --data=FILE if given, else data/<dataset>/input.txt
// if `dataset` is set and that file exists, else the default corpus (Debian's fortunes). When
// `dataset` names a file that is missing, says on `log` where to put it.
struct Corpus {
  std::string text;    // UTF-8
  std::string source;  // a file name, or a description of the default corpus
};
Corpus load_training_text(const Config& cfg, std::ostream& log);

struct HistoryRow {
  int64_t iter = 0;
  double train_loss = 0, val_loss = 0, lr = 0;
};

struct TrainResult {
  int64_t iters = 0;              // the iteration the run stopped at (= max_iters)
  double train_loss = 0;          // at the last evaluation
  double val_loss = 0;            // at the last evaluation
  double best_val_loss = 0;       // the lowest val loss of any evaluation
  double tokens_per_second = 0;   // training throughput (forward, backward, update), without evaluations
  int64_t params = 0;             // trainable parameters (the tied embedding counted once)
  std::vector<HistoryRow> history;
  std::vector<double> iter_losses;  // the training loss of every iteration this process ran
};

// Trains (or with init_from = 'resume', continues training) as the settings say, printing progress
// on `log`, and writes the files listed at the top of this file.
TrainResult train(const Config& cfg, std::ostream& log);

// Loads out_dir's best checkpoint and generates num_samples texts of max_new_tokens characters
// after `start`, each printed on `out` followed by a line of dashes. A start text with a character
// the model has never seen is an error naming it. The same seed gives the same texts.
std::vector<std::string> sample(const Config& cfg, std::ostream& out);

// The whole program: --sample selects sampling, otherwise training. Returns the exit code; errors
// are printed on `err`.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ember::chargpt
