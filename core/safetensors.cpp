// Reading and writing safetensors files (the format is described in core/safetensors.h).
//
// Three parts, top to bottom:
//   1. a small JSON reader for the header: objects, arrays, strings (with escapes) and integers,
//      which is all safetensors uses, and nothing else;
//   2. save_safetensors: header text, then an atomic write (temporary file, fsync, rename);
//   3. load_safetensors: read the length, parse the header, check every entry against the file,
//      then read each tensor's bytes straight into its storage.
#include "core/safetensors.h"

#include "core/json_escape.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>

namespace ember {

// The data section is raw little-endian; on a little-endian machine (x86, ARM) that is simply
// memory. A big-endian port would need to swap bytes here.
static_assert(std::endian::native == std::endian::little, "safetensors.cpp assumes a little-endian machine");

namespace {

constexpr const char* kMetadataKey = "__metadata__";
constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // as the reference implementation: 100 MB
constexpr int kMaxJsonDepth = 16;                   // safetensors needs 3; this stops "[[[[..." attacks

// ---- dtypes ---------------------------------------------------------------------------------------

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
  }
  return "?";
}

bool parse_safetensors_dtype(const std::string& s, DType& out) {
  if (s == "F32") out = DType::Float32;
  else if (s == "F64") out = DType::Float64;
  else if (s == "I64") out = DType::Int64;
  else return false;
  return true;
}

// ---- 1. JSON --------------------------------------------------------------------------------------

// A parsed JSON value; `offset` is where it starts in the file, for error messages.
struct JsonValue {
  enum class Kind { Object, Array, String, Integer };
  Kind kind = Kind::Integer;
  uint64_t offset = 0;
  std::string string;                                      // Kind::String
  int64_t integer = 0;                                     // Kind::Integer
  std::vector<JsonValue> array;                            // Kind::Array
  std::vector<std::pair<std::string, JsonValue>> object;   // Kind::Object, in file order
};

const char* kind_name(JsonValue::Kind k) {
  switch (k) {
    case JsonValue::Kind::Object: return "an object";
    case JsonValue::Kind::Array: return "an array";
    case JsonValue::Kind::String: return "a string";
    case JsonValue::Kind::Integer: return "an integer";
  }
  return "?";
}

