// The chargpt lesson end to end, on a small text written by the test: the loss falls, the files
// appear, resuming equals never stopping (bit for bit), sampling is deterministic, and the errors
// a student meets (a character the model never saw, a missing dataset, invalid UTF-8, a misspelt
// key) say what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "datasets/text.h"
#include "lessons/chargpt/chargpt.h"
#include "lessons/common/config.h"
#include "lessons/common/fs.h"

#ifndef EMBER_TEST_TMP
#define EMBER_TEST_TMP "/tmp/ember_test_tmp"
#endif

using namespace ember;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A fresh folder for one test (ctest runs tests in parallel: each has its own).
std::string fresh_dir(const std::string& name) {
  const std::string dir = std::string(EMBER_TEST_TMP) + "/chargpt_" + name;
  std::filesystem::remove_all(dir);
  make_dirs(dir);
  return dir;
}

// A text with plenty of structure for a tiny model to find: short sentences from a small set of
// words, with Danish letters (several bytes in UTF-8, one token each).
std::string write_corpus(const std::string& dir) {
  const std::vector<std::string> words = {"der", "kom", "en", "soldat", "marcherende", "hen", "ad", "landevejen",
                                          "æble", "ø", "på", "å"};
  std::string text;
  uint64_t state = 7;
  for (int sentence = 0; sentence < 400; ++sentence) {
    const int length = 3 + sentence % 5;
    for (int w = 0; w < length; ++w) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      text += words[(state >> 33) % words.size()];
      text += w + 1 < length ? " " : ".\n";
    }
  }
  const std::string path = dir + "/input.txt";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The lesson's settings for a tiny, fast model on that text (one thread: tensors this small do not
// split across threads anyway, and ctest runs two test programs at once on a 2-core machine).
Config tiny_settings(const std::string& dir, const std::string& data, std::vector<std::string> extra = {}) {
  Config cfg;
  chargpt::add_keys(cfg);
  std::vector<std::string> args = {"--data=" + data, "--out_dir=" + dir + "/run", "--n_layer=1", "--n_head=2",
                                   "--n_embd=16", "--block_size=16", "--batch_size=8", "--eval_iters=4",
                                   "--log_interval=10", "--learning_rate=1e-2", "--warmup_iters=5",
                                   "--lr_decay_iters=100", "--min_lr=1e-3", "--threads=1"};
  args.insert(args.end(), extra.begin(), extra.end());
  EXPECT_TRUE(cfg.apply_args(args));
  return cfg;
}

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(LessonChargpt, TinyRunLearnsAndWritesItsFiles) {
  const std::string dir = fresh_dir("learns");
  const std::string data = write_corpus(dir);
  std::ostringstream log;
  Config cfg = tiny_settings(dir, data, {"--max_iters=60", "--eval_interval=30", "--dropout=0.1", "--bias=True"});
  chargpt::TrainResult r = chargpt::train(cfg, log);

  // evaluations at 0, 30, 60; the loss falls well below log(V) (a uniform guess)
  ASSERT_EQ(r.history.size(), 3u) << log.str();
  EXPECT_EQ(r.history[0].iter, 0);
  EXPECT_EQ(r.history[2].iter, 60);
  const double log_v = std::log(static_cast<double>(TextDataset(read_file(data)).vocab().size()));
  EXPECT_NEAR(r.history[0].val_loss, log_v, 0.1);
  EXPECT_LT(r.val_loss, r.history[0].val_loss - 0.8) << log.str();
  EXPECT_LT(r.train_loss, r.history[0].train_loss - 0.8);
  EXPECT_EQ(r.iters, 60);
  EXPECT_EQ(r.iter_losses.size(), 60u);
  EXPECT_GT(r.tokens_per_second, 0);
  EXPECT_GT(r.params, 0);

  // progress lines: iter, loss, lr, tokens/s, ETA
  EXPECT_TRUE(contains(log.str(), "iter 10/60  loss ")) << log.str();
  EXPECT_TRUE(contains(log.str(), " lr ") && contains(log.str(), " tok/s  ETA ")) << log.str();

  const std::string run = dir + "/run";
  for (const char* file : {"ckpt.safetensors", "best.safetensors", "vocab.txt", "config.conf", "history.csv",
                           "curves.png", "metrics.json"})
    EXPECT_TRUE(file_exists(run + "/" + file)) << file;
  const std::string history = read_file(run + "/history.csv");
  EXPECT_EQ(history.rfind("iter,train_loss,val_loss,lr\n", 0), 0u) << history;
  EXPECT_TRUE(contains(history, "\n30,")) << history;
  const std::string metrics = read_file(run + "/metrics.json");
  for (const char* key : {"\"iters\": 60", "\"train_loss\"", "\"val_loss\"", "\"tokens_per_second\"", "\"params\""})
    EXPECT_TRUE(contains(metrics, key)) << key << " in " << metrics;
  // the checkpoint holds the step, the RNG state, the optimizer's state and the settings
  SafetensorsFile ckpt = load_safetensors(run + "/ckpt.safetensors");
  EXPECT_EQ(ckpt.metadata.at("step"), "60");
  EXPECT_TRUE(ckpt.metadata.count("rng_state"));
  EXPECT_TRUE(contains(ckpt.metadata.at("config"), "n_embd = 16"));
  EXPECT_TRUE(ckpt.contains("optimizer.state.0.exp_avg"));
  EXPECT_TRUE(ckpt.contains("wte.weight"));
  // the vocabulary file reads back to the text's characters (æ, ø, å one token each)
  Vocab vocab = Vocab::load(run + "/vocab.txt");
  EXPECT_TRUE(vocab.contains(U'æ') && vocab.contains(U'ø') && vocab.contains(U'å'));
  EXPECT_EQ(vocab.chars(), TextDataset(read_file(data)).vocab().chars());
}

