#include "datasets/text.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/fs.h"

namespace ember {

// ---- UTF-8 ---------------------------------------------------------------------------------------

namespace {

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%02X", b);
  return buf;
}

std::string code_point_name(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(c));
  return buf;
}

template <typename... Args>
[[noreturn]] void invalid_utf8(const std::string& source, size_t offset, const Args&... what) {
  fail("utf8: invalid UTF-8 in ", source, " at byte offset ", offset, ": ", what...);
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Whether c shows as a visible character (not a control character, a line or paragraph separator,
// or something that is not a character at all).
bool prints(char32_t c) {
  return c >= 0x20 && c != 0x7F && !(c >= 0x80 && c < 0xA0) && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF) &&
         c != 0x2028 && c != 0x2029;
}

}  // namespace

std::u32string decode_utf8(const std::string& bytes, const std::string& source) {
  std::u32string out;
  out.reserve(bytes.size());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t lead = static_cast<uint8_t>(bytes[i]);
    if (lead < 0x80) {  // ASCII: the common case
      out.push_back(lead);
      ++i;
      continue;
    }
    // The lead byte says how many bytes the character has, and holds its top bits.
    int length;
    char32_t c;
    if (lead >= 0xC0 && lead < 0xE0) {
      length = 2, c = lead & 0x1F;
    } else if (lead >= 0xE0 && lead < 0xF0) {
      length = 3, c = lead & 0x0F;
    } else if (lead >= 0xF0 && lead < 0xF8) {
      length = 4, c = lead & 0x07;
    } else if (lead < 0xC0) {
      invalid_utf8(source, i, "unexpected continuation byte ", hex_byte(lead),
                   " (10xxxxxx) where a character should start");
    } else {
      invalid_utf8(source, i, "byte ", hex_byte(lead), " never occurs in UTF-8");
    }
    // Each following byte must be a continuation byte 10xxxxxx and adds 6 more bits.
    for (int k = 1; k < length; ++k) {
      if (i + k >= n)
        invalid_utf8(source, i, "truncated sequence (", hex_byte(lead), " starts a ", length,
                     "-byte character, but the text ends ",
                     k == 1 ? std::string("right after it") : "after " + std::to_string(k - 1) + " more", ")");
      const uint8_t next = static_cast<uint8_t>(bytes[i + k]);
      if ((next & 0xC0) != 0x80)
        invalid_utf8(source, i, "truncated sequence (", hex_byte(lead), " starts a ", length,
                     "-byte character, but byte ", k + 1, " is ", hex_byte(next), ", not a continuation byte)");
      c = (c << 6) | (next & 0x3F);
    }
    static const char32_t kSmallest[5] = {0, 0, 0x80, 0x800, 0x10000};  // shortest form per length
    if (c < kSmallest[length])
      invalid_utf8(source, i, "overlong encoding (", length, " bytes for ", code_point_name(c), ", which needs fewer)");
    if (c >= 0xD800 && c <= 0xDFFF)
      invalid_utf8(source, i, "surrogate ", code_point_name(c),
                   " (surrogates are for UTF-16 and not allowed in UTF-8)");
    if (c > 0x10FFFF) invalid_utf8(source, i, "code point ", code_point_name(c), " is above U+10FFFF");
    out.push_back(c);
    i += length;
  }
  return out;
}

std::string encode_utf8(const std::u32string& code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) {
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
      fail("utf8: ", code_point_name(c), " is not a character that UTF-8 can encode");
    append_utf8(out, c);
  }
  return out;
}

std::u32string read_utf8_file(const std::string& path) {
  check(file_exists(path), "text: file not found: ", path);
  return decode_utf8(read_file(path), path);
}

std::string describe_char(char32_t c) {
  if (!prints(c)) return code_point_name(c);
  std::string out = "'";
  append_utf8(out, c);
  out += "' (";
  out += code_point_name(c);
  out += ")";
  return out;
}

// ---- Vocab ---------------------------------------------------------------------------------------

Vocab::Vocab(const std::u32string& text) {
  // Mark every code point that occurs; the marked ones, in order, are the sorted set. (One pass
  // over the text: a corpus has millions of characters but only a few hundred distinct ones.)
  std::vector<bool> occurs(0x110000, false);
  for (char32_t c : text) {
    if (c >= 0x110000) fail("vocab: ", code_point_name(c), " is not a Unicode code point");
    occurs[c] = true;
  }
  for (char32_t c = 0; c < 0x110000; ++c)
    if (occurs[c]) chars_.push_back(c);
}

bool Vocab::contains(char32_t c) const { return std::binary_search(chars_.begin(), chars_.end(), c); }

int64_t Vocab::id(char32_t c) const {
  auto it = std::lower_bound(chars_.begin(), chars_.end(), c);
  // (fail, not check: check would build the message for every character encoded)
  if (it == chars_.end() || *it != c)
    fail("vocab: character ", describe_char(c), " is not in the vocabulary (", size(), " characters)");
  return it - chars_.begin();
}

std::vector<int64_t> Vocab::encode(const std::u32string& text) const {
  std::vector<int64_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = id(text[i]);
  return ids;
}

std::vector<int64_t> Vocab::encode(const std::string& utf8) const { return encode(decode_utf8(utf8)); }