// Recursive descent over the header text. Positions in errors are file offsets (header byte i is
// file byte 8 + i), so they can be found with a hex viewer.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : text_(text), path_(path) {}

  // The whole header: one object, then only whitespace (the padding) up to the end.
  JsonValue parse_document() {
    skip_whitespace();
    if (peek() != '{') error("the header must be a JSON object starting with '{'");
    JsonValue root = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) error("unexpected text after the header object");
    return root;
  }

 private:
  const std::string& text_;
  const std::string& path_;
  size_t pos_ = 0;

  [[noreturn]] void error(const std::string& what) const {
    fail("load_safetensors: '", path_, "': malformed JSON header at file offset ", 8 + pos_, " (", found(),
         "): ", what);
  }

  std::string found() const {
    if (pos_ >= text_.size()) return "at the end of the header";
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x20 && c < 0x7f) return std::string("found '") + static_cast<char>(c) + "'";
    return "found byte " + std::to_string(c);
  }

  int peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : -1; }

  void skip_whitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c, const char* context) {
    skip_whitespace();
    if (peek() != c) error(std::string("expected '") + c + "' " + context);
    ++pos_;
  }

  JsonValue parse_value(int depth) {
    if (depth > kMaxJsonDepth) error("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    skip_whitespace();
    JsonValue v;
    v.offset = 8 + pos_;
    int c = peek();
    if (c == '{') {
      v.kind = JsonValue::Kind::Object;
      ++pos_;
      skip_whitespace();
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      while (true) {
        skip_whitespace();
        if (peek() != '"') error("expected a string key in an object");
        std::string key = parse_string();
        for (const auto& member : v.object)
          if (member.first == key) error("the key \"" + key + "\" appears twice in one object");
        expect(':', "after an object key");
        v.object.emplace_back(std::move(key), parse_value(depth + 1));
        skip_whitespace();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (peek() == '}') {
          ++pos_;
          return v;
        }
        error("expected ',' or '}' after a value in an object");
      }
    }
    if (c == '[') {
      v.kind = JsonValue::Kind::Array;
      ++pos_;
      skip_whitespace();
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      while (true) {
        v.array.push_back(parse_value(depth + 1));
        skip_whitespace();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (peek() == ']') {
          ++pos_;
          return v;
        }
        error("expected ',' or ']' after a value in an array");
      }
    }
    if (c == '"') {
      v.kind = JsonValue::Kind::String;
      v.string = parse_string();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = JsonValue::Kind::Integer;
      v.integer = parse_integer();
      return v;
    }
    error("expected a value (object, array, string or integer; safetensors headers use nothing else)");
  }

  // An optional '-', then digits without leading zeros; fractions and exponents are refused.
  int64_t parse_integer() {
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (!(peek() >= '0' && peek() <= '9')) error("expected a digit");
    if (peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9')
      error("numbers may not have leading zeros");
    uint64_t magnitude = 0;
    const uint64_t limit = negative ? uint64_t(std::numeric_limits<int64_t>::max()) + 1
                                    : uint64_t(std::numeric_limits<int64_t>::max());
    while (peek() >= '0' && peek() <= '9') {
      uint64_t digit = static_cast<uint64_t>(peek() - '0');
      if (magnitude > (limit - digit) / 10) error("integer does not fit in 64 bits");
      magnitude = magnitude * 10 + digit;
      ++pos_;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E') error("expected an integer, got a fraction or exponent");
    if (!negative) return static_cast<int64_t>(magnitude);
    return magnitude == limit ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(magnitude);
  }

  unsigned parse_hex4() {
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      int c = peek();
      unsigned digit;
      if (c >= '0' && c <= '9') digit = c - '0';
      else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      else error("expected 4 hex digits after \\u");
      value = value * 16 + digit;
      ++pos_;
    }
    return value;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // "..." with the JSON escapes \" \\ \/ \b \f \n \r \t and \uXXXX (surrogate pairs joined).
  std::string parse_string() {
    ++pos_;  // the opening quote
    std::string out;
    while (true) {
      int c = peek();
      if (c < 0) error("unterminated string");
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) error("control characters must be escaped inside strings");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;  // the backslash
      int e = peek();
      ++pos_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate must be followed by a low one
            if (peek() != '\\' || pos_ + 1 >= text_.size() || text_[pos_ + 1] != 'u')
              error("a \\u high surrogate must be followed by a \\u low surrogate");
            pos_ += 2;
            uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) error("invalid \\u low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            error("a \\u low surrogate without a high one");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          error("unknown escape sequence in a string");
      }
    }
  }
};

// ---- 2. writing -----------------------------------------------------------------------------------

std::string system_error_text(int err) { return std::strerror(err); }

