// Text: UTF-8 decoding (and its errors), the character vocabulary, TextDataset batches, and the
// default corpus.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <filesystem>
#include <fstream>

#include "datasets/text.h"
#include "core/fs.h"

using namespace ember;

namespace test_datasets_text {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = std::string(EMBER_TEST_TMP) + "/datasets/" + info->test_suite_name() + "." + info->name();
  std::filesystem::remove_all(dir);
  make_dirs(dir);
  return dir;
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text) << "\nexpected: " << (part)

// The error that decoding `bytes` gives.
std::string decode_error(const std::string& bytes) {
  return error_of([&] { decode_utf8(bytes, "sample.txt"); });
}

TEST(Utf8, DecodesAsciiDanishAndEmoji) {
  EXPECT_EQ(decode_utf8("Hej!\n"), (std::u32string{'H', 'e', 'j', '!', '\n'}));
  // æ ø å: two bytes each (C3 A6, C3 B8, C3 A5), one code point each
  const std::string danish = "\xC3\xA6\xC3\xB8\xC3\xA5";
  EXPECT_EQ(decode_utf8(danish), (std::u32string{0xE6, 0xF8, 0xE5}));
  // the euro sign (3 bytes) and an emoji (4 bytes: F0 9F 98 80 = U+1F600)
  EXPECT_EQ(decode_utf8("\xE2\x82\xAC\xF0\x9F\x98\x80"), (std::u32string{0x20AC, 0x1F600}));
  // the largest of each length
  EXPECT_EQ(decode_utf8("\x7F\xDF\xBF\xEF\xBF\xBF\xF4\x8F\xBF\xBF"), (std::u32string{0x7F, 0x7FF, 0xFFFF, 0x10FFFF}));
  // and back
  for (const std::string& s : {std::string("Der kom en soldat"), danish, std::string("\xF0\x9F\x98\x80 ok")})
    EXPECT_EQ(encode_utf8(decode_utf8(s)), s);
  EXPECT_EQ(decode_utf8(""), std::u32string());
}

TEST(Utf8, InvalidInputNamesTheSourceAndTheByteOffset) {
  // overlong: "/" (U+002F) in 2, 3 and 4 bytes
  EXPECT_CONTAINS(decode_error("ab\xC0\xAF"),
                  "utf8: invalid UTF-8 in sample.txt at byte offset 2: overlong encoding (2 bytes for U+002F");
  EXPECT_CONTAINS(decode_error("\xE0\x80\xAF"), "at byte offset 0: overlong encoding (3 bytes for U+002F");
  EXPECT_CONTAINS(decode_error("x\xF0\x80\x80\xAF"), "at byte offset 1: overlong encoding (4 bytes for U+002F");
  // surrogates: U+D800 and U+DFFF
  EXPECT_CONTAINS(decode_error("abc\xED\xA0\x80"), "at byte offset 3: surrogate U+D800");
  EXPECT_CONTAINS(decode_error("\xED\xBF\xBF"), "at byte offset 0: surrogate U+DFFF");
  // truncated: at the end of the text, and interrupted by a plain character
  EXPECT_CONTAINS(
      decode_error("s\xC3\xB8s\xC3"),
      "at byte offset 4: truncated sequence (0xC3 starts a 2-byte character, but the text ends right after it)");
  EXPECT_CONTAINS(
      decode_error("\xF0\x9F\x98"),
      "at byte offset 0: truncated sequence (0xF0 starts a 4-byte character, but the text ends after 2 more)");
  EXPECT_CONTAINS(decode_error("ok \xE2\x82x"),
                  "at byte offset 3: truncated sequence (0xE2 starts a 3-byte character, but byte 3 is 0x78, not a "
                  "continuation byte)");
  // a continuation byte with no lead, bytes that never occur, and code points past U+10FFFF
  EXPECT_CONTAINS(decode_error("a\x80"), "at byte offset 1: unexpected continuation byte 0x80");
  EXPECT_CONTAINS(decode_error("\xFF"), "at byte offset 0: byte 0xFF never occurs in UTF-8");
  EXPECT_CONTAINS(decode_error("\xF4\x90\x80\x80"), "at byte offset 0: code point U+110000 is above U+10FFFF");
  // a file: the message names it
  const std::string path = scratch_dir() + "/latin1.txt";
  std::ofstream(path, std::ios::binary) << "caf\xE9 au lait";  // Latin-1, not UTF-8
  EXPECT_CONTAINS(error_of([&] { read_utf8_file(path); }), "utf8: invalid UTF-8 in " + path + " at byte offset 3");
}

