// The training loop (nanoGPT's train.py). One iteration:
//
//   lr = warmup + cosine schedule(iter)                                        learning_rate_at
//   for each of gradient_accumulation_steps micro-batches:                     train_iteration
//     x, y = batch_size random windows of block_size characters, y = x shifted by one  [B, T]
//     loss = cross_entropy(model(x), y) / gradient_accumulation_steps
//     loss.backward()                           (gradients add up over the micro-batches)
//   clip the gradients' global norm to grad_clip
//   AdamW step (weight decay only on the 2-D weights), zero the gradients
//
// and every eval_interval iterations (and at the end): the mean loss over eval_iters batches of
// each split (estimate_loss), a row of history.csv, curves.png, the checkpoints (save_checkpoints).
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <optional>

#include "core/autograd.h"
#include "core/fs.h"
#include "core/graph_dump.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "layers/graph_names.h"
#include "lessons/chargpt/lesson.h"
#include "lessons/common/csv.h"
#include "lessons/common/device.h"
#include "lessons/common/finite_loss.h"
#include "lessons/common/number_format.h"
#include "lessons/common/run_lock.h"
#include "optim/checkpoint.h"
#include "distributed/distributed.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"

namespace ember::chargpt {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string in_dir(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// ---- the learning-rate schedule: a function of the iteration alone, so a resumed run gets exactly
// the rate it would have had. Linear warmup to learning_rate, then a cosine down to min_lr.
double learning_rate_at(const Config& cfg, int64_t it) {
  if (!cfg.get_bool("decay_lr")) return cfg.get_float("learning_rate");
  const WarmupCosine schedule{.max_lr = cfg.get_float("learning_rate"),
                              .min_lr = cfg.get_float("min_lr"),
                              .warmup_iters = cfg.get_int("warmup_iters"),
                              .lr_decay_iters = cfg.get_int("lr_decay_iters")};
  return schedule(it);
}

// ---- one iteration: gradient accumulation over micro-batches, clipping, the AdamW step. Returns
// the mean loss of the micro-batches. With a graph_path (--graph, first iteration only), the first
// micro-batch's autograd graph is written there before backward() frees it.
double train_iteration(GPT& model, AdamW& opt, const std::vector<Tensor>& params, const TextDataset& data,
                       const Config& cfg, Generator& gen, double lr, const std::string& graph_path, std::ostream& log) {
  const int64_t batch_size = cfg.get_int("batch_size"), block_size = cfg.get_int("block_size");
  const int64_t accumulation = cfg.get_int("gradient_accumulation_steps");
  const double grad_clip = cfg.get_float("grad_clip");
  opt.set_lr(lr);
  const Device device = model_device(model);  // --device: the batches go where the model is
  double loss_sum = 0;
  // Under mpirun every process draws the same batch (the generators agree) and trains on its own
  // rows of it, [B r / R, B (r + 1) / R); the gradients are then averaged over the processes.
  const int64_t first_row = batch_size * rank() / world_size(), end_row = batch_size * (rank() + 1) / world_size();
  for (int64_t micro = 0; micro < accumulation; ++micro) {
    TextBatch batch = data.get_batch(Split::Train, batch_size, block_size, gen);  // x, y: [B, T]
    if (world_size() > 1) {
      batch.x = batch.x.slice(0, first_row, end_row);
      batch.y = batch.y.slice(0, first_row, end_row);
    }
    Tensor loss = model.loss(batch.x.to(device), batch.y.to(device));
    if (micro == 0 && !graph_path.empty() && is_main_process()) log << dump_graph(loss, graph_path, graph_names(model)).message << std::endl;
    loss_sum += loss.item();
    // each micro-batch's gradient is a 1/accumulation share of the iteration's
    (accumulation > 1 ? loss / static_cast<double>(accumulation) : loss).backward();
  }
  if (world_size() > 1) {  // the whole batch's gradient and loss, on every process
    allreduce_gradients(params, end_row - first_row, batch_size);
    loss_sum = allreduce_sum(loss_sum * static_cast<double>(end_row - first_row) / static_cast<double>(batch_size));
  }
  if (grad_clip > 0) clip_grad_norm(params, grad_clip);  // the whole gradient's length at most grad_clip
  opt.step();
  opt.zero_grad();
  return loss_sum / static_cast<double>(accumulation);
}

// ---- evaluation: the mean loss over eval_iters batches of each split, in eval mode (no dropout)
// and without a graph. The batches come from a generator seeded afresh each time, so every
// evaluation sees the same windows (the curve shows the model changing, not the batches) and
// evaluating never moves the training generator (a resumed run draws exactly the batches an
// uninterrupted one would).
struct Losses {
  double train = 0, val = 0;
};

Losses estimate_loss(GPT& model, const TextDataset& data, const Config& cfg) {
  const int64_t batch_size = cfg.get_int("batch_size"), block_size = cfg.get_int("block_size");
  const int64_t eval_iters = cfg.get_int("eval_iters");
  NoGradGuard no_grad;
  model.eval();
  const Device device = model_device(model);
  Losses losses;
  for (Split split : {Split::Train, Split::Val}) {
    Generator eval_gen(static_cast<uint64_t>(cfg.get_int("seed")) + 1);
    double sum = 0;
    for (int64_t i = 0; i < eval_iters; ++i) {
      TextBatch b = data.get_batch(split, batch_size, block_size, eval_gen);
      sum += model.loss(b.x.to(device), b.y.to(device)).item();
    }
    (split == Split::Train ? losses.train : losses.val) = sum / static_cast<double>(eval_iters);
  }
  model.train();
  return losses;
}

// ---- the checkpoints: the model, AdamW's moments, the iteration and the generator's state (what
// makes resuming exact), with the run's record (checkpoint.cpp). ckpt.safetensors always, and
// best.safetensors too when this evaluation's val loss is the lowest so far.
void save_checkpoints(const std::string& out_dir, const NamedTensors& model_state, const AdamW& opt, int64_t it,
                      const Generator& gen, const RunRecord& record, bool best) {
  const Metadata extra = checkpoint_metadata(record);
  save_checkpoint(in_dir(out_dir, kLatestCheckpoint), model_state, opt, it, gen.state(), extra);
  if (best) save_checkpoint(in_dir(out_dir, kBestCheckpoint), model_state, opt, it, gen.state(), extra);
}

}  // namespace

TrainResult train(const Config& settings, std::ostream& log) {
  check_settings(settings);
  if (settings.get_int("threads") > 0) set_num_threads(static_cast<int>(settings.get_int("threads")));
  const std::string out_dir = settings.get_string("out_dir");
  const bool resume = settings.get_string("init_from") == "resume";
  const std::string latest_path = in_dir(out_dir, kLatestCheckpoint);

  // ---- settings: a resumed run keeps its checkpoint's model shape, vocabulary and history
  Config cfg = settings;
  RunRecord resumed;
  if (resume) {
    check(file_exists(latest_path), "chargpt: init_from = 'resume' but there is no checkpoint ", latest_path,
          " (train once without it first, with the same out_dir)");
    resumed = read_run_record(load_safetensors(latest_path).metadata, latest_path);
    cfg = with_model_settings_of(settings, resumed.settings, log);
    check_settings(cfg);
  }

  // ---- data: characters -> token ids, 90% train / 10% val
  Corpus corpus = load_training_text(cfg, log);
  TextDataset data(corpus.text, corpus.source);
  const Vocab& vocab = data.vocab();
  if (resume) check_same_vocab(resumed.vocab, latest_path, vocab, corpus.source);
  check_memory(cfg, vocab.size());  // before the model takes it
  // Under mpirun only process 0 writes files; the others train with it.
  const bool writes = is_main_process();
  make_dirs(out_dir);
  std::optional<RunLock> lock;  // one run at a time in out_dir, until train() returns
  if (writes) {
    lock.emplace(out_dir, "chargpt");
    if (!resume) vocab.save(in_dir(out_dir, "vocab.txt"));
    write_file_atomic(in_dir(out_dir, "config.conf"), cfg.dump());
  }

  // ---- model and optimiser
  Generator gen(static_cast<uint64_t>(cfg.get_int("seed")));  // init, then batches and dropout
  GPT model(model_config(cfg, vocab.size()), &gen);
  const Device device = choose_device(cfg.get_string("device"));  // --device: cpu, cuda or auto
  model.to(device);  // before the optimiser, whose moments are made where the parameters are
  const StateDict state = model.state_dict();
  const NamedTensors model_state(state.begin(), state.end());
  std::unique_ptr<AdamW> opt = build_optimizer(cfg, model);

  TrainResult result;
  result.params = model.num_parameters(/*trainable_only=*/true);
  result.best_val_loss = std::numeric_limits<double>::infinity();
  int64_t start_iter = 0;
  if (resume) {
    CheckpointInfo info = load_checkpoint(latest_path, model_state, *opt);
    gen.set_state(info.rng_state);  // the batches and dropout masks continue where they were
    start_iter = info.step;
    result.best_val_loss = resumed.best_val_loss;
    result.history = resumed.history;
    log << "resuming from " << latest_path << " at iteration " << start_iter << "\n";
  }
  broadcast_parameters(model);  // under mpirun: every process starts from process 0's weights
  print_run_header(log, cfg, result.params, vocab.size(), data, corpus.source);
  log << device_line(device) << "\n";
  if (world_size() > 1) log << "data-parallel: " << world_size() << " processes share each batch (mpirun)\n";

  // history.csv holds the checkpoint's rows (a resumed run drops any rows written after it)
  std::optional<CsvWriter> history_csv;
  if (writes) {
    history_csv.emplace(in_dir(out_dir, "history.csv"), std::vector<std::string>{"iter", "train_loss", "val_loss", "lr"});
    for (const HistoryRow& r : result.history)
      history_csv->write_row({static_cast<double>(r.iter), r.train_loss, r.val_loss, r.lr});
  }

  // ---- the loop
  const int64_t max_iters = cfg.get_int("max_iters"), log_interval = cfg.get_int("log_interval");
  const int64_t eval_interval = cfg.get_int("eval_interval");
  const int64_t tokens_per_iter =
      cfg.get_int("batch_size") * cfg.get_int("block_size") * cfg.get_int("gradient_accumulation_steps");
  const std::vector<Tensor> params = model.parameters();
  double train_seconds = 0, interval_seconds = 0;
  int64_t interval_tokens = 0;
  LastFiniteLoss last_finite;  // for the message when the loss becomes NaN (lessons/common/finite_loss.h)
  const Clock::time_point run_start = Clock::now();
  model.train();
  for (int64_t it = start_iter;; ++it) {
    // evaluate and save: every eval_interval iterations and at the end (a resumed run did this
    // already at its first iteration, before it was saved)
    const bool evaluated_before_save = resume && it == start_iter;
    if ((it % eval_interval == 0 || it >= max_iters) && !evaluated_before_save) {
      const Losses losses = estimate_loss(model, data, cfg);
      const double lr = learning_rate_at(cfg, it);
      result.history.push_back({it, losses.train, losses.val, lr});
      const bool best = losses.val < result.best_val_loss;
      if (best) result.best_val_loss = losses.val;
      if (writes) {
        history_csv->write_row({static_cast<double>(it), losses.train, losses.val, lr});
        save_curves(in_dir(out_dir, "curves.png"), result.history);
        save_checkpoints(out_dir, model_state, *opt, it, gen, {cfg, vocab, result.best_val_loss, result.history}, best);
      }
      log << "iter " << it << ": train loss " << format_significant(losses.train, 5) << ", val loss "
          << format_significant(losses.val, 5)
          << (best ? "  (best so far: saved " + in_dir(out_dir, kBestCheckpoint) + ")" : "") << std::endl;
    }
    if (it >= max_iters) break;

    // one training iteration
    const Clock::time_point t0 = Clock::now();
    const double lr = learning_rate_at(cfg, it);
    const double loss =
        train_iteration(model, *opt, params, data, cfg, gen, lr, it == start_iter ? cfg.get_string("graph") : "", log);
    const double seconds = seconds_since(t0);
    check_loss_is_finite(loss, it + 1, last_finite, "chargpt", "--learning_rate", lr);  // a NaN loss stops the run
    train_seconds += seconds;
    interval_seconds += seconds;
    interval_tokens += tokens_per_iter;
    result.iter_losses.push_back(loss);

    // progress: iter, loss, lr, tokens/s (training only), ETA (at the pace so far, evaluations included)
    if ((it + 1) % log_interval == 0 || it + 1 == max_iters) {
      const double done = static_cast<double>(it + 1 - start_iter);
      const double eta = seconds_since(run_start) / done * static_cast<double>(max_iters - it - 1);
      print_progress(log, it + 1, max_iters, loss, lr, static_cast<double>(interval_tokens) / interval_seconds, eta);
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
  const auto trained_iters = static_cast<double>(result.iter_losses.size());
  result.tokens_per_second =
      train_seconds > 0 ? trained_iters * static_cast<double>(tokens_per_iter) / train_seconds : 0;
  if (writes)
    save_metrics(in_dir(out_dir, "metrics.json"), result, vocab.size(), tokens_per_iter, train_seconds, corpus.source);
  log << "done: " << result.iters << " iterations, val loss " << format_significant(result.val_loss, 5)
      << " (best " << format_significant(result.best_val_loss, 5) << "), "
      << with_commas(result.tokens_per_second) << " tokens/s; results in " << out_dir << "/\n";
  if (device == Device::CUDA) log << memory_line(device) << "\n";
  return result;
}

}  // namespace ember::chargpt
