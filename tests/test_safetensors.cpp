// safetensors: round trips, the exact bytes of a tiny file, every kind of damaged file, atomic
// writes, and the state-dict comparison.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/safetensors.h"
#include "test_util.h"

using namespace ember;
namespace fs = std::filesystem;

namespace test_safetensors {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// A fresh, empty scratch folder for one test.
std::string scratch(const std::string& name) {
  fs::path dir = fs::path(EMBER_TEST_TMP) / ("safetensors_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Removes the old file first: on ext4, truncating a file that has data forces a flush to disk on
// close (auto_da_alloc), ~5 ms each time, which would make the loops below slow.
void write_bytes(const std::string& path, const std::string& bytes) {
  fs::remove(path);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The 8-byte little-endian length, written out byte by byte.
std::string length_prefix(uint64_t n) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file from header JSON (padded to a multiple of 8 as the spec asks) and raw data bytes.
std::string file_bytes(std::string json, const std::string& data) {
  json.append((8 - json.size() % 8) % 8, ' ');
  return length_prefix(json.size()) + json + data;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

template <typename F>
std::string error_text(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The error loading `bytes` from a file gives ("" if it loads).
std::string load_error(const std::string& dir, const std::string& bytes) {
  std::string path = dir + "/damaged.safetensors";
  write_bytes(path, bytes);
  return error_text([&] { load_safetensors(path); });
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

NamedTensors some_tensors() {
  Generator gen(11);
  return {{"conv.weight", Tensor::randn({4, 3, 3, 3}, &gen)},
          {"fc.bias", Tensor::randn({10}, &gen, DType::Float64)},
          {"labels", Tensor::randint(0, 1000000, {7}, &gen)},
          {"scale", Tensor::scalar(2.5)},                          // 0-d
          {"temperature", Tensor::scalar(0.8, DType::Float64)},    // 0-d f64
          {"num_batches_tracked", Tensor::from_vector(std::vector<int64_t>{-3}, {})},  // 0-d i64
          {"empty", Tensor::zeros({0, 5})}};
}

TEST(Safetensors, RoundTrip) {
  std::string dir = scratch("round_trip");
  NamedTensors tensors = some_tensors();
  Metadata metadata = {{"step", "1200"}, {"note", "quotes \" backslash \\ newline \n tab \t ctrl \x01 é ✓"}};
  save_safetensors(dir + "/m.safetensors", tensors, metadata);

  SafetensorsFile file = load_safetensors(dir + "/m.safetensors");
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(file.tensors[i].first, tensors[i].first);  // same order
    EXPECT_TRUE(same_bytes(file.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(file.metadata, metadata);
  EXPECT_EQ(file.get("scale").dim(), 0);
  EXPECT_EQ(file.get("num_batches_tracked").item(), -3);
  EXPECT_TRUE(file.contains("labels"));
  EXPECT_FALSE(file.contains("nope"));
  std::string msg = error_text([&] { file.get("fc.weight"); });
  EXPECT_TRUE(contains(msg, "no tensor named \"fc.weight\" (the file has: conv.weight, fc.bias")) << msg;
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"m.safetensors"});  // no temporary file left
}

TEST(Safetensors, NamesWithEscapesAndNoMetadata) {
  std::string dir = scratch("names");
  NamedTensors tensors = {{"a \"quoted\" name", Tensor::ones({2})}, {"ünïcödé/€", Tensor::zeros({1})}};
  save_safetensors(dir + "/n.safetensors", tensors);
  std::string bytes = read_bytes(dir + "/n.safetensors");
  EXPECT_FALSE(contains(bytes, "__metadata__"));  // left out when empty
  SafetensorsFile file = load_safetensors(dir + "/n.safetensors");
  EXPECT_EQ(file.tensors[0].first, "a \"quoted\" name");
  EXPECT_EQ(file.tensors[1].first, "ünïcödé/€");
  EXPECT_TRUE(file.metadata.empty());
}

TEST(Safetensors, ExactBytesOfATinyFile) {
  std::string dir = scratch("exact");
  NamedTensors tensors = {{"a", Tensor::from_vector(std::vector<float>{1.0f, -2.0f}, {2})},
                          {"b", Tensor::from_vector(std::vector<int64_t>{7}, {})}};
  save_safetensors(dir + "/tiny.safetensors", tensors, {{"k", "v"}});

  // Per the spec: the JSON is 132 bytes, padded with 4 spaces to 136 = 0x88.
  std::string json =
      "{\"__metadata__\":{\"k\":\"v\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}";
  ASSERT_EQ(json.size(), 132u);
  std::string expected = std::string("\x88\0\0\0\0\0\0\0", 8) + json + "    " +
                         std::string("\x00\x00\x80\x3f", 4) +          // 1.0f  = 0x3f800000
                         std::string("\x00\x00\x00\xc0", 4) +          // -2.0f = 0xc0000000
                         std::string("\x07\0\0\0\0\0\0\0", 8);         // int64 7
  std::string actual = read_bytes(dir + "/tiny.safetensors");
  EXPECT_EQ(actual.size(), 8u + 136u + 16u);
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(safetensors_header(tensors, {{"k", "v"}}), json + "    ");
}

TEST(Safetensors, ReadsFilesWrittenByOthers) {
  // Another writer's style: spaces, another key order, escapes, an extra field, tensors out of
  // offset order. All of it is valid safetensors.
  std::string dir = scratch("others");
  std::string data = std::string("\x00\x00\x80\x3f", 4) + std::string("\x05\0\0\0\0\0\0\0", 8);
  std::string json =
      "{ \"second\" : { \"data_offsets\" : [4, 12], \"shape\" : [1], \"dtype\" : \"I64\" },\n"
      "  \"first\\u00e9\\ud83d\\ude00\": {\"shape\": [], \"dtype\": \"F32\", \"data_offsets\": [0, 4],"
      " \"x\": [1, {}]},\n"
      "  \"__metadata__\": {\"format\": \"pt\", \"esc\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"} }";
  write_bytes(dir + "/o.safetensors", file_bytes(json, data));
  SafetensorsFile file = load_safetensors(dir + "/o.safetensors");
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].first, "second");
  EXPECT_EQ(file.tensors[1].first, "first\xc3\xa9\xf0\x9f\x98\x80");  // é and U+1F600 in UTF-8
  EXPECT_EQ(file.get("second").item(), 5);
  EXPECT_EQ(file.tensors[1].second.item(), 1.0);
  EXPECT_EQ(file.metadata.at("format"), "pt");
  EXPECT_EQ(file.metadata.at("esc"), "\"\\/\b\f\n\r\t");
}

TEST(Safetensors, EveryTruncationIsAClearError) {
  std::string dir = scratch("truncate");
  NamedTensors tensors = {{"w", Tensor::ones({3, 2})}, {"n", Tensor::scalar(4, DType::Int64)}};
  save_safetensors(dir + "/full.safetensors", tensors, {{"step", "3"}});
  const std::string full = read_bytes(dir + "/full.safetensors");
  const uint64_t header = full.size() - 8 - 24 - 8;  // N
  for (size_t len = 0; len < full.size(); ++len) {
    std::string msg = load_error(dir, full.substr(0, len));
    SCOPED_TRACE("truncated to " + std::to_string(len) + " bytes: " + msg);
    ASSERT_FALSE(msg.empty());
    EXPECT_TRUE(contains(msg, "damaged.safetensors"));
    if (len < 8) {
      EXPECT_TRUE(contains(msg, "is " + std::to_string(len) + " bytes long, too short for the 8-byte header length"));
    } else if (len < 8 + header) {
      EXPECT_TRUE(contains(msg, "the header length at offset 0 says " + std::to_string(header) + " bytes, but only " +
                                    std::to_string(len - 8) + " bytes follow it"));
    } else {
      EXPECT_TRUE(contains(msg, "end beyond the data section")) << msg;
    }
  }
  EXPECT_TRUE(load_error(dir, full).empty());  // and the whole file loads
}

TEST(Safetensors, FlippedHeaderBytesNeverCrash) {
  // Every byte of the length and the header, damaged three ways: an error or a valid file, never a
  // crash or an out-of-bounds read (ASan watches).
  std::string dir = scratch("flip");
  save_safetensors(dir + "/full.safetensors", {{"w", Tensor::ones({2, 2})}, {"b", Tensor::zeros({2})}}, {{"k", "v"}});
  const std::string full = read_bytes(dir + "/full.safetensors");
  const size_t header_end = 8 + static_cast<unsigned char>(full[0]);
  int errors = 0;
  for (size_t i = 0; i < header_end; ++i) {
    for (unsigned char flip : {0x01, 0x20, 0x80}) {
      std::string damaged = full;
      damaged[i] = static_cast<char>(damaged[i] ^ flip);
      std::string msg = load_error(dir, damaged);
      if (!msg.empty()) {
        ++errors;
        EXPECT_TRUE(contains(msg, "load_safetensors: '")) << msg;
      }
    }
  }
  EXPECT_GT(errors, static_cast<int>(header_end));  // most damage is caught
}

TEST(Safetensors, DamagedHeadersNameTheProblem) {
  std::string dir = scratch("damaged");
  const std::string data8(8, '\0');
  struct Case {
    std::string bytes, expected;
  };
  std::vector<Case> cases = {
      {length_prefix(1000) + "{}", "the header length at offset 0 says 1000 bytes, but only 2 bytes follow it"},
      {file_bytes("[1, 2]", ""),
       "malformed JSON header at file offset 8 (found '['): the header must be a JSON object"},
      {file_bytes("{\"a\" 1}", ""),
       "malformed JSON header at file offset 13 (found '1'): syntax error while parsing object separator - "
       "unexpected number literal; expected ':'"},
      {file_bytes("{\"a\": {\"dtype\": \"F32\",}}", ""), "file offset 30 (found '}'): syntax error while parsing object key"},
      {file_bytes("{\"a\": tru}", ""), "file offset 17 (found '}'): syntax error while parsing value - invalid literal"},
      {file_bytes("{\"a\": \"x", ""), "file offset 16 (at the end of the header): syntax error while parsing value - invalid string: missing closing quote"},
      {file_bytes("{\"a\": \"\\q\"}", ""), "file offset 16 (found 'q'): syntax error while parsing value - invalid string: forbidden character after backslash"},
      {file_bytes("{\"a\": \"\\ud800\"}", ""), "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF"},
      {file_bytes("{\"a\": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", ""), "nested deeper than 16 levels"},
      {file_bytes("{\"a\": 1, \"a\": 2}", ""), "file offset 17: the key \"a\" appears twice in one object (first at file offset 9)"},
      {file_bytes("{\"a\": 012}", ""), "file offset 16 (found '2'): syntax error while parsing object - unexpected number literal"},
      {file_bytes("{\"a\": 99999999999999999999}", ""), "integer does not fit in 64 bits"},
      {file_bytes("{\"a\": 1.5}", ""), "expected an integer, got a fraction or exponent"},
      {file_bytes("{} x", ""), "file offset 11 (found 'x'): syntax error while parsing value - invalid literal; last read: '{} x'; expected end of input"},
      {file_bytes("{\"w\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [0, 8]}}", data8),
       "tensor \"w\": dtype \"F16\" at file offset 24 is not supported (expected F32, F64 or I64)"},
      {file_bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", data8),
       "tensor \"w\" at file offset 14 lacks \"data_offsets\""},
      {file_bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", data8),
       "must hold non-negative integers"},
      {file_bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 16]}}", data8),
       "tensor \"w\": data_offsets [0, 16] end beyond the data section, which is 8 bytes (file offsets 72 to 80)"},
      {file_bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", data8),
       "tensor \"w\": data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12"},
      {file_bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", data8),
       "data_offsets [8, 0] at file offset 61 are not a range"},
      {file_bytes("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                  " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", data8),
       "tensor \"b\": data_offsets [4, 8] overlap tensor \"a\" [0, 8]"},
      {file_bytes("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", data8),
       "leave a gap: data bytes [0, 4) (file offsets 72 to 76) belong to no tensor"},
      {file_bytes("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", data8),
       "the tensors cover 4 bytes of data but the data section (from file offset 72) is 8 bytes"},
      {file_bytes("{\"__metadata__\": {\"step\": 5}}", ""),
       "metadata \"step\" at file offset 34 must be a string, got an integer"},
      {file_bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 8]}}",
                  data8),
       "is too large (its size in bytes does not fit in 64 bits)"},
  };
  for (const Case& c : cases) {
    std::string msg = load_error(dir, c.bytes);
    EXPECT_TRUE(contains(msg, c.expected)) << "expected: " << c.expected << "\n     got: " << msg;
    EXPECT_TRUE(contains(msg, "damaged.safetensors")) << msg;
  }
}