TEST(Vocab, SortedCharactersEncodeDecodeAndErrors) {
  const std::string text = "Der kom en soldat marcherende hen ad landevejen: \xC3\xA6\xC3\xB8\xC3\xA5!\n";
  Vocab vocab(decode_utf8(text));
  // the sorted set of code points: '\n' ' ' '!' ':' 'D', the lower-case letters, then å æ ø
  EXPECT_EQ(vocab.chars()[0], U'\n');
  EXPECT_EQ(vocab.chars()[1], U' ');
  EXPECT_EQ(vocab.id(U'\n'), 0);
  EXPECT_EQ(vocab.chars().back(), U'\u00F8');  // ø (F8) after å (E5) and æ (E6)
  EXPECT_EQ(vocab.id(U'\u00E5') + 1, vocab.id(U'\u00E6'));
  EXPECT_TRUE(std::is_sorted(vocab.chars().begin(), vocab.chars().end()));
  EXPECT_EQ(vocab.size(), 23);
  std::u32string unique = decode_utf8(text);
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  EXPECT_EQ(vocab.chars(), unique);
  // round trip; æøå are single tokens
  std::vector<int64_t> ids = vocab.encode(text);
  EXPECT_EQ(ids.size(), decode_utf8(text).size());
  EXPECT_EQ(vocab.decode(ids), text);
  EXPECT_EQ(vocab.encode(std::string("\xC3\xA6")), (std::vector<int64_t>{vocab.id(0xE6)}));
  // a character outside the vocab, and an id outside it
  EXPECT_CONTAINS(error_of([&] { vocab.encode(std::string("Soldat")); }),
                  "vocab: character 'S' (U+0053) is not in the vocabulary (23 characters)");
  EXPECT_CONTAINS(error_of([&] { vocab.encode(std::string("\xC3\x9F")); }), "vocab: character '\xC3\x9F' (U+00DF)");
  EXPECT_CONTAINS(error_of([&] { vocab.encode(std::string("\t")); }),
                  "vocab: character U+0009 is not in the vocabulary");
  EXPECT_CONTAINS(error_of([&] {
                    vocab.decode({0, 23});
                  }),
                  "vocab: id 23 is out of range for a vocabulary of 23 characters");
}

TEST(Vocab, SaveAndLoadKeepNewlinesTabsAndEmoji) {
  const std::string dir = scratch_dir();
  Vocab vocab(decode_utf8("line one\nline\ttwo\r\n%\n\xF0\x9F\x98\x80 \xC3\xA5 #"));
  vocab.save(dir + "/vocab.txt");
  Vocab loaded = Vocab::load(dir + "/vocab.txt");
  EXPECT_EQ(loaded.chars(), vocab.chars());
  const std::string file = read_file(dir + "/vocab.txt");
  EXPECT_NE(file.find("U+000A\n"), std::string::npos);              // newline: hex only
  EXPECT_NE(file.find("U+00E5  '\xC3\xA5'\n"), std::string::npos);  // å: hex and the letter
  EXPECT_NE(file.find("U+1F600  '\xF0\x9F\x98\x80'\n"), std::string::npos);
  // broken files
  std::ofstream(dir + "/bad.txt") << "# vocab\nU+0041\nhello\n";
  EXPECT_CONTAINS(error_of([&] { Vocab::load(dir + "/bad.txt"); }),
                  "vocab: line 3 of " + dir + "/bad.txt should start with a code point such as U+0061, got \"hello\"");
  std::ofstream(dir + "/unsorted.txt") << "U+0042\nU+0041\n";
  EXPECT_CONTAINS(error_of([&] { Vocab::load(dir + "/unsorted.txt"); }),
                  "line 2 of " + dir + "/unsorted.txt: U+0041 is out of order");
  EXPECT_CONTAINS(error_of([&] { Vocab::load(dir + "/missing.txt"); }),
                  "vocab: file not found: " + dir + "/missing.txt");
}