// write() may write less than asked (signals, pipes); loop until all bytes are out.
void write_all(int fd, const void* data, size_t n, const std::string& tmp_path, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("save_safetensors: cannot write ", what, " to '", tmp_path, "': ", system_error_text(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// A name for the temporary file, unique within this machine: the process id and a counter.
std::string temporary_path_for(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// After a rename, the directory entry itself must reach the disk too, or a crash can undo the rename.
// Best effort: some file systems do not support fsync on directories, and the data is safe anyway.
void sync_directory_of(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// ---- 3. reading -----------------------------------------------------------------------------------

// One header entry, checked, before its bytes are read.
struct TensorEntry {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // data_offsets, relative to the data section
};

}  // namespace

// ---- header text ----------------------------------------------------------------------------------

std::string safetensors_header(const NamedTensors& tensors, const Metadata& metadata) {
  std::unordered_map<std::string, size_t> seen;
  std::string json = "{";
  if (!metadata.empty()) {
    json += json_escape(kMetadataKey) + ":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) json += ",";
      first = false;
      json += json_escape(key) + ":" + json_escape(value);
    }
    json += "}";
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    check(name != kMetadataKey, "save_safetensors: a tensor may not be called \"", kMetadataKey,
          "\" (the name is reserved for the metadata)");
    auto [previous, first_use] = seen.emplace(name, i);
    check(first_use, "save_safetensors: the name \"", name, "\" is used twice (entries ", previous->second, " and ", i,
          ")");
    check(t.defined(), "save_safetensors: tensor \"", name, "\" is undefined");
    check(t.device() == Device::CPU, "save_safetensors: tensor \"", name, "\" is on ", device_name(t.device()),
          "; copy it to the cpu first");
    if (json.size() > 1) json += ",";
    json += json_escape(name) + ":{\"dtype\":\"" + safetensors_dtype(t.dtype()) + "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) {
      if (d) json += ",";
      json += std::to_string(t.shape()[d]);
    }
    uint64_t end = offset + t.nbytes();
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  json += "}";
  // Pad with spaces so the data section starts at a multiple of 8 bytes (8 + N with N % 8 == 0):
  // then a reader that maps the file can use the float64/int64 data in place.
  json.append((8 - json.size() % 8) % 8, ' ');
  return json;
}

// ---- save -----------------------------------------------------------------------------------------

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  const std::string header = safetensors_header(tensors, metadata);  // also checks names and tensors
  std::error_code ec;
  check(!std::filesystem::is_directory(path, ec), "save_safetensors: cannot write '", path,
        "': it is a directory");

  const std::string tmp = temporary_path_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail("save_safetensors: cannot create '", tmp, "' (the temporary file for '", path,
         "'): ", system_error_text(errno));
  try {
    unsigned char length[8];
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));  // little-endian
    write_all(fd, length, 8, tmp, "the header length");
    write_all(fd, header.data(), header.size(), tmp, "the header");
    for (const auto& [name, t] : tensors)
      write_all(fd, t.raw_data(), t.nbytes(), tmp, "tensor \"" + name + "\"");
    // The bytes must be on the disk before the rename makes them "the" file.
    if (::fsync(fd) != 0) fail("save_safetensors: fsync of '", tmp, "' failed: ", system_error_text(errno));
    int closed = ::close(fd);
    fd = -1;
    if (closed != 0) fail("save_safetensors: closing '", tmp, "' failed: ", system_error_text(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      fail("save_safetensors: cannot rename '", tmp, "' to '", path, "': ", system_error_text(errno));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());  // the old file at `path` is untouched
    throw;
  }
  sync_directory_of(path);
}

// ---- load -----------------------------------------------------------------------------------------

SafetensorsFile load_safetensors(const std::string& path) {
  std::error_code ec;
  check(!std::filesystem::is_directory(path, ec), "load_safetensors: '", path, "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("load_safetensors: cannot open '", path, "': ", system_error_text(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff end_position = in.tellg();
  check(end_position >= 0, "load_safetensors: cannot find the size of '", path, "' (not a regular file?)");
  const uint64_t file_size = static_cast<uint64_t>(end_position);
  in.seekg(0);

  // bytes [0, 8): the header length N
  check(file_size >= 8, "load_safetensors: '", path, "' is ", file_size,
        " bytes long, too short for the 8-byte header length at offset 0 (not a safetensors file?)");
  unsigned char length[8];
  in.read(reinterpret_cast<char*>(length), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | length[i];
  check(n <= file_size - 8, "load_safetensors: '", path, "': the header length at offset 0 says ", n,
        " bytes, but only ", file_size - 8, " bytes follow it (file is ", file_size, " bytes; truncated?)");
  check(n <= kMaxHeaderBytes, "load_safetensors: '", path, "': the header length at offset 0 says ", n,
        " bytes, more than the ", kMaxHeaderBytes, " allowed");
  check(n >= 2, "load_safetensors: '", path, "': the header length at offset 0 is ", n,
        " bytes, too short for a JSON object");

  // bytes [8, 8 + N): the JSON header
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  check(static_cast<uint64_t>(in.gcount()) == n, "load_safetensors: '", path, "': could not read the ", n,
        "-byte header at offset 8");
  JsonValue root = HeaderParser(text, path).parse_document();

  const uint64_t data_start = 8 + n;
  const uint64_t data_size = file_size - data_start;
  auto where = [&](const std::string& name) { return "load_safetensors: '" + path + "': tensor \"" + name + "\""; };

  SafetensorsFile result;
  std::vector<TensorEntry> entries;
  for (const auto& [name, value] : root.object) {
    if (name == kMetadataKey) {
      check(value.kind == JsonValue::Kind::Object, "load_safetensors: '", path, "': \"", kMetadataKey,
            "\" at file offset ", value.offset, " must be an object, got ", kind_name(value.kind));
      for (const auto& [key, v] : value.object) {
        check(v.kind == JsonValue::Kind::String, "load_safetensors: '", path, "': metadata \"", key,
              "\" at file offset ", v.offset, " must be a string, got ", kind_name(v.kind));
        result.metadata[key] = v.string;
      }
      continue;
    }
    check(value.kind == JsonValue::Kind::Object, where(name), " at file offset ", value.offset,
          " must be an object with dtype, shape and data_offsets, got ", kind_name(value.kind));
    const JsonValue *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const auto& [key, v] : value.object) {
      if (key == "dtype") dtype = &v;
      else if (key == "shape") shape = &v;
      else if (key == "data_offsets") offsets = &v;
      // other keys are ignored, as the reference implementation does
    }
    check(dtype && shape && offsets, where(name), " at file offset ", value.offset, " lacks ",
          !dtype ? "\"dtype\"" : !shape ? "\"shape\"" : "\"data_offsets\"");

    TensorEntry e;
    e.name = name;
    check(dtype->kind == JsonValue::Kind::String, where(name), ": dtype at file offset ", dtype->offset,
          " must be a string, got ", kind_name(dtype->kind));
    check(parse_safetensors_dtype(dtype->string, e.dtype), where(name), ": dtype \"", dtype->string,
          "\" at file offset ", dtype->offset, " is not supported (expected F32, F64 or I64)");

    check(shape->kind == JsonValue::Kind::Array, where(name), ": shape at file offset ", shape->offset,
          " must be an array, got ", kind_name(shape->kind));
    uint64_t numel = 1;
    bool overflow = false;
    for (const JsonValue& d : shape->array) {
      check(d.kind == JsonValue::Kind::Integer && d.integer >= 0, where(name), ": shape at file offset ",
            shape->offset, " must hold non-negative integers (dimension at offset ", d.offset, ")");
      e.shape.push_back(d.integer);
      overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(d.integer), &numel);
    }
    uint64_t expected_bytes = 0;
    overflow = overflow || __builtin_mul_overflow(numel, dtype_size(e.dtype), &expected_bytes);
    check(!overflow, where(name), ": shape ", shape_str(e.shape), " at file offset ", shape->offset,
          " is too large (its size in bytes does not fit in 64 bits)");

    check(offsets->kind == JsonValue::Kind::Array && offsets->array.size() == 2 &&
              offsets->array[0].kind == JsonValue::Kind::Integer && offsets->array[1].kind == JsonValue::Kind::Integer,
          where(name), ": data_offsets at file offset ", offsets->offset, " must be [begin, end] (two integers)");
    int64_t begin = offsets->array[0].integer, end = offsets->array[1].integer;
    check(begin >= 0 && begin <= end, where(name), ": data_offsets [", begin, ", ", end, "] at file offset ",
          offsets->offset, " are not a range (expected 0 <= begin <= end)");
    e.begin = static_cast<uint64_t>(begin);
    e.end = static_cast<uint64_t>(end);
    check(e.end <= data_size, where(name), ": data_offsets [", begin, ", ", end,
          "] end beyond the data section, which is ", data_size, " bytes (file offsets ", data_start, " to ", file_size,
          ")");
    check(e.end - e.begin == expected_bytes, where(name), ": data_offsets [", begin, ", ", end, "] hold ",
          e.end - e.begin, " bytes, but shape ", shape_str(e.shape), " of ", dtype->string, " needs ", expected_bytes);
    entries.push_back(std::move(e));
  }

  // The tensors must tile the data section: sorted by offset, each begins where the previous ended,
  // with no overlap, no gap, and nothing left over at the end.
  std::vector<const TensorEntry*> by_offset;
  for (const TensorEntry& e : entries) by_offset.push_back(&e);
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  uint64_t covered = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry* e : by_offset) {
    if (e->begin < covered)
      fail(where(e->name), ": data_offsets [", e->begin, ", ", e->end, "] overlap tensor \"", previous->name, "\" [",
           previous->begin, ", ", previous->end, "]");
    if (e->begin > covered)
      fail(where(e->name), ": data_offsets [", e->begin, ", ", e->end, "] leave a gap: data bytes [", covered, ", ",
           e->begin, ") (file offsets ", data_start + covered, " to ", data_start + e->begin,
           ") belong to no tensor");
    covered = e->end;
    previous = e;
  }
  check(covered == data_size, "load_safetensors: '", path, "': the tensors cover ", covered,
        " bytes of data but the data section (from file offset ", data_start, ") is ", data_size,
        " bytes: the file has extra bytes at the end");

  // Read each tensor's bytes straight into a new tensor, in file order.
  std::unordered_map<const TensorEntry*, Tensor> loaded;
  for (const TensorEntry* e : by_offset) {
    Tensor t = Tensor::empty(e->shape, e->dtype);
    in.seekg(static_cast<std::streamoff>(data_start + e->begin));
    in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(e->end - e->begin));
    check(static_cast<uint64_t>(in.gcount()) == e->end - e->begin, where(e->name), ": could not read ",
          e->end - e->begin, " bytes at file offset ", data_start + e->begin);
    loaded[e] = t;
  }
  for (const TensorEntry& e : entries) result.tensors.emplace_back(e.name, loaded[&e]);
  return result;
}

