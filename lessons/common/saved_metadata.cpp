#include "lessons/common/saved_metadata.h"

#include <charconv>
#include <cmath>

#include "core/error.h"

namespace ember {

const std::string& saved_text(const Metadata& metadata, const std::string& key, const std::string& path,
                              const std::string& lesson) {
  auto it = metadata.find(key);
  check(it != metadata.end(), lesson, ": ", path, " has no metadata \"", key,
        "\" (every checkpoint this lesson writes has it: was the file edited, or written by another program?)");
  return it->second;
}

double parse_saved_number(const std::string& text, const std::string& key, const std::string& path,
                          const std::string& lesson) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  check(ec == std::errc() && ptr == end && std::isfinite(value), lesson, ": ", path, ": metadata \"", key, "\" = \"",
        text, "\" is not a finite number");
  return value;
}

double saved_number(const Metadata& metadata, const std::string& key, const std::string& path,
                    const std::string& lesson) {
  return parse_saved_number(saved_text(metadata, key, path, lesson), key, path, lesson);
}

}  // namespace ember
