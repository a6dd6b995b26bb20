#pragma once
// json_escape(text): text as a JSON string literal, quotes included: " \ and control characters
// escaped (\n \t ... or \u00XX), everything else - UTF-8 included - as it is.
// Used by the safetensors header writer (core/safetensors.cpp) and the lessons' JSON files
// (lessons/common/json.h).
#include <string>

namespace ember {

std::string json_escape(const std::string& text);

}  // namespace ember
