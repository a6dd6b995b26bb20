// What a chargpt checkpoint carries besides the tensors, the step and the RNG state
// (optim/checkpoint.h saves those): safetensors metadata, all strings.
//
//   "config"         every setting of the run, as a config file's text
//   "vocab"          the characters in token-id order, as UTF-8: token id i is the i-th character
//   "vocab_size"     how many there are
//   "best_val_loss"  the lowest val loss of any evaluation so far
//   "history"        one "iter,train_loss,val_loss,lr" line per evaluation
//
// Numbers are written so that they read back to the same bits: a resumed run continues the same
// history and compares against the same best loss.
#include <filesystem>
#include <sstream>

#include "core/fs.h"
#include "lessons/chargpt/lesson.h"
#include "lessons/common/number_format.h"

namespace ember::chargpt {

namespace {

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

const std::string& entry(const Metadata& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  check(it != metadata.end(), "chargpt: ", path, " has no \"", key,
        "\" in its metadata (not a chargpt checkpoint?)");
  return it->second;
}

// The checkpoint's vocabulary: its "vocab" entry, or, for a checkpoint saved before vocabularies
// were stored in checkpoints, the vocab.txt beside it when that has the recorded size.
Vocab read_vocab(const Metadata& metadata, const std::string& path) {
  const int64_t size = std::stoll(entry(metadata, "vocab_size", path));
  auto stored = metadata.find("vocab");
  if (stored != metadata.end()) {
    const std::u32string chars = decode_utf8(stored->second, path + " (metadata \"vocab\")");
    Vocab vocab(chars);
    check(vocab.chars() == chars && vocab.size() == size, "chargpt: ", path, ": the \"vocab\" metadata holds ",
          chars.size(), " characters, not the ", size, " distinct, sorted characters \"vocab_size\" says");
    return vocab;
  }
  const std::string vocab_path = (std::filesystem::path(path).parent_path() / "vocab.txt").string();
  check(file_exists(vocab_path), "chargpt: ", path, " stores no vocabulary and there is no ", vocab_path,
        " beside it");
  Vocab vocab = Vocab::load(vocab_path);
  check(vocab.size() == size, "chargpt: ", path, " stores no vocabulary and ", vocab_path, " has ", vocab.size(),
        " characters, not the ", size, " the model was trained on");
  return vocab;
}

}  // namespace

Metadata checkpoint_metadata(const RunRecord& record) {
  return {{"config", record.settings.dump()},
          {"vocab", encode_utf8(record.vocab.chars())},
          {"vocab_size", std::to_string(record.vocab.size())},
          {"best_val_loss", format_shortest(record.best_val_loss)},
          {"history", history_text(record.history)}};
}

RunRecord read_run_record(const Metadata& metadata, const std::string& path) {
  RunRecord record;
  add_settings(record.settings);
  record.settings.parse_text(entry(metadata, "config", path), path + " (metadata \"config\")");
  record.vocab = read_vocab(metadata, path);
  record.best_val_loss = std::stod(entry(metadata, "best_val_loss", path));
  record.history = parse_history(entry(metadata, "history", path), path);
  return record;
}

}  // namespace ember::chargpt