TEST(Safetensors, FileErrors) {
  std::string dir = scratch("file_errors");
  std::string msg = error_text([&] { load_safetensors(dir + "/missing.safetensors"); });
  EXPECT_TRUE(contains(msg, "load_safetensors: cannot open '" + dir + "/missing.safetensors': No such file")) << msg;
  msg = error_text([&] { load_safetensors(dir); });
  EXPECT_TRUE(contains(msg, "is a directory, not a file")) << msg;

  msg = error_text([&] {
    save_safetensors(dir + "/x.safetensors", {{"a", Tensor::ones({1})}, {"a", Tensor::ones({2})}});
  });
  EXPECT_TRUE(contains(msg, "save_safetensors: the name \"a\" is used twice (entries 0 and 1)")) << msg;
  msg = error_text([&] { save_safetensors(dir + "/x.safetensors", {{"__metadata__", Tensor::ones({1})}}); });
  EXPECT_TRUE(contains(msg, "may not be called \"__metadata__\"")) << msg;
  msg = error_text([&] { save_safetensors(dir + "/x.safetensors", {{"u", Tensor()}}); });
  EXPECT_TRUE(contains(msg, "save_safetensors: tensor \"u\" is undefined")) << msg;
  EXPECT_TRUE(files_in(dir).empty());
}

