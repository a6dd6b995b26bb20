// Reading and writing safetensors files (the format is described in core/safetensors.h).
//
// Three parts, top to bottom:
//   1. the header's JSON, read by nlohmann::json into a small tree that keeps every value's file
//      offset (objects, arrays, strings and integers: all safetensors uses, and nothing else);
//   2. save_safetensors: header text, then the tensors streamed into an AtomicFile (core/fs.h:
//      temporary file, fsync, rename);
//   3. load_safetensors: read the length, parse the header, check every entry against the file,
//      then read each tensor's bytes straight into its storage.
#include "core/safetensors.h"

#include <nlohmann/json.hpp>

#include "core/fs.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <iterator>
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
  std::string key;                 // its key, when it is a member of an object
  uint64_t key_offset = 0;         // where that key starts in the file
  std::string string;              // Kind::String
  int64_t integer = 0;             // Kind::Integer
  std::vector<JsonValue> array;    // Kind::Array
  std::vector<JsonValue> object;   // Kind::Object: the members (with their keys), in file order
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

// nlohmann::json reads the header text (the lexing, escapes, UTF-8 and syntax rules are its
// job); its SAX interface hands us one event per token, and HeaderBuilder turns them into a
// JsonValue tree with the safetensors rules on top: the root is an object, numbers are 64-bit
// integers, no true/false/null, at most kMaxJsonDepth levels, no key twice in one object.
//
// Positions: SAX events carry none, so the parser reads the text through TrackingIterator, which
// records how far it has read. When an event arrives, the parser has read exactly up to the end of
// that token (one character more after a number), so the token's start is found by stepping back
// over it. Positions in errors are file offsets (header byte i is file byte 8 + i), so they can
// be found with a hex viewer.
struct TrackingIterator {
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  const char* p = nullptr;
  const char** reached = nullptr;  // where the parser has read up to (shared by all copies)

  reference operator*() const { return *p; }
  TrackingIterator& operator++() {
    ++p;
    *reached = p;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackingIterator& other) const { return p == other.p; }
  bool operator!=(const TrackingIterator& other) const { return p != other.p; }
};

class HeaderBuilder {
 public:
  HeaderBuilder(const std::string& text, const std::string& path) : text_(text), path_(path), reached_(text.data()) {}

  JsonValue parse() {
    TrackingIterator first{text_.data(), &reached_}, last{text_.data() + text_.size(), &reached_};
    // strict: only whitespace (the padding) may follow the object.
    nlohmann::json::sax_parse(first, last, this, nlohmann::json::input_format_t::json, /*strict=*/true);
    check(done_, "load_safetensors: '", path_, "': the JSON header ended early");
    return std::move(root_);
  }

  // ---- the SAX interface nlohmann calls ----
  bool null() { refuse_literal(4); }
  bool boolean(bool value) { refuse_literal(value ? 4 : 5); }
  bool number_integer(int64_t value) { return add_integer(value); }
  bool number_unsigned(uint64_t value) {
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      error(number_start(), "integer does not fit in 64 bits");
    return add_integer(static_cast<int64_t>(value));
  }
  bool number_float(double, const std::string& text) {
    // nlohmann reads an integer too large for 64 bits as a floating-point number
    bool fraction = text.find_first_of(".eE") != std::string::npos;
    error(number_start(), fraction ? "expected an integer, got a fraction or exponent"
                                   : "integer does not fit in 64 bits");
  }
  bool string(std::string& value) {
    JsonValue& v = add(string_start(), JsonValue::Kind::String);
    v.string = std::move(value);
    return true;
  }
  bool binary(nlohmann::json::binary_t&) { error(position(), "binary values are not JSON"); }
  bool start_object(std::size_t) {
    open(JsonValue::Kind::Object);
    return true;
  }
  bool key(std::string& key) {
    pending_key_ = std::move(key);
    pending_key_offset_ = string_start();
    return true;
  }
  bool end_object() {
    check_unique_keys(*stack_.back());
    stack_.pop_back();
    done_ = stack_.empty();
    return true;
  }
  bool start_array(std::size_t) {
    open(JsonValue::Kind::Array);
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::json::exception& ex) {
    // `position` counts the characters read, the offending one included (one past the end of the
    // text when the text ended too early).
    size_t at = position > 0 ? std::min(position - 1, text_.size()) : 0;
    std::string what = ex.what();  // "[json.exception.parse_error.101] parse error at line 1, column 6: ..."
    size_t colon = what.find(": ", what.find("column "));
    error(at, colon == std::string::npos ? what : what.substr(colon + 2));
  }

