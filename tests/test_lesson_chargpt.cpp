// The chargpt lesson end to end, on a small text written by the test: the loss falls, the files
// appear, resuming equals never stopping (bit for bit), sampling is deterministic, and the errors
// a student meets (a character the model never saw, a missing dataset, invalid UTF-8, a misspelt
// key, a setting out of its range, a model too large for the machine, a text with another
// vocabulary than the checkpoint's, a learning rate that makes the loss NaN) say what is wrong.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "datasets/text.h"
#include "lessons/chargpt/lesson.h"
#include "lessons/common/config.h"
#include "lessons/common/run_lock.h"
#include "core/fs.h"

#ifndef EMBER_TEST_TMP
#define EMBER_TEST_TMP "/tmp/ember_test_tmp"
#endif

using namespace ember;

namespace test_lesson_chargpt {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

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
  chargpt::add_settings(cfg);
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
  chargpt::add_settings(cfg);
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

// ---- bad input: settings out of range, a model too large, another vocabulary, a diverging loss ----

TEST(LessonChargpt, SettingsOutOfRangeNameTheKeyAndTheRange) {
  const std::string dir = fresh_dir("ranges");
  const std::string data = write_corpus(dir);
  // {argument, what the error must say}
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--num_samples=-1", "--num_samples must be at least 1, got -1"},
      {"--num_samples=0", "--num_samples must be at least 1"},
      {"--max_new_tokens=0", "--max_new_tokens must be at least 1"},
      {"--n_layer=0", "--n_layer must be at least 1"},
      {"--n_head=-2", "--n_head must be at least 1"},
      {"--n_embd=0", "--n_embd must be at least 1"},
      {"--n_embd=100", "--n_embd (100) must be a multiple of --n_head (3)"},
      {"--block_size=0", "--block_size must be at least 1"},
      {"--batch_size=-5", "--batch_size must be at least 1, got -5"},
      {"--gradient_accumulation_steps=0", "--gradient_accumulation_steps must be at least 1"},
      {"--max_iters=-1", "--max_iters must be at least 0"},
      {"--eval_interval=0", "--eval_interval must be at least 1"},
      {"--eval_iters=0", "--eval_iters must be at least 1"},
      {"--log_interval=0", "--log_interval must be at least 1"},
      {"--warmup_iters=-1", "--warmup_iters must be at least 0"},
      {"--lr_decay_iters=-1", "--lr_decay_iters must be at least 0"},
      {"--threads=-1", "--threads must be in [0, 1024]"},
      {"--top_k=-1", "--top_k must be at least 0"},
      {"--temperature=0", "--temperature must be in (0, inf)"},
      {"--temperature=-1", "--temperature must be in (0, inf), got -1"},
      {"--dropout=1", "--dropout must be in [0, 1), got 1"},
      {"--dropout=-0.1", "--dropout must be in [0, 1)"},
      {"--learning_rate=0", "--learning_rate must be in (0, inf), got 0"},
      {"--min_lr=-1e-4", "--min_lr must be in [0, inf)"},
      {"--weight_decay=-0.1", "--weight_decay must be in [0, inf)"},
      {"--beta1=1", "--beta1 must be in [0, 1)"},
      {"--beta2=1.5", "--beta2 must be in [0, 1)"},
      {"--grad_clip=-1", "--grad_clip must be in [0, inf)"},
      {"--init_from=checkpoint", "--init_from must be 'scratch' or 'resume'"},
  };
  for (const auto& [arg, expected] : cases) {
    // training: refused before any file is read or written
    std::ostringstream out, err;
    EXPECT_EQ(chargpt::run({"--data=" + data, "--out_dir=" + dir + "/run", arg}, out, err), 1) << arg;
    EXPECT_TRUE(contains(err.str(), expected)) << arg << ": " << err.str();
    EXPECT_FALSE(std::filesystem::exists(dir + "/run")) << arg;
    // sampling: refused before looking for a checkpoint, and nothing printed
    std::ostringstream sample_out, sample_err;
    EXPECT_EQ(chargpt::run({"--sample", "--out_dir=" + dir + "/nothing", arg}, sample_out, sample_err), 1) << arg;
    EXPECT_TRUE(contains(sample_err.str(), expected)) << arg << ": " << sample_err.str();
    EXPECT_EQ(sample_out.str(), "") << arg;
  }
}