// ---- SafetensorsFile ------------------------------------------------------------------------------

bool SafetensorsFile::contains(const std::string& name) const {
  for (const auto& entry : tensors)
    if (entry.first == name) return true;
  return false;
}

const Tensor& SafetensorsFile::get(const std::string& name) const {
  for (const auto& entry : tensors)
    if (entry.first == name) return entry.second;
  std::string names;
  for (const auto& entry : tensors) names += (names.empty() ? "" : ", ") + entry.first;
  fail("safetensors: no tensor named \"", name, "\" (the file has: ", names.empty() ? "none" : names, ")");
}

// ---- state dict comparison ------------------------------------------------------------------------

namespace {

// One line per difference (see state_dict_differences).
std::vector<std::string> state_dict_problems(const NamedTensors& expected, const NamedTensors& loaded, bool strict) {
  std::unordered_map<std::string, const Tensor*> expected_by_name, loaded_by_name;
  for (const auto& [name, t] : expected) expected_by_name.emplace(name, &t);
  for (const auto& [name, t] : loaded) loaded_by_name.emplace(name, &t);
  auto describe = [](const Tensor& t) {
    return t.defined() ? shape_str(t.shape()) + " " + dtype_name(t.dtype()) : std::string("undefined");
  };

  std::vector<std::string> problems;
  for (const auto& [name, t] : expected) {
    auto it = loaded_by_name.find(name);
    if (it == loaded_by_name.end()) {
      if (strict) problems.push_back("missing: \"" + name + "\" (model has " + describe(t) + ")");
      continue;
    }
    const Tensor& other = *it->second;
    if (!t.defined() || !other.defined()) {
      if (t.defined() != other.defined())
        problems.push_back("\"" + name + "\": model has " + describe(t) + ", loaded " + describe(other));
      continue;
    }
    if (t.shape() != other.shape())
      problems.push_back("shape mismatch: \"" + name + "\": model has " + shape_str(t.shape()) + ", loaded " +
                         shape_str(other.shape()));
    if (t.dtype() != other.dtype())
      problems.push_back("dtype mismatch: \"" + name + "\": model has " + dtype_name(t.dtype()) + ", loaded " +
                         dtype_name(other.dtype()));
  }
  if (strict)
    for (const auto& [name, t] : loaded)
      if (!expected_by_name.count(name))
        problems.push_back("unexpected: \"" + name + "\" (loaded " + describe(t) + ", the model has no such tensor)");
  return problems;
}

}  // namespace

std::string state_dict_differences(const NamedTensors& expected, const NamedTensors& loaded, bool strict) {
  std::string text;
  for (const std::string& p : state_dict_problems(expected, loaded, strict)) text += (text.empty() ? "" : "\n") + p;
  return text;
}

void check_state_dict_compatible(const NamedTensors& expected, const NamedTensors& loaded, bool strict,
                                 const std::string& context) {
  std::vector<std::string> problems = state_dict_problems(expected, loaded, strict);
  if (problems.empty()) return;
  std::string lines;  // one problem per line, indented under the headline
  for (const std::string& p : problems) lines += "\n  " + p;
  fail(context, ": state dict does not match the model (", problems.size(),
       problems.size() == 1 ? " problem" : " problems", "):", lines);
}

}  // namespace ember