TEST(LessonChargpt, ResumeEqualsUninterruptedTraining) {
  const std::string dir = fresh_dir("resume");
  const std::string data = write_corpus(dir);
  // dropout on: the resumed run must also continue the dropout masks' random stream
  const std::vector<std::string> common = {"--eval_interval=100", "--eval_iters=2", "--dropout=0.2", "--seed=5"};
  std::ostringstream log;

  std::vector<std::string> whole_args = common;
  whole_args.push_back("--max_iters=6");
  Config whole = tiny_settings(dir + "/whole", data, whole_args);
  chargpt::TrainResult uninterrupted = chargpt::train(whole, log);

  std::vector<std::string> first_args = common;
  first_args.push_back("--max_iters=3");
  Config first = tiny_settings(dir + "/split", data, first_args);
  chargpt::TrainResult part1 = chargpt::train(first, log);
  std::vector<std::string> second_args = common;
  second_args.insert(second_args.end(), {"--max_iters=6", "--init_from=resume"});
  Config second = tiny_settings(dir + "/split", data, second_args);
  chargpt::TrainResult part2 = chargpt::train(second, log);

  // iteration losses 0..2 then 3..5, bit for bit
  ASSERT_EQ(uninterrupted.iter_losses.size(), 6u);
  ASSERT_EQ(part1.iter_losses.size(), 3u);
  ASSERT_EQ(part2.iter_losses.size(), 3u) << log.str();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(part1.iter_losses[i], uninterrupted.iter_losses[i]) << "iteration " << i;
    EXPECT_EQ(part2.iter_losses[i], uninterrupted.iter_losses[3 + i]) << "iteration " << 3 + i;
  }
  EXPECT_EQ(part2.val_loss, uninterrupted.val_loss);
  // and the final parameters and optimizer state, bit for bit
  SafetensorsFile a = load_safetensors(dir + "/whole/run/ckpt.safetensors");
  SafetensorsFile b = load_safetensors(dir + "/split/run/ckpt.safetensors");
  EXPECT_EQ(a.metadata.at("step"), "6");
  EXPECT_EQ(b.metadata.at("step"), "6");
  EXPECT_EQ(a.metadata.at("rng_state"), b.metadata.at("rng_state"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    ASSERT_EQ(a.tensors[i].first, b.tensors[i].first);
    EXPECT_EQ(a.tensors[i].second.to_vector<double>(), b.tensors[i].second.to_vector<double>()) << a.tensors[i].first;
  }
  EXPECT_TRUE(contains(log.str(), "resuming from")) << log.str();
  // the resumed history keeps the first part's evaluations (0 and the end, 3) and adds 6
  std::vector<int64_t> iters;
  for (const auto& row : part2.history) iters.push_back(row.iter);
  EXPECT_EQ(iters, (std::vector<int64_t>{0, 3, 6}));
}