TEST(LessonChargpt, ModelTooLargeForTheMachineIsRefusedUpFront) {
  const std::string dir = fresh_dir("too_large");
  const std::string data = write_corpus(dir);
  // {arguments, the key the error must name}
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--n_layer=1000000"}, "--n_layer=1000000 (default 3) is too large"},
      {{"--n_embd=1000000", "--n_head=4"}, "--n_embd=1000000 (default 192) is too large"},
      {{"--batch_size=100000000"}, "--batch_size=100000000 (default 64) is too large"},
      {{"--block_size=1000000"}, "--block_size=1000000 (default 256) is too large"},
  };
  for (const auto& [extra, expected] : cases) {
    std::vector<std::string> args = {"--data=" + data, "--out_dir=" + dir + "/run", "--threads=1"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::ostringstream out, err;
    EXPECT_EQ(chargpt::run(args, out, err), 1) << extra[0];
    EXPECT_TRUE(contains(err.str(), expected)) << err.str();
    EXPECT_TRUE(contains(err.str(), "more than this machine's")) << err.str();
    EXPECT_FALSE(std::filesystem::exists(dir + "/run")) << extra[0];  // nothing written, nothing allocated
  }
  // --n_embd=1000000 with the default 3 heads is refused as well (it does not split into 3 heads)
  std::ostringstream out, err;
  EXPECT_EQ(chargpt::run({"--data=" + data, "--out_dir=" + dir + "/run", "--n_embd=1000000"}, out, err), 1);
  EXPECT_TRUE(contains(err.str(), "--n_embd (1000000)")) << err.str();

  // the estimate's parameters are the model's (an upper bound within 1%), 16 bytes each
  Config cfg = tiny_settings(dir, data, {"--bias=True"});
  Generator gen(0);
  const int64_t vocab_size = 40;
  GPT model(chargpt::model_config(cfg, vocab_size), &gen);
  const double params = static_cast<double>(model.num_parameters(/*trainable_only=*/true));
  const chargpt::MemoryEstimate estimate = chargpt::estimate_memory(cfg, vocab_size);
  EXPECT_GE(estimate.parameter_bytes, 16 * params);
  EXPECT_LE(estimate.parameter_bytes, 16 * params * 1.01);
  EXPECT_GT(estimate.activation_bytes, 4.0 * 8 * 16 * 16);  // at least B x T x C floats
}

