#pragma once
// The character-level transformer lesson (nanoGPT's "baby GPT"), one concern per file; main.cpp
// tells the story in order. The model itself is layers/gpt.h.
//
//   settings.cpp    every --key with its default, meaning and allowed range; the program (run)
//   data.cpp        the text to train on; its vocabulary checked against a checkpoint's
//   model.cpp       the GPT and AdamW from the settings; how much memory they will need
//   train.cpp       the training loop: learning-rate schedule, gradient accumulation and
//                   clipping, evaluation, checkpoints, resuming
//   checkpoint.cpp  what a checkpoint carries besides tensors (settings, vocabulary, history)
//   report.cpp      the progress lines, history.csv, curves.png, metrics.json
//   sample.cpp      text from a trained checkpoint
//
//   Config cfg;
//   chargpt::add_settings(cfg);                  // every setting, with its default and help
//   cfg.apply_args({"--config=lessons/chargpt/configs/cpu.conf", "--max_iters=100"});
//   chargpt::TrainResult r = chargpt::train(cfg, std::cout);
//   chargpt::sample(cfg, std::cout);             // reads the checkpoint in cfg's out_dir
//
// What a run leaves in out_dir:
//   ckpt.safetensors   the latest state (model, AdamW state, step, RNG state, settings, vocabulary,
//                      history): --init_from=resume continues from it exactly, bit for bit
//   best.safetensors   the same, from the evaluation with the lowest val loss (sampling uses it)
//   vocab.txt          the characters, one per line as U+XXXX (the token id is the line's place)
//   config.conf        every setting of the run, as a config file
//   history.csv        iter, train_loss, val_loss, lr at every evaluation
//   curves.png         train and val loss against iterations
//   metrics.json       iters, train_loss, val_loss, best_val_loss, tokens_per_second, params, ...
//   .lock              held while a run trains there (lessons/common/run_lock.h)
//
// Shapes: B = batch_size windows, T = block_size characters, C = n_embd, V = vocabulary size.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "datasets/text.h"
#include "layers/gpt.h"
#include "lessons/common/config.h"
#include "optim/adam.h"

namespace ember::chargpt {

// ---- settings.cpp ----------------------------------------------------------------------------------
// Registers every key of the lesson (nanoGPT's names: batch_size, block_size, n_layer, ...).
void add_settings(Config& cfg);
// Throws, naming the key and its allowed range, when a value is out of range (--num_samples=-1,
// --dropout=1.5, --n_embd=100 with --n_head=3).
void check_settings(const Config& cfg);
// `cfg` with the keys that fix the model's shape (n_layer, n_head, n_embd, block_size, bias) taken
// from `saved` (a checkpoint's settings), saying so on `log` where they differ.
Config with_model_settings_of(const Config& cfg, const Config& saved, std::ostream& log);
// The whole program: --sample selects sampling, otherwise training. Returns the exit code; errors
// are printed on `err`.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// ---- data.cpp ----------------------------------------------------------------------------------------
// The text to train on and where it came from: --data=FILE if given, else data/<dataset>/input.txt
// if `dataset` is set and that file exists, else the default corpus (Debian's fortunes). When
// `dataset` names a file that is missing, says on `log` where to put it.
struct Corpus {
  std::string text;    // UTF-8
  std::string source;  // a file name, or a description of the default corpus
};
Corpus load_training_text(const Config& cfg, std::ostream& log);

// Throws when a checkpoint's vocabulary (read from checkpoint_path) is not the text's (from
// text_source): the token ids would mean other characters. The message names both and the
// characters that only one of them has.
void check_same_vocab(const Vocab& checkpoint_vocab, const std::string& checkpoint_path, const Vocab& text_vocab,
                      const std::string& text_source);

// ---- model.cpp ---------------------------------------------------------------------------------------
GPTConfig model_config(const Config& cfg, int64_t vocab_size);
// AdamW with weight decay on the 2-D weights only (not on biases and LayerNorm).
std::unique_ptr<AdamW> build_optimizer(const Config& cfg, const GPT& model);

// What training the settings' model needs in memory, estimated from the settings alone.
struct MemoryEstimate {
  double parameter_bytes = 0;   // weights, gradients and AdamW's two moments: 16 bytes a parameter
  double activation_bytes = 0;  // what one micro-batch's forward keeps for the backward
  double total() const { return parameter_bytes + activation_bytes; }
};
MemoryEstimate estimate_memory(const Config& cfg, int64_t vocab_size);
// Throws when the estimate exceeds the machine's memory, naming the setting furthest above its
// default (--n_layer=1000000) before anything is allocated.
void check_memory(const Config& cfg, int64_t vocab_size);

// ---- train.cpp ---------------------------------------------------------------------------------------
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
// on `log`, and writes the files listed at the top of this file. Another run training in the same
// out_dir, or a loss that stops being finite (a learning rate far too high), stops it with an error.
TrainResult train(const Config& cfg, std::ostream& log);

// ---- checkpoint.cpp ----------------------------------------------------------------------------------
inline constexpr const char* kLatestCheckpoint = "ckpt.safetensors";
inline constexpr const char* kBestCheckpoint = "best.safetensors";

// What a checkpoint carries besides the tensors, the step and the RNG state (its metadata).
struct RunRecord {
  Config settings;                  // every setting of the run
  Vocab vocab;                      // token id -> character
  double best_val_loss = 0;
  std::vector<HistoryRow> history;  // every evaluation so far
};
Metadata checkpoint_metadata(const RunRecord& record);
// Reads the metadata of the checkpoint at `path` back. A checkpoint written before the vocabulary
// was stored in it takes out_dir's vocab.txt, if its size is the one the checkpoint recorded.
RunRecord read_run_record(const Metadata& metadata, const std::string& path);

// ---- report.cpp --------------------------------------------------------------------------------------
// "12,345"
std::string with_commas(double value);
// The two lines a run starts with: parameters, characters, tokens; the model's and batch's sizes.
void print_run_header(std::ostream& log, const Config& cfg, int64_t params, int64_t vocab_size,
                      const TextDataset& data, const std::string& source);
// "iter 1200/2000  loss 2.059  lr 0.00044  4,278 tok/s  ETA 2:41"
void print_progress(std::ostream& log, int64_t iter, int64_t max_iters, double loss, double lr,
                    double tokens_per_second, double eta_seconds);
void save_curves(const std::string& path, const std::vector<HistoryRow>& history);
void save_metrics(const std::string& path, const TrainResult& result, int64_t vocab_size, int64_t tokens_per_iter,
                  double train_seconds, const std::string& source);

// ---- sample.cpp --------------------------------------------------------------------------------------
// Loads out_dir's best checkpoint and generates num_samples texts of max_new_tokens characters
// after `start`, each printed on `out` followed by a line of dashes. The characters are the
// checkpoint's own vocabulary. A start text with a character the model has never seen is an error
// naming it. The same seed gives the same texts.
std::vector<std::string> sample(const Config& cfg, std::ostream& out);

}  // namespace ember::chargpt