TEST(Safetensors, AtomicWriteReplacesOrKeepsTheOldFile) {
  std::string dir = scratch("atomic");
  const std::string path = dir + "/model.safetensors";
  save_safetensors(path, {{"w", Tensor::full({4}, 1.0)}});
  const std::string old_bytes = read_bytes(path);

  // a successful save replaces the file, leaving nothing else behind
  save_safetensors(path, {{"w", Tensor::full({4}, 2.0)}});
  EXPECT_EQ(load_safetensors(path).get("w").to_vector<float>(), std::vector<float>(4, 2.0f));
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"model.safetensors"});
  save_safetensors(path, {{"w", Tensor::full({4}, 1.0)}});
  ASSERT_EQ(read_bytes(path), old_bytes);

  // the target is a directory
  fs::create_directory(dir + "/sub.safetensors");
  std::string msg = error_text([&] { save_safetensors(dir + "/sub.safetensors", {{"w", Tensor::ones({4})}}); });
  EXPECT_TRUE(contains(msg, "save_safetensors: cannot write '" + dir + "/sub.safetensors': it is a directory")) << msg;
  EXPECT_TRUE(fs::is_directory(dir + "/sub.safetensors"));

  // the directory does not exist
  msg = error_text([&] { save_safetensors(dir + "/no/such/dir/m.safetensors", {{"w", Tensor::ones({4})}}); });
  EXPECT_TRUE(contains(msg, "save_safetensors: cannot write '" + dir + "/no/such/dir/m.safetensors': cannot create '" + dir +
                            "/no/such/dir/m.safetensors.tmp-")) << msg;
  EXPECT_TRUE(contains(msg, "No such file or directory")) << msg;

  // The disk fills up half way through the data: a file-size limit makes write() fail with EFBIG
  // (works even as root, unlike a read-only directory). The old file must survive untouched.
  struct rlimit saved_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved_limit), 0);
  struct rlimit small = saved_limit;
  small.rlim_cur = 4096;
  auto saved_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  msg = error_text([&] { save_safetensors(path, {{"big", Tensor::ones({100000})}}); });
  setrlimit(RLIMIT_FSIZE, &saved_limit);
  signal(SIGXFSZ, saved_handler);
  EXPECT_TRUE(contains(msg, "save_safetensors: cannot write tensor \"big\" to '" + path + ".tmp-")) << msg;
  EXPECT_TRUE(contains(msg, "File too large")) << msg;
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(files_in(dir), (std::vector<std::string>{"model.safetensors", "sub.safetensors"}));

  // A read-only directory (only meaningful when not running as root, who may write anyway).
  if (geteuid() != 0) {
    fs::create_directory(dir + "/ro");
    fs::permissions(dir + "/ro", fs::perms::owner_read | fs::perms::owner_exec);
    msg = error_text([&] { save_safetensors(dir + "/ro/m.safetensors", {{"w", Tensor::ones({4})}}); });
    fs::permissions(dir + "/ro", fs::perms::owner_all);
    EXPECT_TRUE(contains(msg, "Permission denied")) << msg;
    EXPECT_TRUE(files_in(dir + "/ro").empty());
  }
}

