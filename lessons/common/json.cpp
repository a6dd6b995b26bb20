#include "lessons/common/json.h"

#include <cmath>

#include "core/error.h"
#include "core/fs.h"
#include "lessons/common/number_format.h"

namespace ember {

namespace {

using nlohmann::ordered_json;

// nlohmann's own text for strings, booleans, integers and null; invalid UTF-8 is replaced
// instead of throwing, so a metrics file is always written.
std::string dump(const ordered_json& value) { return value.dump(-1, ' ', false, ordered_json::error_handler_t::replace); }

}  // namespace

std::string json_escape(const std::string& text) { return dump(ordered_json(text)); }

std::string json_text(const ordered_json& value) {
  if (value.is_number_float()) {
    const double number = value.get<double>();
    return std::isfinite(number) ? format_shortest(number) : "null";
  }
  if (value.is_array()) {
    std::string text = "[";
    for (size_t i = 0; i < value.size(); ++i) text += (i > 0 ? ", " : "") + json_text(value[i]);
    return text + "]";
  }
  if (value.is_object()) {
    std::string text = "{";
    bool first = true;
    for (const auto& [key, item] : value.items()) {
      text += (first ? "" : ", ") + json_escape(key) + ": " + json_text(item);
      first = false;
    }
    return text + "}";
  }
  return dump(value);
}

std::string json_value(const char* value) {
  check(value != nullptr, "json_value: the string is a null pointer");
  return json_escape(value);
}

JsonObject& JsonObject::set(const std::string& key, const char* value) {
  check(value != nullptr, "JsonObject: the value of '", key, "' is a null pointer");
  values_[key] = std::string(value);
  return *this;
}

JsonObject& JsonObject::set_json(const std::string& key, const std::string& json_text) {
  check(!json_text.empty(), "JsonObject: the value of '", key, "' is empty");
  ordered_json value = ordered_json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  check(!value.is_discarded(), "JsonObject: the value of '", key, "' is not valid JSON: ", json_text);
  values_[key] = std::move(value);
  return *this;
}

std::string JsonObject::to_string() const {
  if (values_.empty()) return "{}\n";
  std::string text = "{\n";
  size_t i = 0;
  for (const auto& [key, value] : values_.items()) {
    text += "  " + json_escape(key) + ": " + json_text(value);
    text += ++i < values_.size() ? ",\n" : "\n";
  }
  return text + "}\n";
}

void JsonObject::save(const std::string& path) const { write_file_atomic(path, to_string()); }

}  // namespace ember
