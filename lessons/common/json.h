#pragma once
// JsonObject: a flat JSON object for results files such as metrics.json, kept as an
// nlohmann::ordered_json object (keys stay in the order they were first set).
//
//   JsonObject metrics;
//   metrics.set("test_accuracy", 0.9812).set("epochs", 2).set("model", "mlp")
//          .set("val_loss_per_epoch", std::vector<double>{0.31, 0.22});
//   metrics.save(run_dir + "/metrics.json");
//
// Values can be numbers, booleans, strings, and arrays of those (arrays may nest, e.g. a
// confusion matrix as std::vector<std::vector<int64_t>>): anything nlohmann::json converts.
// Setting a key again replaces its value. Numbers are written with the shortest text that reads
// back as the same double. JSON has no NaN or infinity: those are written as null.
#include <string>

#include <nlohmann/json.hpp>

namespace ember {

// text as a JSON string literal, quotes included: he said "hi" -> "he said \"hi\"". Control
// characters are escaped (\n, \u0001, ...); invalid UTF-8 becomes U+FFFD.
std::string json_escape(const std::string& text);

// A JSON value as text on one line, arrays as [1, 2.5, 3] (the layout of metrics.json).
std::string json_text(const nlohmann::ordered_json& value);

// json_value: one C++ value as JSON text on one line.
template <typename T>
std::string json_value(const T& value) {
  return json_text(nlohmann::ordered_json(value));
}
std::string json_value(const char* value);  // checks for a null pointer

class JsonObject {
 public:
  template <typename T>
  JsonObject& set(const std::string& key, const T& value) {
    values_[key] = nlohmann::ordered_json(value);
    return *this;
  }
  JsonObject& set(const std::string& key, const char* value);

  // Sets a value that is already JSON text (for callers that build their own); the text is
  // parsed, and an error names the key when it is not valid JSON.
  JsonObject& set_json(const std::string& key, const std::string& json_text);

  bool has(const std::string& key) const { return values_.contains(key); }
  size_t size() const { return values_.size(); }

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
  nlohmann::ordered_json values_ = nlohmann::ordered_json::object();
};

}  // namespace ember