TEST(Safetensors, StateDictDifferencesListEveryProblem) {
  NamedTensors model = {{"fc.weight", Tensor::zeros({10, 784})},
                        {"fc.bias", Tensor::zeros({10})},
                        {"bn.running_mean", Tensor::zeros({16})},
                        {"bn.running_var", Tensor::zeros({16})}};
  NamedTensors loaded = {{"fc.weight", Tensor::zeros({10, 100})},
                         {"fc.bias", Tensor::zeros({10}, DType::Float64)},
                         {"bn.running_mean", Tensor::zeros({16})},
                         {"head.weight", Tensor::zeros({10, 5})}};
  EXPECT_EQ(state_dict_differences(model, model), "");
  EXPECT_NO_THROW(check_state_dict_compatible(model, model));

  std::string msg = error_text([&] { check_state_dict_compatible(model, loaded); });
  EXPECT_TRUE(contains(msg, "load_state_dict: state dict does not match the model (4 problems):")) << msg;
  EXPECT_TRUE(contains(msg, "\n  shape mismatch: \"fc.weight\": model has [10, 784], loaded [10, 100]")) << msg;
  EXPECT_TRUE(contains(msg, "\n  dtype mismatch: \"fc.bias\": model has float32, loaded float64")) << msg;
  EXPECT_TRUE(contains(msg, "\n  missing: \"bn.running_var\" (model has [16] float32)")) << msg;
  EXPECT_TRUE(contains(msg, "\n  unexpected: \"head.weight\" (loaded [10, 5] float32")) << msg;

  // not strict: missing and unexpected names are fine, mismatches are not
  msg = error_text([&] { check_state_dict_compatible(model, loaded, /*strict=*/false, "Sequential"); });
  EXPECT_TRUE(contains(msg, "Sequential: state dict does not match the model (2 problems):")) << msg;
  EXPECT_FALSE(contains(msg, "missing")) << msg;
  EXPECT_FALSE(contains(msg, "unexpected")) << msg;
}