 private:
  const std::string& text_;
  const std::string& path_;
  const char* reached_;
  JsonValue root_;
  std::vector<JsonValue*> stack_;  // the open objects and arrays, innermost last
  std::string pending_key_;        // an object's key, waiting for its value
  uint64_t pending_key_offset_ = 0;
  bool done_ = false;

  size_t position() const { return static_cast<size_t>(reached_ - text_.data()); }

  // A string token ends where the parser stopped; its opening quote is the nearest quote before
  // the end that is not escaped (preceded by an even number of backslashes).
  size_t string_start() const {
    size_t i = position() - 1;  // the closing quote
    while (i > 0) {
      --i;
      if (text_[i] != '"') continue;
      size_t backslashes = 0;
      while (i >= backslashes + 1 && text_[i - backslashes - 1] == '\\') ++backslashes;
      if (backslashes % 2 == 0) return i;
    }
    return 0;
  }

  // The parser read one character past a number (to see that it ended), unless the text ended.
  size_t number_start() const {
    size_t i = position();
    if (i > 0 && !std::isdigit(static_cast<unsigned char>(text_[i - 1]))) --i;
    while (i > 0 && std::strchr("0123456789+-.eE", text_[i - 1]) != nullptr && text_[i - 1] != '\0') --i;
    return i;
  }

  [[noreturn]] void error(size_t pos, const std::string& what) const {
    std::string found = "at the end of the header";
    if (pos < text_.size()) {
      unsigned char c = static_cast<unsigned char>(text_[pos]);
      found = c >= 0x20 && c < 0x7f ? std::string("found '") + static_cast<char>(c) + "'"
                                    : "found byte " + std::to_string(c);
    }
    fail("load_safetensors: '", path_, "': malformed JSON header at file offset ", 8 + pos, " (", found, "): ", what);
  }

  [[noreturn]] void refuse_literal(size_t length) const {
    error(position() - length, "expected a value (object, array, string or integer; safetensors headers use nothing else)");
  }

  // Places a new value: as the root, in the open array, or under the pending key of the open object.
  JsonValue& add(size_t start, JsonValue::Kind kind) {
    if (stack_.empty()) {
      if (kind != JsonValue::Kind::Object) error(start, "the header must be a JSON object starting with '{'");
      root_.kind = kind;
      root_.offset = 8 + start;
      return root_;
    }
    JsonValue& parent = *stack_.back();
    JsonValue* v;
    if (parent.kind == JsonValue::Kind::Array) {
      v = &parent.array.emplace_back();
    } else {
      v = &parent.object.emplace_back();
      v->key = std::move(pending_key_);
      v->key_offset = 8 + pending_key_offset_;
      pending_key_.clear();
    }
    v->kind = kind;
    v->offset = 8 + start;
    return *v;
  }

  bool add_integer(int64_t value) {
    add(number_start(), JsonValue::Kind::Integer).integer = value;
    return true;
  }

  void open(JsonValue::Kind kind) {
    size_t start = position() - 1;  // the '{' or '[' just read
    if (stack_.size() + 1 > static_cast<size_t>(kMaxJsonDepth))
      error(start, "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    stack_.push_back(&add(start, kind));
  }

  // Sorting the keys finds a repeated one in n log n steps (comparing every pair took 30 s for a
  // header of 160,000 tensors).
  void check_unique_keys(const JsonValue& object) const {
    std::vector<const JsonValue*> members;
    members.reserve(object.object.size());
    for (const JsonValue& member : object.object) members.push_back(&member);
    std::sort(members.begin(), members.end(), [](const JsonValue* a, const JsonValue* b) {
      return a->key != b->key ? a->key < b->key : a->key_offset < b->key_offset;
    });
    for (size_t i = 1; i < members.size(); ++i)
      if (members[i]->key == members[i - 1]->key)
        fail("load_safetensors: '", path_, "': malformed JSON header at file offset ", members[i]->key_offset,
             ": the key \"", members[i]->key, "\" appears twice in one object (first at file offset ",
             members[i - 1]->key_offset, ")");
  }
};

// A string as a JSON string literal, quotes included. Names must be valid UTF-8: JSON text is.
std::string json_string(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    fail("save_safetensors: ", what, " is not valid UTF-8 (JSON text must be)");
  }
}

