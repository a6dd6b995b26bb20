// The baby GPT lesson: train a character-level transformer on a text, then sample from it.
// The public functions are described in lessons/chargpt/chargpt.h; the loop is train() below.
//
// One training iteration (nanoGPT's):
//   lr = warmup + cosine schedule(iter)
//   for each of gradient_accumulation_steps micro-batches:
//     x, y = batch_size random windows of block_size characters, y = x shifted by one  [B, T]
//     loss = cross_entropy(model(x), y) / gradient_accumulation_steps
//     loss.backward()                           (gradients add up over the micro-batches)
//   clip the gradients' global norm to grad_clip
//   AdamW step (weight decay only on the 2-D weights), zero the gradients
// and every eval_interval iterations: the mean loss over eval_iters batches of each split (eval
// mode, no graph), a row of history.csv, the checkpoints.
#include "lessons/chargpt/chargpt.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "datasets/text.h"
#include "layers/gpt.h"
#include "lessons/common/csv.h"
#include "core/fs.h"
#include "lessons/common/json.h"
#include "lessons/common/number_format.h"
#include "lessons/common/plot.h"
#include "lessons/common/progress.h"
#include "optim/adam.h"
#include "optim/checkpoint.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"

namespace ember::chargpt {

namespace {

constexpr const char* kLatestCheckpoint = "ckpt.safetensors";
constexpr const char* kBestCheckpoint = "best.safetensors";

// The keys that fix the model's shape: a resumed run or a sampler takes them from the checkpoint.
const std::vector<std::string> kModelIntKeys = {"n_layer", "n_head", "n_embd", "block_size"};
const std::vector<std::string> kModelBoolKeys = {"bias"};

std::string in_dir(const std::string& dir, const std::string& name) { return dir + "/" + name; }

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

NamedTensors named(const StateDict& state) { return NamedTensors(state.begin(), state.end()); }

// ---- what a checkpoint carries besides tensors (its metadata, all strings) ----------------------

// history as text, one "iter,train_loss,val_loss,lr" per line, numbers that read back exactly
std::string history_text(const std::vector<HistoryRow>& history) {
  std::string text;
  for (const HistoryRow& r : history)
    text += std::to_string(r.iter) + "," + format_shortest(r.train_loss) + "," + format_shortest(r.val_loss) + "," +
            format_shortest(r.lr) + "\n";
  return text;
}

std::vector<HistoryRow> parse_history(const std::string& text, const std::string& path) {
  std::vector<HistoryRow> history;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    HistoryRow r;
    char c1 = 0, c2 = 0, c3 = 0;
    std::istringstream fields(line);
    fields >> r.iter >> c1 >> r.train_loss >> c2 >> r.val_loss >> c3 >> r.lr;
    check(!fields.fail() && c1 == ',' && c2 == ',' && c3 == ',', "chargpt: ", path,
          ": the \"history\" metadata has a bad line \"", line, "\"");
    history.push_back(r);
  }
  return history;
}

const std::string& metadata(const Metadata& extra, const std::string& key, const std::string& path) {
  auto it = extra.find(key);
  check(it != extra.end(), "chargpt: ", path, " has no \"", key, "\" in its metadata (not a chargpt checkpoint?)");
  return it->second;
}

// The settings a checkpoint was trained with (its "config" metadata, a config file's text).
Config saved_config(const Metadata& extra, const std::string& path) {
  Config saved;
  add_keys(saved);
  saved.parse_text(metadata(extra, "config", path), path + " (metadata \"config\")");
  return saved;
}

// `cfg` with the model's shape taken from `saved`, saying so on `log` where they differ.
Config with_model_keys_of(const Config& cfg, const Config& saved, std::ostream& log) {
  Config result = cfg;
  for (const std::string& key : kModelIntKeys) {
    if (cfg.get_int(key) != saved.get_int(key))
      log << "note: " << key << " = " << saved.get_int(key) << " from the checkpoint (the settings say "
          << cfg.get_int(key) << ")\n";
    result.set(key, std::to_string(saved.get_int(key)), "the checkpoint");
  }
  for (const std::string& key : kModelBoolKeys) {
    if (cfg.get_bool(key) != saved.get_bool(key))
      log << "note: " << key << " = " << (saved.get_bool(key) ? "True" : "False") << " from the checkpoint\n";
    result.set(key, saved.get_bool(key) ? "True" : "False", "the checkpoint");
  }
  return result;
}

// ---- evaluation --------------------------------------------------------------------------------

struct Losses {
  double train = 0, val = 0;
};

// The mean loss over eval_iters batches of each split, in eval mode (no dropout) and without a
// graph. The batches come from a generator seeded afresh each time, so every evaluation sees the
// same windows (the curve shows the model changing, not the batches) and evaluating never moves
// the training generator (a resumed run draws exactly the batches an uninterrupted one would).
Losses estimate_loss(GPT& model, const TextDataset& data, const Config& cfg) {
  const int64_t batch_size = cfg.get_int("batch_size"), block_size = cfg.get_int("block_size");
  const int64_t eval_iters = cfg.get_int("eval_iters");
  NoGradGuard no_grad;
  model.eval();
  Losses losses;
  for (Split split : {Split::Train, Split::Val}) {
    Generator eval_gen(static_cast<uint64_t>(cfg.get_int("seed")) + 1);
    double sum = 0;
    for (int64_t i = 0; i < eval_iters; ++i) {
      TextBatch b = data.get_batch(split, batch_size, block_size, eval_gen);
      sum += model.loss(b.x, b.y).item();
    }
    (split == Split::Train ? losses.train : losses.val) = sum / static_cast<double>(eval_iters);
  }
  model.train();
  return losses;
}

void save_curves(const std::string& path, const std::vector<HistoryRow>& history) {
  std::vector<double> iters, train, val;
  for (const HistoryRow& r : history) {
    iters.push_back(static_cast<double>(r.iter));
    train.push_back(r.train_loss);
    val.push_back(r.val_loss);
  }
  LinePlot plot("character-level GPT", "iteration", "cross-entropy loss");
  plot.add_series("train", iters, train).add_series("val", iters, val);
  plot.save(path);
}

// "12,345"
std::string with_commas(double value) {
  const int64_t n = std::llround(value);
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string text = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

void check_settings(const Config& cfg) {
  for (const char* key : {"batch_size", "block_size", "n_layer", "n_head", "n_embd", "eval_interval", "eval_iters",
                          "log_interval", "gradient_accumulation_steps"})
    check(cfg.get_int(key) > 0, "chargpt: ", key, " must be positive, got ", cfg.get_int(key));
  check(cfg.get_int("max_iters") >= 0, "chargpt: max_iters must be >= 0, got ", cfg.get_int("max_iters"));
  const std::string& init_from = cfg.get_string("init_from");
  check(init_from == "scratch" || init_from == "resume", "chargpt: init_from must be 'scratch' or 'resume', got '",
        init_from, "'");
}

}  // namespace

// ---- settings ------------------------------------------------------------------------------------

void add_keys(Config& cfg) {
  // where things go
  cfg.add_string("out_dir", "runs/chargpt", "folder for checkpoints, vocab.txt, history.csv, curves.png, metrics.json");
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
  // sampling
  cfg.add_bool("sample", false, "sample from out_dir's checkpoint instead of training");
  cfg.add_string("start", "\n", "the text the samples continue");
  cfg.add_int("num_samples", 10, "how many samples");
  cfg.add_int("max_new_tokens", 500, "characters per sample");
  cfg.add_float("temperature", 0.8, "< 1: safer text, > 1: wilder text");
  cfg.add_int("top_k", 200, "sample only among the k most likely characters (0: all)");
}

// ---- data ----------------------------------------------------------------------------------------

Corpus load_training_text(const Config& cfg, std::ostream& log) {
  const std::string& data = cfg.get_string("data");
  if (!data.empty()) {
    check(file_exists(data), "chargpt: --data=", data, ": file not found");
    return {read_file(data), data};
  }
  const std::string& dataset = cfg.get_string("dataset");
  if (!dataset.empty()) {
    const std::string path = "data/" + dataset + "/input.txt";  // as nanoGPT: data/NAME/...
    if (file_exists(path)) return {read_file(path), path};
    log << "dataset = '" << dataset << "' means the text file " << std::filesystem::absolute(path).string()
        << ", which is not there.\n"
        << "  Put a UTF-8 text file there (for the course's 'hca': H.C. Andersen's tales, from your teacher),\n"
        << "  or train on any text file with --data=FILE.\n"
        << "  Training on the default corpus instead: Debian's fortunes (" << kFortunesDir << ").\n";
  }
  return {default_corpus(), std::string("the default corpus (Debian's fortunes, ") + kFortunesDir + ")"};
}

// ---- training ------------------------------------------------------------------------------------

TrainResult train(const Config& settings, std::ostream& log) {
  using Clock = std::chrono::steady_clock;
  check_settings(settings);
  if (settings.get_int("threads") > 0) set_num_threads(static_cast<int>(settings.get_int("threads")));
  const std::string out_dir = settings.get_string("out_dir");
  const bool resume = settings.get_string("init_from") == "resume";
  const std::string latest_path = in_dir(out_dir, kLatestCheckpoint), best_path = in_dir(out_dir, kBestCheckpoint);

  // A resumed run keeps the checkpoint's model shape; everything else comes from the settings.
  Config cfg = settings;
  Metadata resumed_meta;
  if (resume) {
    check(file_exists(latest_path), "chargpt: init_from = 'resume' but there is no checkpoint ", latest_path,
          " (train once without it first, with the same out_dir)");
    resumed_meta = load_safetensors(latest_path).metadata;
    cfg = with_model_keys_of(settings, saved_config(resumed_meta, latest_path), log);
    check_settings(cfg);
  }

  // ---- data: characters -> token ids, 90% train / 10% val
  Corpus corpus = load_training_text(cfg, log);
  TextDataset data(corpus.text, corpus.source);
  const Vocab& vocab = data.vocab();
  make_dirs(out_dir);
  if (resume) {
    Vocab saved = Vocab::load(in_dir(out_dir, "vocab.txt"));
    check(saved.chars() == vocab.chars(), "chargpt: the text (", corpus.source, ") has ", vocab.size(),
          " distinct characters, but the checkpoint's vocabulary in ", out_dir, "/vocab.txt is a different set of ",
          saved.size(), ": resume with the same text");
  } else {
    vocab.save(in_dir(out_dir, "vocab.txt"));
  }
  write_file_atomic(in_dir(out_dir, "config.conf"), cfg.dump());

  // ---- model and optimiser
  Generator gen(static_cast<uint64_t>(cfg.get_int("seed")));  // init, then batches and dropout
  GPT model(model_config(cfg, vocab.size()), &gen);
  const StateDict state = model.state_dict();
  AdamW opt(param_groups_no_decay_for_1d(model.named_parameters(), cfg.get_float("weight_decay")),
            AdamWOptions{.lr = cfg.get_float("learning_rate"),
                         .beta1 = cfg.get_float("beta1"),
                         .beta2 = cfg.get_float("beta2"),
                         .weight_decay = cfg.get_float("weight_decay")});
  const WarmupCosine schedule{.max_lr = cfg.get_float("learning_rate"),
                              .min_lr = cfg.get_float("min_lr"),
                              .warmup_iters = cfg.get_int("warmup_iters"),
                              .lr_decay_iters = cfg.get_int("lr_decay_iters")};
  auto lr_at = [&](int64_t it) { return cfg.get_bool("decay_lr") ? schedule(it) : cfg.get_float("learning_rate"); };

  TrainResult result;
  result.params = model.num_parameters(/*trainable_only=*/true);
  result.best_val_loss = std::numeric_limits<double>::infinity();
  int64_t start_iter = 0;
  if (resume) {
    CheckpointInfo info = load_checkpoint(latest_path, named(state), opt);
    gen.set_state(info.rng_state);  // the batches and dropout masks continue where they were
    start_iter = info.step;
    result.best_val_loss = std::stod(metadata(info.extra, "best_val_loss", latest_path));
    result.history = parse_history(metadata(info.extra, "history", latest_path), latest_path);
    log << "resuming from " << latest_path << " at iteration " << start_iter << "\n";
  }

  const int64_t batch_size = cfg.get_int("batch_size"), block_size = cfg.get_int("block_size");
  const int64_t accumulation = cfg.get_int("gradient_accumulation_steps");
  const int64_t max_iters = cfg.get_int("max_iters"), log_interval = cfg.get_int("log_interval");
  const int64_t eval_interval = cfg.get_int("eval_interval");
  const double grad_clip = cfg.get_float("grad_clip");
  const int64_t tokens_per_iter = batch_size * block_size * accumulation;
  log << "chargpt: " << with_commas(static_cast<double>(result.params)) << " parameters, " << vocab.size()
      << " characters, " << with_commas(static_cast<double>(data.size(Split::Train))) << " train / "
      << with_commas(static_cast<double>(data.size(Split::Val))) << " val tokens from " << corpus.source << "\n"
      << "  n_layer " << cfg.get_int("n_layer") << ", n_head " << cfg.get_int("n_head") << ", n_embd "
      << cfg.get_int("n_embd") << ", block_size " << block_size << ", batch " << batch_size << " x "
      << accumulation << " (" << with_commas(static_cast<double>(tokens_per_iter)) << " tokens per iteration), "
      << get_num_threads() << (get_num_threads() == 1 ? " thread" : " threads") << std::endl;  // endl: show it now

  // history.csv holds the checkpoint's rows (a resumed run drops any rows written after it)
  CsvWriter history_csv(in_dir(out_dir, "history.csv"), {"iter", "train_loss", "val_loss", "lr"});
  for (const HistoryRow& r : result.history)
    history_csv.write_row({static_cast<double>(r.iter), r.train_loss, r.val_loss, r.lr});

  const std::vector<Tensor> params = model.parameters();
  double train_seconds = 0, interval_seconds = 0;
  int64_t interval_tokens = 0;
  const Clock::time_point run_start = Clock::now();
  model.train();
  for (int64_t it = start_iter;; ++it) {
    // ---- evaluate and save: every eval_interval iterations and at the end (a resumed run did
    // this already at its first iteration, before it was saved)
    const bool evaluated_before_save = resume && it == start_iter;
    if ((it % eval_interval == 0 || it >= max_iters) && !evaluated_before_save) {
      Losses losses = estimate_loss(model, data, cfg);
      result.history.push_back({it, losses.train, losses.val, lr_at(it)});
      history_csv.write_row({static_cast<double>(it), losses.train, losses.val, lr_at(it)});
      save_curves(in_dir(out_dir, "curves.png"), result.history);
      const bool best = losses.val < result.best_val_loss;
      if (best) result.best_val_loss = losses.val;
      Metadata extra = {{"config", cfg.dump()},
                        {"best_val_loss", format_shortest(result.best_val_loss)},
                        {"history", history_text(result.history)},
                        {"vocab_size", std::to_string(vocab.size())}};
      save_checkpoint(latest_path, named(state), opt, it, gen.state(), extra);
      if (best) save_checkpoint(best_path, named(state), opt, it, gen.state(), extra);
      log << "iter " << it << ": train loss " << format_significant(losses.train, 5) << ", val loss "
          << format_significant(losses.val, 5) << (best ? "  (best so far: saved " + best_path + ")" : "") << std::endl;
    }
    if (it >= max_iters) break;

    // ---- one training iteration
    const Clock::time_point t0 = Clock::now();
    const double lr = lr_at(it);
    opt.set_lr(lr);
    double loss_sum = 0;
    for (int64_t micro = 0; micro < accumulation; ++micro) {
      TextBatch batch = data.get_batch(Split::Train, batch_size, block_size, gen);  // x, y: [B, T]
      Tensor loss = model.loss(batch.x, batch.y);
      loss_sum += loss.item();
      (accumulation > 1 ? loss / static_cast<double>(accumulation) : loss).backward();
    }
    if (grad_clip > 0) clip_grad_norm(params, grad_clip);
    opt.step();
    opt.zero_grad();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    train_seconds += seconds;
    interval_seconds += seconds;
    interval_tokens += tokens_per_iter;
    const double loss = loss_sum / static_cast<double>(accumulation);
    result.iter_losses.push_back(loss);

    // ---- progress: iter, loss, lr, tokens/s (training only), ETA (at the pace so far, evaluations included)
    const int64_t done = it + 1 - start_iter;
    if ((it + 1) % log_interval == 0 || it + 1 == max_iters) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
      const double eta = elapsed / static_cast<double>(done) * static_cast<double>(max_iters - it - 1);
      log << "iter " << it + 1 << "/" << max_iters << "  loss " << format_significant(loss, 4) << "  lr "
          << format_significant(lr, 3) << "  " << with_commas(static_cast<double>(interval_tokens) / interval_seconds)
          << " tok/s  ETA " << format_duration(eta) << std::endl;
      interval_seconds = 0;
      interval_tokens = 0;
    }
  }