// ---- found by review and fuzzing --------------------------------------------------------------------

TEST(Safetensors, ManyEmptyTensorsLoadQuickly) {
  // 160,000 empty tensors: the duplicate-key check used to compare every pair of keys (30 s).
  std::string dir = scratch("many");
  NamedTensors tensors;
  for (int i = 0; i < 160000; ++i) {
    std::string name = "t";  // (not "t" + to_string(i): GCC 12 warns falsely about that with -O3)
    name += std::to_string(i);
    tensors.emplace_back(name, Tensor::zeros({0}));
  }
  save_safetensors(dir + "/many.safetensors", tensors);
  const double start = thread_cpu_seconds();
  SafetensorsFile file = load_safetensors(dir + "/many.safetensors");
  const double seconds = thread_cpu_seconds() - start;
  EXPECT_EQ(file.tensors.size(), 160000u);
  EXPECT_EQ(file.tensors[159999].first, "t159999");
  // Not a benchmark: a bound on this thread's CPU time (not wall time, which a loaded machine
  // stretches: 24 s of wall at load 10 under ASan) far above n log n (a fraction of a second, a few
  // seconds under ASan) and below the quadratic scan it replaced (30 s of CPU without sanitizers).
  EXPECT_LT(seconds, 20.0);
}

TEST(Safetensors, EmptyTensorAtAnotherTensorsStartLoadsInAnyKeyOrder) {
  // "z" is empty at offset 0, where "a" starts: valid whichever of the two the header names first.
  std::string dir = scratch("empty_start");
  const std::string data8(8, '\0');
  const std::string a = "\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}";
  const std::string z = "\"z\": {\"dtype\": \"F32\", \"shape\": [0, 3], \"data_offsets\": [0, 0]}";
  EXPECT_EQ(load_error(dir, file_bytes("{" + a + ", " + z + "}", data8)), "");
  EXPECT_EQ(load_error(dir, file_bytes("{" + z + ", " + a + "}", data8)), "");
  SafetensorsFile file = load_safetensors(dir + "/damaged.safetensors");
  EXPECT_EQ(file.get("z").shape(), (Shape{0, 3}));
  EXPECT_EQ(file.tensors[0].first, "z");  // the header's order
}