// ---- 2. writing -----------------------------------------------------------------------------------

std::string header_length_bytes(uint64_t n) {
  std::string length(8, '\0');
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>(n >> (8 * i));  // little-endian
  return length;
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
    json += json_string(kMetadataKey, "") + ":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) json += ",";
      first = false;
      json += json_string(key, "metadata key \"" + key + "\"") + ":" +
              json_string(value, "the value of metadata \"" + key + "\"");
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
    json += json_string(name, "the tensor name \"" + name + "\"") + ":{\"dtype\":\"" + safetensors_dtype(t.dtype()) + "\",\"shape\":[";
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
  // Streamed: the header, then each tensor's bytes straight from its storage (no copy of the file
  // in memory). Nothing replaces `path` until commit(); an exception removes the temporary file.
  AtomicFile out(path, "save_safetensors");
  out.write(header_length_bytes(header.size()), "the header length");
  out.write(header, "the header");
  for (const auto& [name, t] : tensors) out.write(t.raw_data(), t.nbytes(), "tensor \"" + name + "\"");
  out.commit();
}

// ---- load -----------------------------------------------------------------------------------------

SafetensorsFile load_safetensors(const std::string& path) {
  std::error_code ec;
  check(!std::filesystem::is_directory(path, ec), "load_safetensors: '", path, "' is a directory, not a file");
  InputFile in(path, "load_safetensors");  // refuses devices, FIFOs and other non-regular files
  const uint64_t file_size = in.size();

  // bytes [0, 8): the header length N
  check(file_size >= 8, "load_safetensors: '", path, "' is ", file_size,
        " bytes long, too short for the 8-byte header length at offset 0 (not a safetensors file?)");
  unsigned char length[8];
  in.read_at(0, length, 8);
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
  in.read_at(8, text.data(), n);
  JsonValue root = HeaderBuilder(text, path).parse();

  const uint64_t data_start = 8 + n;
  const uint64_t data_size = file_size - data_start;
  auto where = [&](const std::string& name) { return "load_safetensors: '" + path + "': tensor \"" + name + "\""; };

  SafetensorsFile result;
  std::vector<TensorEntry> entries;
  for (const JsonValue& value : root.object) {
    const std::string& name = value.key;
    if (name == kMetadataKey) {
      check(value.kind == JsonValue::Kind::Object, "load_safetensors: '", path, "': \"", kMetadataKey,
            "\" at file offset ", value.offset, " must be an object, got ", kind_name(value.kind));
      for (const JsonValue& v : value.object) {
        const std::string& key = v.key;
        check(v.kind == JsonValue::Kind::String, "load_safetensors: '", path, "': metadata \"", key,
              "\" at file offset ", v.offset, " must be a string, got ", kind_name(v.kind));
        result.metadata[key] = v.string;
      }
      continue;
    }
    check(value.kind == JsonValue::Kind::Object, where(name), " at file offset ", value.offset,
          " must be an object with dtype, shape and data_offsets, got ", kind_name(value.kind));
    const JsonValue *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const JsonValue& v : value.object) {
      const std::string& key = v.key;
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
    for (const JsonValue& d : shape->array) {
      check(d.kind == JsonValue::Kind::Integer && d.integer >= 0, where(name), ": shape at file offset ",
            shape->offset, " must hold non-negative integers (dimension at offset ", d.offset, ")");
      e.shape.push_back(d.integer);
    }
    // A zero anywhere makes an empty tensor, however large the other dimensions ([2^62, 2, 0]).
    const bool empty = std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end();
    uint64_t numel = 1;
    bool overflow = false;
    for (int64_t d : e.shape)
      if (!empty) overflow = overflow || __builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel);
    if (empty) numel = 0;
    uint64_t expected_bytes = 0;
    // Tensor sizes are int64_t: the element count must fit there too.
    overflow = overflow || numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
               __builtin_mul_overflow(numel, dtype_size(e.dtype), &expected_bytes);
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
  // with no overlap, no gap, and nothing left over at the end. Sorting by begin AND end puts an
  // empty tensor [8, 8] before a tensor [8, 16] whatever their order in the header.
  std::vector<const TensorEntry*> by_offset;
  for (const TensorEntry& e : entries) by_offset.push_back(&e);
  std::stable_sort(by_offset.begin(), by_offset.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
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
    in.read_at(data_start + e->begin, t.raw_data(), e->end - e->begin);
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

}  // namespace ember