  // ---- the results
  result.iters = std::max(max_iters, start_iter);
  if (!result.history.empty()) {
    result.train_loss = result.history.back().train_loss;
    result.val_loss = result.history.back().val_loss;
  }
  const int64_t trained_iters = static_cast<int64_t>(result.iter_losses.size());
  result.tokens_per_second =
      train_seconds > 0 ? static_cast<double>(trained_iters * tokens_per_iter) / train_seconds : 0;
  JsonObject metrics;
  metrics.set("iters", result.iters)
      .set("train_loss", result.train_loss)
      .set("val_loss", result.val_loss)
      .set("best_val_loss", result.best_val_loss)
      .set("tokens_per_second", result.tokens_per_second)
      .set("params", result.params)
      .set("vocab_size", vocab.size())
      .set("tokens_per_iter", tokens_per_iter)
      .set("train_seconds", train_seconds)
      .set("threads", get_num_threads())
      .set("data", corpus.source);
  metrics.save(in_dir(out_dir, "metrics.json"));
  log << "done: " << result.iters << " iterations, val loss " << format_significant(result.val_loss, 5)
      << " (best " << format_significant(result.best_val_loss, 5) << "), "
      << with_commas(result.tokens_per_second) << " tokens/s; results in " << out_dir << "/\n";
  return result;
}