TEST(Safetensors, HugeDimensionsWithAZeroAreAnEmptyTensor) {
  // [2^62, 2, 0] has no elements; multiplying left to right would overflow int64 first.
  std::string dir = scratch("huge_zero");
  std::string msg = load_error(
      dir, file_bytes("{\"w\": {\"dtype\": \"F64\", \"shape\": [4611686018427387904, 2, 0], \"data_offsets\": [0, 0]}}", ""));
  EXPECT_EQ(msg, "");
  EXPECT_EQ(load_safetensors(dir + "/damaged.safetensors").get("w").numel(), 0);
  // without the zero: too large, named
  msg = load_error(dir, file_bytes("{\"w\": {\"dtype\": \"F64\", \"shape\": [4611686018427387904, 2], \"data_offsets\": [0, 0]}}", ""));
  EXPECT_TRUE(contains(msg, "shape [4611686018427387904, 2] at file offset")) << msg;
  EXPECT_TRUE(contains(msg, "is too large")) << msg;
}

TEST(Safetensors, RefusesWhatIsNotARegularFile) {
  std::string msg = error_text([&] { load_safetensors("/dev/zero"); });
  EXPECT_TRUE(contains(msg, "load_safetensors: '/dev/zero' is a character device, not a regular file")) << msg;
  std::string dir = scratch("fifo");
  ASSERT_EQ(mkfifo((dir + "/pipe.safetensors").c_str(), 0600), 0);
  msg = error_text([&] { load_safetensors(dir + "/pipe.safetensors"); });  // must not wait for a writer
  EXPECT_TRUE(contains(msg, "pipe.safetensors' is a FIFO (named pipe), not a regular file")) << msg;
}

TEST(Safetensors, NamesMustBeUtf8AndLiteralsAreRefused) {
  std::string dir = scratch("utf8");
  std::string msg = error_text([&] { save_safetensors(dir + "/x.safetensors", {{"bad\xff", Tensor::ones({1})}}); });
  EXPECT_TRUE(contains(msg, "save_safetensors: the tensor name \"bad\xff\" is not valid UTF-8")) << msg;
  EXPECT_TRUE(files_in(dir).empty());
  msg = load_error(dir, file_bytes("{\"a\": true}", ""));
  EXPECT_TRUE(contains(msg, "file offset 14 (found 't'): expected a value (object, array, string or integer")) << msg;
  msg = load_error(dir, file_bytes("{\"a\": \"\xc3\"}", ""));
  EXPECT_TRUE(contains(msg, "invalid string: ill-formed UTF-8 byte")) << msg;
}

TEST(Safetensors, ShapeNumelChecksOverflowAndZeros) {
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(shape_numel({int64_t(1) << 62, 2, 0}), 0);  // empty, although 2^62 * 2 overflows
  EXPECT_EQ(shape_numel({0, -1}), 0);                    // a zero wins: nothing to count
  EXPECT_EQ(Tensor::zeros({int64_t(1) << 62, 2, 0}).numel(), 0);
  std::string msg = error_text([] { shape_numel({int64_t(1) << 62, 2}); });
  EXPECT_TRUE(contains(msg, "shape [4611686018427387904, 2] has too many elements")) << msg;
  msg = error_text([] { shape_numel({3, int64_t(1) << 40, int64_t(1) << 40}); });
  EXPECT_TRUE(contains(msg, "has too many elements")) << msg;
  msg = error_text([] { shape_numel({3, -2}); });
  EXPECT_TRUE(contains(msg, "shape [3, -2] has a negative dimension")) << msg;
}

}  // namespace test_safetensors