TEST(LessonChargpt, SamplingIsDeterministicAndRejectsUnknownCharacters) {
  const std::string dir = fresh_dir("sample");
  const std::string data = write_corpus(dir);
  std::ostringstream log;
  chargpt::train(tiny_settings(dir, data, {"--max_iters=20", "--eval_interval=20", "--dropout=0"}), log);

  auto sample_with = [&](std::vector<std::string> extra) {
    Config cfg = tiny_settings(dir, data, {"--sample", "--num_samples=2", "--max_new_tokens=20", "--temperature=0.8",
                                           "--top_k=5"});
    EXPECT_TRUE(cfg.apply_args(extra));
    std::ostringstream out;
    std::vector<std::string> samples = chargpt::sample(cfg, out);
    return std::make_pair(samples, out.str());
  };
  auto [first, printed] = sample_with({"--start=der kom en soldat", "--seed=3"});
  auto [again, printed_again] = sample_with({"--start=der kom en soldat", "--seed=3"});
  auto [other, printed_other] = sample_with({"--start=der kom en soldat", "--seed=4"});
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first, again);
  EXPECT_EQ(printed, printed_again);
  EXPECT_NE(first, other);
  for (const std::string& s : first) {
    EXPECT_EQ(s.rfind("der kom en soldat", 0), 0u) << s;  // the start, then 20 new characters
    EXPECT_EQ(decode_utf8(s).size(), 17u + 20u) << s;
  }
  EXPECT_TRUE(contains(printed, "---------------")) << printed;

  // 'Q' never occurs in the text: the error names it
  std::string msg = error_of([&] { sample_with({"--start=der kom en Qsoldat"}); });
  EXPECT_TRUE(contains(msg, "'Q' (U+0051)")) << msg;
  EXPECT_TRUE(contains(msg, "not in the vocabulary")) << msg;
  EXPECT_TRUE(contains(msg, "der kom en Qsoldat")) << msg;
}

TEST(LessonChargpt, MissingDatasetSaysWhereToPutItAndUsesTheDefaultCorpus) {
  if (!std::filesystem::is_directory(kFortunesDir)) GTEST_SKIP() << "the Debian package 'fortunes' is not installed";
  Config cfg;
  chargpt::add_keys(cfg);
  cfg.set("dataset", "'no_such_dataset_here'");
  std::ostringstream log;
  chargpt::Corpus corpus = chargpt::load_training_text(cfg, log);
  EXPECT_TRUE(contains(log.str(), "data/no_such_dataset_here/input.txt")) << log.str();
  EXPECT_TRUE(contains(log.str(), "--data=FILE")) << log.str();
  EXPECT_TRUE(contains(corpus.source, "fortunes")) << corpus.source;
  EXPECT_EQ(corpus.text, default_corpus());
}

TEST(LessonChargpt, ProgramErrors) {
  const std::string dir = fresh_dir("errors");
  std::ostringstream out, err;
  // a misspelt key: exit code 1 and the known keys listed
  EXPECT_EQ(chargpt::run({"--n_layers=2"}, out, err), 1);
  EXPECT_TRUE(contains(err.str(), "n_layers") && contains(err.str(), "learning_rate")) << err.str();
  // invalid UTF-8 names the byte offset
  const std::string bad = dir + "/bad.txt";
  std::ofstream(bad, std::ios::binary) << "abc\xC3";
  err.str("");
  EXPECT_EQ(chargpt::run({"--data=" + bad, "--out_dir=" + dir + "/run"}, out, err), 1);
  EXPECT_TRUE(contains(err.str(), "byte offset 3")) << err.str();
  // resuming without a checkpoint, sampling without one
  err.str("");
  EXPECT_EQ(chargpt::run({"--init_from=resume", "--out_dir=" + dir + "/nothing"}, out, err), 1);
  EXPECT_TRUE(contains(err.str(), "ckpt.safetensors")) << err.str();
  err.str("");
  EXPECT_EQ(chargpt::run({"--sample", "--out_dir=" + dir + "/nothing"}, out, err), 1);
  EXPECT_TRUE(contains(err.str(), "no checkpoint")) << err.str();
  // --help lists the keys and exits 0
  out.str("");
  EXPECT_EQ(chargpt::run({"--help"}, out, err), 0);
  EXPECT_TRUE(contains(out.str(), "temperature")) << out.str();
}
