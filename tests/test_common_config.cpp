// Tests of lessons/common/config: nanoGPT-style config files, command-line overrides, and the
// error messages a student sees when a setting is wrong.
#include <gtest/gtest.h>

#include "tests/test_util.h"

using ember::error_of;

#include <string>
#include <vector>

#include "core/error.h"
#include "lessons/common/config.h"
#include "core/fs.h"

#ifndef EMBER_TEST_TMP
#define EMBER_TEST_TMP "/tmp/ember_test_tmp"
#endif

using ember::Config;

namespace test_common_config {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// The keys of the char-level GPT lesson, typed as nanoGPT types them.
Config gpt_config() {
  Config cfg;
  cfg.add_string("dataset", "shakespeare_char", "which data set");
  cfg.add_int("gradient_accumulation_steps", 4, "micro-steps per optimizer step");
  cfg.add_int("batch_size", 12, "sequences per micro-step");
  cfg.add_int("block_size", 1024, "context length in characters");
  cfg.add_int("n_layer", 12, "transformer blocks");
  cfg.add_int("n_head", 12, "attention heads");
  cfg.add_int("n_embd", 768, "embedding width");
  cfg.add_float("dropout", 0.0, "dropout probability");
  cfg.add_float("learning_rate", 6e-4, "peak learning rate");
  cfg.add_int("max_iters", 600000, "training iterations");
  cfg.add_int("lr_decay_iters", 600000, "iterations of cosine decay");
  cfg.add_float("min_lr", 6e-5, "final learning rate");
  cfg.add_float("beta2", 0.95, "Adam beta2");
  cfg.add_int("warmup_iters", 2000, "linear warm-up iterations");
  cfg.add_bool("compile", false, "fuse kernels");
  return cfg;
}

const char* kCourseFile = R"(dataset = 'hca'
gradient_accumulation_steps = 1
batch_size = 64
block_size = 256      # context of up to 256 previous characters
n_layer = 3
n_head = 3
n_embd = 192
dropout = 0.2
learning_rate = 1e-3
max_iters = 5000
lr_decay_iters = 5000
min_lr = 1e-4
beta2 = 0.99
warmup_iters = 100
)";

std::string scratch_file(const std::string& name, const std::string& contents) {
  std::string folder = std::string(EMBER_TEST_TMP) + "/common_config";
  ember::make_dirs(folder);
  std::string path = folder + "/" + name;
  ember::write_file_atomic(path, contents);
  return path;
}

TEST(CommonConfig, DefaultsBeforeAnythingIsParsed) {
  Config cfg = gpt_config();
  EXPECT_EQ(cfg.get_string("dataset"), "shakespeare_char");
  EXPECT_EQ(cfg.get_int("batch_size"), 12);
  EXPECT_DOUBLE_EQ(cfg.get_float("learning_rate"), 6e-4);
  EXPECT_FALSE(cfg.get_bool("compile"));
  EXPECT_TRUE(cfg.has("n_embd"));
  EXPECT_FALSE(cfg.has("n_embed"));
  EXPECT_EQ(cfg.names().front(), "dataset");
  EXPECT_EQ(cfg.names().size(), 15u);
}

TEST(CommonConfig, CourseFileParsesUnchanged) {
  Config cfg = gpt_config();
  cfg.load_file(scratch_file("hca.txt", kCourseFile));
  EXPECT_EQ(cfg.get_string("dataset"), "hca");
  EXPECT_EQ(cfg.get_int("gradient_accumulation_steps"), 1);
  EXPECT_EQ(cfg.get_int("batch_size"), 64);
  EXPECT_EQ(cfg.get_int("block_size"), 256);
  EXPECT_EQ(cfg.get_int("n_layer"), 3);
  EXPECT_EQ(cfg.get_int("n_head"), 3);
  EXPECT_EQ(cfg.get_int("n_embd"), 192);
  EXPECT_DOUBLE_EQ(cfg.get_float("dropout"), 0.2);
  EXPECT_DOUBLE_EQ(cfg.get_float("learning_rate"), 1e-3);
  EXPECT_EQ(cfg.get_int("max_iters"), 5000);
  EXPECT_EQ(cfg.get_int("lr_decay_iters"), 5000);
  EXPECT_DOUBLE_EQ(cfg.get_float("min_lr"), 1e-4);
  EXPECT_DOUBLE_EQ(cfg.get_float("beta2"), 0.99);
  EXPECT_EQ(cfg.get_int("warmup_iters"), 100);
  EXPECT_FALSE(cfg.get_bool("compile"));  // not in the file: keeps its default
}

