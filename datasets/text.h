#pragma once
// Text for a character-level language model (the "baby GPT" lesson, as nanoGPT's shakespeare_char).
//
//   TextDataset data = TextDataset::from_file("andersen.txt");   // or load_corpus("") = fortunes
//   data.vocab().size()                                          // e.g. 84 distinct characters
//   TextBatch b = data.get_batch(Split::Train, 64, 256, gen);    // b.x, b.y: int64 [64, 256]
//
// A "character" is a Unicode code point, not a byte: the text is decoded from UTF-8 first, so
// Danish "æ", "ø" and "å" (two bytes each in UTF-8) are one token each, and the model never sees
// half a letter.
//
// UTF-8 in brief: a code point is 1 to 4 bytes.
//   0xxxxxxx                              U+0000..U+007F (ASCII)
//   110xxxxx 10xxxxxx                     U+0080..U+07FF ("æ" = C3 A6)
//   1110xxxx 10xxxxxx 10xxxxxx            U+0800..U+FFFF (but not the surrogates U+D800..U+DFFF)
//   11110xxx 10xxxxxx 10xxxxxx 10xxxxxx   U+10000..U+10FFFF (emoji)
// Each code point must use the shortest form ("overlong" forms are invalid: they let one
// character hide behind several spellings).
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "datasets/dataset.h"

namespace ember {

// ---- UTF-8 ---------------------------------------------------------------------------------------
// Bytes -> code points. Invalid UTF-8 is an error naming `source` (a file name) and the byte offset:
//   utf8: invalid UTF-8 in notes.txt at byte offset 17: truncated sequence (0xC3 starts a 2-byte
//   character, but the text ends right after it)
std::u32string decode_utf8(const std::string& bytes, const std::string& source = "text");
std::string encode_utf8(const std::u32string& code_points);
std::u32string read_utf8_file(const std::string& path);

// "'a' (U+0061)", or "U+000A" for characters that do not print: used in error messages.
std::string describe_char(char32_t c);

// ---- Vocab: characters <-> token ids --------------------------------------------------------------
// The sorted set of the characters in a text; a character's id is its place in that order.
class Vocab {
 public:
  Vocab() = default;
  explicit Vocab(const std::u32string& text);

  int64_t size() const { return static_cast<int64_t>(chars_.size()); }
  const std::u32string& chars() const { return chars_; }  // chars()[id]
  bool contains(char32_t c) const;
  int64_t id(char32_t c) const;  // an error names the character when it is not in the vocab

  std::vector<int64_t> encode(const std::u32string& text) const;
  std::vector<int64_t> encode(const std::string& utf8) const;
  std::string decode(const std::vector<int64_t>& ids) const;  // -> UTF-8

  // A small text file: a comment line, then one code point per line as U+XXXX (followed by the
  // character itself when it prints, for people). Hex keeps newline and tab characters safe.
  void save(const std::string& path) const;
  static Vocab load(const std::string& path);

 private:
  std::u32string chars_;  // sorted, no duplicates
};

// ---- TextDataset ---------------------------------------------------------------------------------
struct TextBatch {
  Tensor x;  // int64 [B, T]: token ids at random places in the text
  Tensor y;  // int64 [B, T]: the next token after each one (x shifted left by one)
};

class TextDataset {
 public:
  // The vocab covers the whole text; the first train_fraction of the tokens is Split::Train, the
  // rest Split::Val (a split by position, not at random: the val text is text the model never saw).
  explicit TextDataset(const std::string& utf8_text, const std::string& source = "text", double train_fraction = 0.9);
  static TextDataset from_file(const std::string& path, double train_fraction = 0.9);

  const Vocab& vocab() const { return vocab_; }
  int64_t size(Split split) const;  // tokens in the split
  std::vector<int64_t> tokens(Split split) const;

  // batch_size windows of block_size + 1 tokens, each at a random offset in the split (drawn from
  // gen): x is the first block_size tokens of each window, y the last block_size.
  TextBatch get_batch(Split split, int64_t batch_size, int64_t block_size, Generator& gen) const;

 private:
  // [begin, end) of a split in tokens_
  std::pair<int64_t, int64_t> range(Split split) const;

  Vocab vocab_;
  std::vector<int64_t> tokens_;  // the whole text as ids
  int64_t train_end_ = 0;        // tokens_[0, train_end_) is Train, the rest Val
};

// ---- corpora -------------------------------------------------------------------------------------
inline constexpr const char* kFortunesDir = "/usr/share/games/fortunes";

// The default corpus: the plain-text files of the Debian package 'fortunes' (about 2.5 MB of
// English quotes, jokes and poems), in sorted file-name order. The files are the ones without an
// extension (the .dat files are indexes and the .u8 names are links). They are kept as they are,
// including the lines of "%" that separate fortunes; when a file does not end with such a line one
// is added, so that the last fortune of a file does not run into the first of the next.
std::string default_corpus(const std::string& dir = kFortunesDir);
// The data files default_corpus reads, in order.
std::vector<std::string> fortune_files(const std::string& dir = kFortunesDir);
// The text of `path`, or default_corpus() when path is empty.
std::string load_corpus(const std::string& path);

}  // namespace ember