TEST(LessonChargpt, CheckpointCarriesItsVocabulary) {
  const std::string dir = fresh_dir("vocab");
  const std::string data = write_corpus(dir);
  std::ostringstream log;
  chargpt::train(tiny_settings(dir, data, {"--max_iters=20", "--eval_interval=20", "--dropout=0"}), log);
  const std::string run = dir + "/run";
  const Vocab vocab = TextDataset(read_file(data)).vocab();
  EXPECT_EQ(load_safetensors(run + "/ckpt.safetensors").metadata.at("vocab"), encode_utf8(vocab.chars()));

  auto sample_once = [&] {
    Config cfg = tiny_settings(dir, data, {"--sample", "--num_samples=2", "--max_new_tokens=30", "--seed=3",
                                           "--start=der kom en soldat"});
    std::ostringstream out;
    return chargpt::sample(cfg, out);
  };
  const std::vector<std::string> before = sample_once();

  // vocab.txt replaced by as many other characters: sampling still decodes with the checkpoint's own
  std::u32string other;
  for (int64_t i = 0; i < vocab.size(); ++i) other += static_cast<char32_t>(0x100 + i);
  Vocab(other).save(run + "/vocab.txt");
  EXPECT_EQ(sample_once(), before);

  // resuming on a text of the same size but another character ('Q' for 'å'): an error naming both
  const std::string original = read_file(data);
  std::string changed;
  for (size_t i = 0; i < original.size(); ++i) {
    const bool a_ring = original.compare(i, 2, "\xC3\xA5") == 0;  // 'å' in UTF-8
    changed += a_ring ? 'Q' : original[i];
    i += a_ring ? 1 : 0;
  }
  const std::string changed_path = dir + "/changed.txt";
  std::ofstream(changed_path, std::ios::binary) << changed;
  ASSERT_EQ(TextDataset(changed).vocab().size(), vocab.size());
  std::string msg = error_of([&] {
    chargpt::train(tiny_settings(dir, changed_path, {"--max_iters=30", "--init_from=resume"}), log);
  });
  EXPECT_TRUE(contains(msg, run + "/ckpt.safetensors")) << msg;
  EXPECT_TRUE(contains(msg, changed_path)) << msg;
  EXPECT_TRUE(contains(msg, "only in the text: 'Q' (U+0051)")) << msg;
  EXPECT_TRUE(contains(msg, "only in the checkpoint: " + describe_char(U'å'))) << msg;
}

TEST(LessonChargpt, DivergingLossStopsWithAClearMessage) {
  const std::string dir = fresh_dir("diverges");
  const std::string data = write_corpus(dir);
  std::ostringstream log;
  const std::string msg = error_of([&] {
    chargpt::train(tiny_settings(dir, data, {"--max_iters=20", "--eval_interval=100", "--learning_rate=1e300"}), log);
  });
  // iteration 1 still had a finite loss (the weights were the initial ones); its update broke them
  EXPECT_TRUE(contains(msg, "chargpt: the loss became ")) << msg;
  EXPECT_TRUE(contains(msg, " at step 2; the last finite loss was ")) << msg;
  EXPECT_TRUE(contains(msg, "(step 1)")) << msg;
  EXPECT_TRUE(contains(msg, "try a smaller --learning_rate")) << msg;
  // the checkpoint of the last evaluation (iteration 0) is still there, untouched
  EXPECT_EQ(load_safetensors(dir + "/run/ckpt.safetensors").metadata.at("step"), "0");

  // through the program: exit code 1 and the message on the error stream
  std::ostringstream out, err;
  EXPECT_EQ(chargpt::run({"--data=" + data, "--out_dir=" + dir + "/run2", "--n_layer=1", "--n_head=2", "--n_embd=16",
                          "--block_size=16", "--batch_size=8", "--eval_iters=2", "--max_iters=10",
                          "--learning_rate=1e300", "--threads=1"},
                         out, err),
            1);
  EXPECT_TRUE(contains(err.str(), "try a smaller --learning_rate")) << err.str();
}

TEST(LessonChargpt, OneRunAtATimeInARunFolder) {
  const std::string dir = fresh_dir("locked");
  const std::string data = write_corpus(dir);
  make_dirs(dir + "/run");
  std::ostringstream log;
  {
    RunLock other(dir + "/run", "another chargpt");  // as if a second program were training there
    const std::string msg = error_of([&] { chargpt::train(tiny_settings(dir, data, {"--max_iters=2"}), log); });
    EXPECT_TRUE(contains(msg, "another run is using the folder " + dir + "/run")) << msg;
    EXPECT_FALSE(file_exists(dir + "/run/vocab.txt"));  // stopped before writing anything
  }
  // once the other run has ended, training there works
  EXPECT_EQ(chargpt::train(tiny_settings(dir, data, {"--max_iters=2", "--eval_interval=2"}), log).iters, 2);
}

}  // namespace test_lesson_chargpt