std::string Vocab::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    check(id >= 0 && id < size(), "vocab: id ", id, " is out of range for a vocabulary of ", size(), " characters");
    append_utf8(out, chars_[id]);
  }
  return out;
}

void Vocab::save(const std::string& path) const {
  std::string text = "# ember vocab: " + std::to_string(size()) + " characters, one per line in id order\n";
  for (char32_t c : chars_) {
    text += code_point_name(c);  // "U+00E6  'æ'", or only "U+000A" for a newline
    if (prints(c)) {
      text += "  '";
      append_utf8(text, c);
      text += "'";
    }
    text += "\n";
  }
  write_file_atomic(path, text);
}

Vocab Vocab::load(const std::string& path) {
  check(file_exists(path), "vocab: file not found: ", path);
  const std::string text = read_file(path);
  Vocab vocab;
  size_t start = 0;
  for (int line_number = 1; start < text.size(); ++line_number) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    // "U+00E6  'æ'": only the hex number counts
    unsigned value = 0;
    int used = 0;
    check(std::sscanf(line.c_str(), "U+%x%n", &value, &used) == 1 && used > 2, "vocab: line ", line_number, " of ",
          path, " should start with a code point such as U+0061, got \"", line, "\"");
    const char32_t c = value;
    check(c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF), "vocab: line ", line_number, " of ", path, ": ",
          code_point_name(c), " is not a character");
    check(vocab.chars_.empty() || c > vocab.chars_.back(), "vocab: line ", line_number, " of ", path, ": ",
          code_point_name(c), " is out of order (the code points must be sorted, each once)");
    vocab.chars_.push_back(c);
  }
  return vocab;
}

// ---- TextDataset ---------------------------------------------------------------------------------

TextDataset::TextDataset(const std::string& utf8_text, const std::string& source, double train_fraction) {
  check(train_fraction > 0 && train_fraction < 1, "TextDataset: train_fraction must be in (0, 1), got ",
        train_fraction);
  const std::u32string text = decode_utf8(utf8_text, source);
  vocab_ = Vocab(text);
  tokens_ = vocab_.encode(text);
  train_end_ = static_cast<int64_t>(train_fraction * static_cast<double>(tokens_.size()));
}

TextDataset TextDataset::from_file(const std::string& path, double train_fraction) {
  check(file_exists(path), "TextDataset: file not found: ", path);
  return TextDataset(read_file(path), path, train_fraction);
}

std::pair<int64_t, int64_t> TextDataset::range(Split split) const {
  check(split == Split::Train || split == Split::Val, "TextDataset: there is no ", split_name(split),
        " split, only train and val");
  return split == Split::Train ? std::pair<int64_t, int64_t>{0, train_end_}
                               : std::pair<int64_t, int64_t>{train_end_, static_cast<int64_t>(tokens_.size())};
}

int64_t TextDataset::size(Split split) const {
  auto [begin, end] = range(split);
  return end - begin;
}

std::vector<int64_t> TextDataset::tokens(Split split) const {
  auto [begin, end] = range(split);
  return std::vector<int64_t>(tokens_.begin() + begin, tokens_.begin() + end);
}

TextBatch TextDataset::get_batch(Split split, int64_t batch_size, int64_t block_size, Generator& gen) const {
  auto [begin, end] = range(split);
  check(batch_size > 0 && block_size > 0, "TextDataset: batch_size and block_size must be positive, got ", batch_size,
        " and ", block_size);
  check(end - begin > block_size, "TextDataset: the ", split_name(split), " split has ", end - begin,
        " tokens, too few for block_size ", block_size, " (need at least ", block_size + 1, ")");
  TextBatch batch{Tensor::empty({batch_size, block_size}, DType::Int64),
                  Tensor::empty({batch_size, block_size}, DType::Int64)};
  int64_t* x = batch.x.data<int64_t>();
  int64_t* y = batch.y.data<int64_t>();
  for (int64_t b = 0; b < batch_size; ++b) {
    // a window of block_size + 1 tokens starting anywhere it fits
    const int64_t* window = tokens_.data() + begin + gen.randint(0, end - begin - block_size);
    std::copy(window, window + block_size, x + b * block_size);
    std::copy(window + 1, window + block_size + 1, y + b * block_size);
  }
  return batch;
}

// ---- corpora -------------------------------------------------------------------------------------

std::vector<std::string> fortune_files(const std::string& dir) {
  check(std::filesystem::is_directory(dir), "text: ", dir, " not found: install the Debian package 'fortunes' ",
        "(apt-get install fortunes), or give the path of a text file");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    // data files only: not the .dat indexes, not the .u8 links, not folders
    if (entry.is_symlink() || !entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext == ".dat" || ext == ".u8") continue;
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  check(!files.empty(), "text: no fortune files in ", dir);
  return files;
}

std::string default_corpus(const std::string& dir) {
  std::string corpus;
  for (const std::string& path : fortune_files(dir)) {
    corpus += read_file(path);
    // keep a "%" line between the last fortune of one file and the first of the next
    if (!corpus.empty() && corpus.back() != '\n') corpus += '\n';
    if (corpus.size() < 2 || corpus.compare(corpus.size() - 2, 2, "%\n") != 0) corpus += "%\n";
  }
  return corpus;
}

std::string load_corpus(const std::string& path) {
  if (path.empty()) return default_corpus();
  check(file_exists(path), "text: file not found: ", path);
  return read_file(path);
}

}  // namespace ember
