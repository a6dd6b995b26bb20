// Letting a trained model write: the start text as token ids, then one character at a time drawn
// from softmax(logits / temperature) over the top_k most likely (GPT::generate in layers/gpt.cpp).
#include <iostream>

#include "core/fs.h"
#include "core/parallel.h"
#include "lessons/chargpt/lesson.h"
#include "optim/checkpoint.h"

namespace ember::chargpt {

std::vector<std::string> sample(const Config& cfg, std::ostream& out) {
  check_settings(cfg);
  if (cfg.get_int("threads") > 0) set_num_threads(static_cast<int>(cfg.get_int("threads")));
  const std::string out_dir = cfg.get_string("out_dir");
  std::string path = out_dir + "/" + kBestCheckpoint;
  if (!file_exists(path)) path = out_dir + "/" + kLatestCheckpoint;
  check(file_exists(path), "chargpt: no checkpoint in ", out_dir, " (train first: ./run.sh chargpt --out_dir=",
        out_dir, ")");

  // the model as it was trained (its shape and its characters from the checkpoint), then its weights
  const RunRecord trained = read_run_record(load_safetensors(path).metadata, path);
  const Vocab& vocab = trained.vocab;
  Generator init_gen(0);  // the initial values are overwritten by the checkpoint's
  GPT model(model_config(trained.settings, vocab.size()), &init_gen);
  const StateDict state = model.state_dict();
  load_model_from_checkpoint(path, NamedTensors(state.begin(), state.end()));

  // the start text as token ids; every character must be one the model knows
  const std::string& start = cfg.get_string("start");
  const std::u32string start_chars = decode_utf8(start, "the start text");
  check(!start_chars.empty(), "chargpt: the start text is empty (give at least one character, e.g. --start='\\n')");
  for (char32_t c : start_chars)
    check(vocab.contains(c), "chargpt: the start text \"", start, "\" has the character ", describe_char(c),
          ", which is not in the vocabulary (", path, ", ", vocab.size(),
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

}  // namespace ember::chargpt
