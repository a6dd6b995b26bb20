#include "lessons/common/json.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/fs.h"
#include "lessons/common/number_format.h"

namespace ember {

std::string json_value(double value) {
  if (!std::isfinite(value)) return "null";
  return format_shortest(value);
}

std::string json_value(bool value) { return value ? "true" : "false"; }

std::string json_value(const std::string& value) { return json_escape(value); }

std::string json_value(const char* value) {
  check(value != nullptr, "json_value: the string is a null pointer");
  return json_escape(value);
}

JsonObject& JsonObject::set_json(const std::string& key, const std::string& json_text) {
  check(!json_text.empty(), "JsonObject: the value of '", key, "' is empty");
  for (auto& [existing_key, existing_value] : entries_) {
    if (existing_key == key) {
      existing_value = json_text;
      return *this;
    }
  }
  entries_.emplace_back(key, json_text);
  return *this;
}

bool JsonObject::has(const std::string& key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) return true;
  }
  return false;
}

std::string JsonObject::to_string() const {
  if (entries_.empty()) return "{}\n";
  std::string text = "{\n";
  for (size_t i = 0; i < entries_.size(); ++i) {
    text += "  " + json_escape(entries_[i].first) + ": " + entries_[i].second;
    text += i + 1 < entries_.size() ? ",\n" : "\n";
  }
  return text + "}\n";
}

void JsonObject::save(const std::string& path) const { write_file_atomic(path, to_string()); }

}  // namespace ember
