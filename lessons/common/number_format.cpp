#include "lessons/common/number_format.h"

#include <cstdarg>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace ember {

std::string format_shortest(double value) {
  // std::to_chars without a precision writes the shortest digits that round-trip exactly.
  // Like Python, plain decimals for everyday magnitudes and an exponent for tiny or huge ones.
  double magnitude = std::fabs(value);
  bool plain = magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e16);
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value,
                              plain ? std::chars_format::fixed : std::chars_format::scientific);
  check(result.ec == std::errc(), "format_shortest: cannot format ", value);
  return std::string(buffer, result.ptr);
}

std::string format_significant(double value, int digits) {
  check(digits >= 1 && digits <= 17, "format_significant: digits must be 1..17, got ", digits);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
  return buffer;
}

std::string format_line(const char* format, ...) {
  va_list args, args_again;
  va_start(args, format);
  va_copy(args_again, args);
  const int length = std::vsnprintf(nullptr, 0, format, args);  // first only measure
  va_end(args);
  std::string text(static_cast<size_t>(length), '\0');
  std::vsnprintf(text.data(), text.size() + 1, format, args_again);
  va_end(args_again);
  return text;
}

}  // namespace ember