TEST(CommonConfig, FloatKeyAcceptsAnIntegerButIntKeyRejectsAFloat) {
  Config cfg = gpt_config();
  cfg.parse_text("learning_rate = 5000\nmin_lr = -2\nbeta2 = +.5\n", "f.txt");
  EXPECT_DOUBLE_EQ(cfg.get_float("learning_rate"), 5000.0);
  EXPECT_DOUBLE_EQ(cfg.get_float("min_lr"), -2.0);
  EXPECT_DOUBLE_EQ(cfg.get_float("beta2"), 0.5);

  std::string message =
      error_of([&] { cfg.parse_text("batch_size = 64\n\nmax_iters = 1e-3\n", "train.txt"); });
  EXPECT_NE(message.find("'max_iters'"), std::string::npos) << message;
  EXPECT_NE(message.find("integer"), std::string::npos) << message;
  EXPECT_NE(message.find("1e-3"), std::string::npos) << message;
  EXPECT_NE(message.find("train.txt"), std::string::npos) << message;
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;

  EXPECT_NE(error_of([&] { cfg.set("batch_size", "64.0"); }).find("integer"), std::string::npos);
  EXPECT_NE(error_of([&] { cfg.set("batch_size", "'64'"); }).find("'64'"), std::string::npos);
  EXPECT_NE(error_of([&] { cfg.set("dropout", "abc"); }).find("a number"), std::string::npos);
  EXPECT_NE(error_of([&] { cfg.set("batch_size", "99999999999999999999"); }).find("64 bits"),
            std::string::npos);
  cfg.set("batch_size", "-3");
  EXPECT_EQ(cfg.get_int("batch_size"), -3);
}

TEST(CommonConfig, ErrorInALoadedFileNamesThePathAndLine) {
  Config cfg = gpt_config();
  std::string path = scratch_file("bad.txt", "# comment\nn_layer = 3\nn_head = three\n");
  std::string message = error_of([&] { cfg.load_file(path); });
  EXPECT_NE(message.find(path + ", line 3"), std::string::npos) << message;
  EXPECT_NE(message.find("'n_head'"), std::string::npos) << message;
  EXPECT_NE(message.find("\"three\""), std::string::npos) << message;

  std::string missing = error_of([&] { cfg.load_file(path + ".missing"); });
  EXPECT_NE(missing.find(path + ".missing"), std::string::npos) << missing;
}