// ---- sampling ------------------------------------------------------------------------------------

std::vector<std::string> sample(const Config& cfg, std::ostream& out) {
  if (cfg.get_int("threads") > 0) set_num_threads(static_cast<int>(cfg.get_int("threads")));
  const std::string out_dir = cfg.get_string("out_dir");
  std::string path = in_dir(out_dir, kBestCheckpoint);
  if (!file_exists(path)) path = in_dir(out_dir, kLatestCheckpoint);
  check(file_exists(path), "chargpt: no checkpoint in ", out_dir, " (train first: ./run.sh chargpt --out_dir=",
        out_dir, ")");
  const Vocab vocab = Vocab::load(in_dir(out_dir, "vocab.txt"));

  // the model as it was trained (its shape from the checkpoint's own settings), then its weights
  const Config saved = saved_config(load_safetensors(path).metadata, path);
  Generator init_gen(0);  // the initial values are overwritten by the checkpoint's
  GPT model(model_config(saved, vocab.size()), &init_gen);
  load_model_from_checkpoint(path, named(model.state_dict()));

  // the start text as token ids; every character must be one the model knows
  const std::string& start = cfg.get_string("start");
  const std::u32string start_chars = decode_utf8(start, "the start text");
  check(!start_chars.empty(), "chargpt: the start text is empty (give at least one character, e.g. --start='\\n')");
  for (char32_t c : start_chars)
    check(vocab.contains(c), "chargpt: the start text \"", start, "\" has the character ", describe_char(c),
          ", which is not in the vocabulary (", out_dir, "/vocab.txt, ", vocab.size(),
          " characters): the model can only continue text made of characters it was trained on");
  const std::vector<int64_t> start_ids = vocab.encode(start_chars);

  Generator gen(static_cast<uint64_t>(cfg.get_int("seed")));
  std::vector<std::string> samples;
  for (int64_t i = 0; i < cfg.get_int("num_samples"); ++i) {
    std::vector<int64_t> ids = model.generate(start_ids, cfg.get_int("max_new_tokens"), cfg.get_float("temperature"),
                                              cfg.get_int("top_k"), gen);
    samples.push_back(vocab.decode(ids));
    out << samples.back() << "\n---------------\n" << std::flush;
  }
  return samples;
}

// ---- the program -----------------------------------------------------------------------------------

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Config cfg;
  add_keys(cfg);
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
