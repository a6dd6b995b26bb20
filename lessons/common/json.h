#pragma once
// JsonObject: a flat JSON object for results files such as metrics.json.
//
//   JsonObject metrics;
//   metrics.set("test_accuracy", 0.9812).set("epochs", 2).set("model", "mlp")
//          .set("val_loss_per_epoch", std::vector<double>{0.31, 0.22});
//   metrics.save(run_dir + "/metrics.json");
//
// Values can be numbers, booleans, strings, and arrays of those (arrays may nest, e.g. a
// confusion matrix as std::vector<std::vector<int64_t>>). Keys keep the order they were first
// set in; setting a key again replaces its value. Numbers are written with the shortest text that
// reads back as the same double. JSON has no NaN or infinity: those are written as null.
#include <concepts>
#include <string>
#include <utility>
#include <vector>

#include "core/json_escape.h"  // json_escape: he said "hi" -> "he said \"hi\""

namespace ember {

// json_value: one C++ value as JSON text.
std::string json_value(double value);
std::string json_value(bool value);
std::string json_value(const std::string& value);
std::string json_value(const char* value);

// Integers of any size (bool is not taken here: the bool overload above is an exact match).
template <std::integral T>
std::string json_value(T value) {
  return std::to_string(value);
}

// Arrays, written on one line: [1, 2.5, 3].
template <typename T>
std::string json_value(const std::vector<T>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += ", ";
    text += json_value(values[i]);
  }
  return text + "]";
}

class JsonObject {
 public:
  template <typename T>
  JsonObject& set(const std::string& key, const T& value) {
    return set_json(key, json_value(value));
  }

  // Sets a value that is already JSON text (for callers that build their own).
  JsonObject& set_json(const std::string& key, const std::string& json_text);

  bool has(const std::string& key) const;
  size_t size() const { return entries_.size(); }

  // The object, one key per line:
  // {
  //   "test_accuracy": 0.9812,
  //   "epochs": 2
  // }
  std::string to_string() const;

  // Writes to_string() to `path` through a temporary file and a rename (write_file_atomic),
  // so an interrupted save never destroys the previous metrics.
  void save(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // key, value as JSON text
};

}  // namespace ember