TEST(CommonConfig, UnknownKeyListsTheKnownKeysAndSuggestsTheClosest) {
  Config cfg = gpt_config();
  std::string message = error_of([&] { cfg.parse_text("n_layer = 2\nn_embed = 128\n", "x.txt"); });
  EXPECT_NE(message.find("unknown key 'n_embed'"), std::string::npos) << message;
  EXPECT_NE(message.find("x.txt, line 2"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'n_embd'?"), std::string::npos) << message;
  for (const std::string& name : cfg.names()) {
    EXPECT_NE(message.find(name), std::string::npos) << "missing " << name << " in " << message;
  }
  // Nothing close: no suggestion, still the list.
  std::string far = error_of([&] { cfg.set("completely_different", "1"); });
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
  EXPECT_NE(far.find("known keys: dataset, gradient_accumulation_steps"), std::string::npos)
      << far;
}

TEST(CommonConfig, Booleans) {
  Config cfg = gpt_config();
  cfg.parse_text("compile = True\n", "a");
  EXPECT_TRUE(cfg.get_bool("compile"));
  cfg.parse_text("compile = False\n", "a");
  EXPECT_FALSE(cfg.get_bool("compile"));
  cfg.parse_text("compile = true  # lower case works too\n", "a");
  EXPECT_TRUE(cfg.get_bool("compile"));
  cfg.parse_text("compile = false\n", "a");
  EXPECT_FALSE(cfg.get_bool("compile"));

  std::string message = error_of([&] { cfg.parse_text("compile = yes\n", "b.txt"); });
  EXPECT_NE(message.find("'compile' expects True or False"), std::string::npos) << message;
  EXPECT_NE(message.find("\"yes\""), std::string::npos) << message;
  EXPECT_NE(message.find("b.txt, line 1"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { cfg.set("compile", "1"); }), "");  // "": no error thrown
}

TEST(CommonConfig, QuotedStrings) {
  Config cfg = gpt_config();
  cfg.parse_text("dataset = \"hca\"\n", "a");
  EXPECT_EQ(cfg.get_string("dataset"), "hca");
  cfg.parse_text("dataset = 'with # hash'   # and a real comment\n", "a");
  EXPECT_EQ(cfg.get_string("dataset"), "with # hash");
  cfg.parse_text("dataset = 'it\\'s'\n", "a");
  EXPECT_EQ(cfg.get_string("dataset"), "it's");
  cfg.parse_text("dataset = \"say 'hi'\"\n", "a");
  EXPECT_EQ(cfg.get_string("dataset"), "say 'hi'");
  cfg.parse_text("dataset = ''\n", "a");
  EXPECT_EQ(cfg.get_string("dataset"), "");
  cfg.parse_text("dataset = plain_word\n", "a");  // unquoted is taken as it is
  EXPECT_EQ(cfg.get_string("dataset"), "plain_word");

  std::string open = error_of([&] { cfg.parse_text("\ndataset = 'hca\n", "s.txt"); });
  EXPECT_NE(open.find("no closing '"), std::string::npos) << open;
  EXPECT_NE(open.find("'dataset'"), std::string::npos) << open;
  EXPECT_NE(open.find("s.txt, line 2"), std::string::npos) << open;
  std::string trailing = error_of([&] { cfg.parse_text("dataset = 'hca' x\n", "s.txt"); });
  EXPECT_NE(trailing.find("after the closing quote"), std::string::npos) << trailing;
}

TEST(CommonConfig, CommentsBlankLinesAndSpacing) {
  Config cfg = gpt_config();
  cfg.parse_text(
      "# a whole-line comment\n"
      "\n"
      "   \t\n"
      "n_layer=5\n"
      "  n_head   =    7   # trailing comment\n"
      "n_embd = 96\r\n"  // a file saved on Windows
      "    # indented comment\n"
      "batch_size = 8",  // no final line break
      "spacing.txt");
  EXPECT_EQ(cfg.get_int("n_layer"), 5);
  EXPECT_EQ(cfg.get_int("n_head"), 7);
  EXPECT_EQ(cfg.get_int("n_embd"), 96);
  EXPECT_EQ(cfg.get_int("batch_size"), 8);
}

TEST(CommonConfig, SyntaxErrorsNameTheLine) {
  Config cfg = gpt_config();
  std::string no_equals = error_of([&] { cfg.parse_text("n_layer = 2\nn_head 4\n", "s.txt"); });
  EXPECT_NE(no_equals.find("expected 'name = value'"), std::string::npos) << no_equals;
  EXPECT_NE(no_equals.find("n_head 4"), std::string::npos) << no_equals;
  EXPECT_NE(no_equals.find("s.txt, line 2"), std::string::npos) << no_equals;

  std::string empty = error_of([&] { cfg.parse_text("n_layer =   # nothing\n", "s.txt"); });
  EXPECT_NE(empty.find("'n_layer' has no value"), std::string::npos) << empty;

  std::string bad_name = error_of([&] { cfg.parse_text("n layer = 2\n", "s.txt"); });
  EXPECT_NE(bad_name.find("'n layer' is not a valid key name"), std::string::npos) << bad_name;
}

TEST(CommonConfig, CommandLineOverridesTheFileWhateverTheOrder) {
  std::string path = scratch_file("course.txt", kCourseFile);
  Config cfg = gpt_config();
  // The override comes first on the line, the file second: the override still wins.
  EXPECT_TRUE(cfg.apply_args({"--batch_size=32", "--config=" + path, "--dataset=tiny"}));
  EXPECT_EQ(cfg.get_int("batch_size"), 32);
  EXPECT_EQ(cfg.get_string("dataset"), "tiny");
  EXPECT_EQ(cfg.get_int("n_layer"), 3);  // from the file
  EXPECT_DOUBLE_EQ(cfg.get_float("learning_rate"), 1e-3);

  // Two files: the later one wins over the earlier one; the command line over both.
  std::string second = scratch_file("second.txt", "n_layer = 6\nbatch_size = 16\n");
  Config two = gpt_config();
  two.apply_args({"--config=" + path, "--batch_size=8", "--config=" + second});
  EXPECT_EQ(two.get_int("n_layer"), 6);
  EXPECT_EQ(two.get_int("batch_size"), 8);

  // The same key twice on the command line: the last one wins.
  Config twice = gpt_config();
  twice.apply_args({"--n_head=2", "--n_head=4"});
  EXPECT_EQ(twice.get_int("n_head"), 4);
}

TEST(CommonConfig, CommandLineBoolsAndQuotes) {
  Config cfg = gpt_config();
  cfg.apply_args({"--compile"});
  EXPECT_TRUE(cfg.get_bool("compile"));
  cfg.apply_args({"--compile=False"});
  EXPECT_FALSE(cfg.get_bool("compile"));
  cfg.apply_args({"--dataset='quoted'", "--learning_rate=3e-4"});
  EXPECT_EQ(cfg.get_string("dataset"), "quoted");
  EXPECT_DOUBLE_EQ(cfg.get_float("learning_rate"), 3e-4);
  cfg.apply_args({"--dataset="});
  EXPECT_EQ(cfg.get_string("dataset"), "");
}

TEST(CommonConfig, CommandLineErrors) {
  Config cfg = gpt_config();
  std::string alone = error_of([&] { cfg.apply_args({"--batch_size"}); });
  EXPECT_NE(alone.find("--batch_size needs a value, e.g. --batch_size=12"), std::string::npos)
      << alone;
  EXPECT_NE(alone.find("an int key"), std::string::npos) << alone;

  std::string wrong = error_of([&] { cfg.apply_args({"--batch_size=big"}); });
  EXPECT_NE(wrong.find("'batch_size' expects an integer"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("command line argument '--batch_size=big'"), std::string::npos) << wrong;

  std::string unknown = error_of([&] { cfg.apply_args({"--batchsize=3"}); });
  EXPECT_NE(unknown.find("unknown key 'batchsize'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("did you mean 'batch_size'?"), std::string::npos) << unknown;
  EXPECT_NE(error_of([&] { cfg.apply_args({"--nothing"}); }).find("unknown key 'nothing'"),
            std::string::npos);

  std::string positional = error_of([&] { cfg.apply_args({"train.txt"}); });
  EXPECT_NE(positional.find("unexpected argument 'train.txt'"), std::string::npos) << positional;
  EXPECT_NE(positional.find("--config=FILE"), std::string::npos) << positional;

  EXPECT_NE(error_of([&] { cfg.apply_args({"--config"}); }).find("--config=FILE"),
            std::string::npos);
  std::string no_file = error_of([&] { cfg.apply_args({"--config=/no/such/file.txt"}); });
  EXPECT_NE(no_file.find("/no/such/file.txt"), std::string::npos) << no_file;
}

TEST(CommonConfig, HelpIsDetectedBeforeAnythingElse) {
  Config cfg = gpt_config();
  EXPECT_FALSE(cfg.apply_args({"--batch_size=oops", "--help"}));
  EXPECT_FALSE(cfg.apply_args({"-h"}));
  EXPECT_EQ(cfg.get_int("batch_size"), 12);  // nothing was applied

  const char* argv[] = {"gpt", "--n_layer=2"};
  EXPECT_TRUE(cfg.parse_args(2, argv));
  EXPECT_EQ(cfg.get_int("n_layer"), 2);
}

TEST(CommonConfig, HelpTextListsEveryKeyWithTypeDefaultAndHelp) {
  Config cfg = gpt_config();
  std::string help = cfg.help_text("gpt");
  EXPECT_EQ(help.rfind("usage: gpt [--config=FILE]", 0), 0u) << help;
  // One line per key: name, type, default, help, in that order.
  auto line_of = [&](const std::string& name) {
    size_t start = help.find("  " + name + " ");
    EXPECT_NE(start, std::string::npos) << name;
    return help.substr(start, help.find('\n', start) - start);
  };
  std::string batch = line_of("batch_size");
  EXPECT_LT(batch.find("int"), batch.find("12"));
  EXPECT_LT(batch.find("12"), batch.find("sequences per micro-step"));
  std::string lr = line_of("learning_rate");
  EXPECT_NE(lr.find("float"), std::string::npos);
  EXPECT_NE(lr.find("0.0006"), std::string::npos) << lr;
  std::string compile = line_of("compile");
  EXPECT_NE(compile.find("bool"), std::string::npos);
  EXPECT_NE(compile.find("False"), std::string::npos);
  std::string dataset = line_of("dataset");
  EXPECT_NE(dataset.find("string"), std::string::npos);
  EXPECT_NE(dataset.find("'shakespeare_char'"), std::string::npos);
  for (const std::string& name : cfg.names()) line_of(name);
}

TEST(CommonConfig, DumpIsAConfigFileThatReadsBackTheSame) {
  Config small;
  small.add_string("name", "it's", "a string with a quote");
  small.add_int("steps", 5000, "an int");
  small.add_float("lr", 1e-3, "a float");
  small.add_float("scale", 2, "a whole float");
  small.add_bool("fast", true, "a bool");
  EXPECT_EQ(small.dump(),
            "name = 'it\\'s'\n"
            "steps = 5000\n"
            "lr = 0.001\n"
            "scale = 2.0\n"
            "fast = True\n");

  Config cfg = gpt_config();
  cfg.parse_text(kCourseFile, "course");
  cfg.apply_args({"--compile", "--dropout=0.1234567890123"});
  Config again = gpt_config();
  again.parse_text(cfg.dump(), "dump");
  EXPECT_EQ(again.dump(), cfg.dump());
  EXPECT_EQ(again.get_float("dropout"), 0.1234567890123);  // exactly: shortest round-trip text
  EXPECT_TRUE(again.get_bool("compile"));
  EXPECT_EQ(again.get_string("dataset"), "hca");
}

TEST(CommonConfig, GettersCheckNameAndType) {
  Config cfg = gpt_config();
  std::string wrong_type = error_of([&] { cfg.get_int("learning_rate"); });
  EXPECT_EQ(wrong_type, "config: get_int(\"learning_rate\"): the key is a float; use get_float");
  EXPECT_NE(error_of([&] { cfg.get_string("compile"); }).find("the key is a bool"),
            std::string::npos);
  std::string missing = error_of([&] { cfg.get_float("lr"); });
  EXPECT_NE(missing.find("unknown key 'lr'"), std::string::npos) << missing;
  EXPECT_NE(missing.find("known keys:"), std::string::npos) << missing;
}

TEST(CommonConfig, RegisteringKeys) {
  Config cfg;
  cfg.add_int("steps", 1, "");
  EXPECT_NE(error_of([&] { cfg.add_float("steps", 1, ""); }).find("'steps' was added twice"),
            std::string::npos);
  EXPECT_NE(error_of([&] { cfg.add_int("2fast", 1, ""); }).find("not a valid key name"),
            std::string::npos);
  EXPECT_NE(error_of([&] { cfg.add_string("config", "", ""); }).find("reserved"),
            std::string::npos);
  Config empty;
  EXPECT_NE(error_of([&] { empty.set("x", "1"); }).find("no keys are defined"), std::string::npos);
}

}  // namespace test_common_config