TEST(TextDataset, SplitsNinetyTenAndBatchesAreShiftedByOne) {
  // 1000 characters of a repeating sentence with Danish letters
  std::string text;
  // "Hækken er grøn og åen løber. " (split where a letter after an escape would join the escape)
  const std::string sentence = "H\xC3\xA6kken er gr\xC3\xB8n og \xC3\xA5" "en l\xC3\xB8" "ber. ";
  while (decode_utf8(text).size() < 1000) text += sentence;
  std::u32string chars = decode_utf8(text).substr(0, 1000);
  text = encode_utf8(chars);
  TextDataset data(text, "tale.txt");
  EXPECT_EQ(data.size(Split::Train), 900);
  EXPECT_EQ(data.size(Split::Val), 100);
  EXPECT_EQ(data.vocab().decode(data.tokens(Split::Val)), encode_utf8(chars.substr(900)));

  Generator gen(0);
  TextBatch batch = data.get_batch(Split::Train, 4, 16, gen);
  ASSERT_EQ(batch.x.shape(), (Shape{4, 16}));
  ASSERT_EQ(batch.y.shape(), (Shape{4, 16}));
  EXPECT_EQ(batch.x.dtype(), DType::Int64);
  const std::vector<int64_t> train = data.tokens(Split::Train);
  for (int64_t b = 0; b < 4; ++b) {
    // y is x shifted left by one: y[t] = x[t + 1]
    for (int64_t t = 0; t + 1 < 16; ++t) EXPECT_EQ(batch.y.at({b, t}), batch.x.at({b, t + 1}));
    // the window x[b] followed by the last y is a piece of the training text
    std::vector<int64_t> window = batch.x.slice(0, b, b + 1).reshape({16}).to_vector<int64_t>();
    window.push_back(static_cast<int64_t>(batch.y.at({b, 15})));
    EXPECT_NE(std::search(train.begin(), train.end(), window.begin(), window.end()), train.end());
  }
  // val windows come from the last 100 characters; the same seed gives the same batch
  Generator g1(5), g2(5);
  TextBatch v1 = data.get_batch(Split::Val, 8, 99, g1), v2 = data.get_batch(Split::Val, 8, 99, g2);
  EXPECT_EQ(v1.x.to_vector<int64_t>(), v2.x.to_vector<int64_t>());
  const std::vector<int64_t> val = data.tokens(Split::Val);
  for (int64_t b = 0; b < 8; ++b) {
    // with 100 tokens and blocks of 99 there are only two places: offset 0 or 1
    int64_t first = static_cast<int64_t>(v1.x.at({b, 0}));
    EXPECT_TRUE(first == val[0] || first == val[1]);
  }
  EXPECT_CONTAINS(error_of([&] { data.get_batch(Split::Val, 1, 100, gen); }),
                  "TextDataset: the val split has 100 tokens, too few for block_size 100 (need at least 101)");
  EXPECT_CONTAINS(error_of([&] { data.get_batch(Split::Test, 1, 10, gen); }), "TextDataset: there is no test split");
  EXPECT_CONTAINS(error_of([] { TextDataset("ok \xC3", "tale.txt"); }),
                  "utf8: invalid UTF-8 in tale.txt at byte offset 3");
}

TEST(TextDataset, DefaultCorpusIsTheFortunesFiles) {
  if (!std::filesystem::is_directory(kFortunesDir)) GTEST_SKIP() << kFortunesDir << " is not installed";
  std::vector<std::string> files = fortune_files();
  ASSERT_FALSE(files.empty());
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
  for (const std::string& f : files) {
    EXPECT_FALSE(std::filesystem::is_symlink(f)) << f;
    EXPECT_NE(std::filesystem::path(f).extension(), ".dat") << f;
  }
  const std::string corpus = load_corpus("");
  EXPECT_GT(corpus.size(), 100000u);
  // the files as they are, in order, with "%" lines between fortunes
  const std::string first = read_file(files[0]);
  EXPECT_EQ(corpus.substr(0, first.size()), first);
  EXPECT_NE(corpus.find("\n%\n"), std::string::npos);
  EXPECT_EQ(corpus.substr(corpus.size() - 2), "%\n");
  // valid UTF-8, and a vocabulary of a few hundred characters at most
  Vocab vocab(decode_utf8(corpus, "fortunes"));
  EXPECT_GT(vocab.size(), 60);
  EXPECT_LT(vocab.size(), 400);
  // any other file by its path
  const std::string path = scratch_dir() + "/tale.txt";
  std::ofstream(path) << "Der kom en soldat";
  EXPECT_EQ(load_corpus(path), "Der kom en soldat");
  EXPECT_EQ(TextDataset::from_file(path).vocab().size(), 13);
  EXPECT_CONTAINS(error_of([&] { load_corpus(path + ".missing"); }), "text: file not found: " + path + ".missing");
}

}  // namespace test_datasets_text
