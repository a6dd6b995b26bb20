// What a run tells the student: the lines it prints, the loss curves and the metrics file.
#include <cmath>
#include <iostream>

#include "core/parallel.h"
#include "lessons/chargpt/lesson.h"
#include "lessons/common/json.h"
#include "lessons/common/number_format.h"
#include "lessons/common/plot.h"
#include "lessons/common/progress.h"

namespace ember::chargpt {

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

// chargpt: 810,240 parameters, 113 characters, 2,351,012 train / 261,224 val tokens from ...
//   n_layer 4, n_head 4, n_embd 128, block_size 64, batch 12 x 1 (768 tokens per iteration), 2 threads
void print_run_header(std::ostream& log, const Config& cfg, int64_t params, int64_t vocab_size,
                      const TextDataset& data, const std::string& source) {
  const int64_t batch_size = cfg.get_int("batch_size"), block_size = cfg.get_int("block_size");
  const int64_t accumulation = cfg.get_int("gradient_accumulation_steps");
  log << "chargpt: " << with_commas(static_cast<double>(params)) << " parameters, " << vocab_size << " characters, "
      << with_commas(static_cast<double>(data.size(Split::Train))) << " train / "
      << with_commas(static_cast<double>(data.size(Split::Val))) << " val tokens from " << source << "\n"
      << "  n_layer " << cfg.get_int("n_layer") << ", n_head " << cfg.get_int("n_head") << ", n_embd "
      << cfg.get_int("n_embd") << ", block_size " << block_size << ", batch " << batch_size << " x " << accumulation
      << " (" << with_commas(static_cast<double>(batch_size * block_size * accumulation))
      << " tokens per iteration), " << get_num_threads() << (get_num_threads() == 1 ? " thread" : " threads")
      << std::endl;  // endl: show it now
}

void print_progress(std::ostream& log, int64_t iter, int64_t max_iters, double loss, double lr,
                    double tokens_per_second, double eta_seconds) {
  log << "iter " << iter << "/" << max_iters << "  loss " << format_significant(loss, 4) << "  lr "
      << format_significant(lr, 3) << "  " << with_commas(tokens_per_second) << " tok/s  ETA "
      << format_duration(eta_seconds) << std::endl;
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

void save_metrics(const std::string& path, const TrainResult& result, int64_t vocab_size, int64_t tokens_per_iter,
                  double train_seconds, const std::string& source) {
  JsonObject metrics;
  metrics.set("iters", result.iters)
      .set("train_loss", result.train_loss)
      .set("val_loss", result.val_loss)
      .set("best_val_loss", result.best_val_loss)
      .set("tokens_per_second", result.tokens_per_second)
      .set("params", result.params)
      .set("vocab_size", vocab_size)
      .set("tokens_per_iter", tokens_per_iter)
      .set("train_seconds", train_seconds)
      .set("threads", get_num_threads())
      .set("data", source);
  metrics.save(path);
}

}  // namespace ember::chargpt
