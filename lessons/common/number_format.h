#pragma once
// Turning numbers into text for files that people and programs read back (CSV, JSON, configs).
#include <string>

namespace ember {

// The shortest text that reads back as exactly the same double, written the way Python prints
// floats: 0.1 -> "0.1", 3 -> "3", 6e-4 -> "0.0006", 1e-5 -> "1e-05", 1e16 -> "1e+16",
// 1.0/3 -> "0.3333333333333333". Not-a-number is "nan", infinities "inf" and "-inf".
std::string format_shortest(double value);

// `digits` significant digits, trailing zeros dropped (printf's %g): (0.42131, 4) -> "0.4213".
std::string format_significant(double value, int digits);

// printf into a string; the compiler checks the arguments against the format, as for printf:
//   format_line("epoch %lld/%lld: loss %.4f\n", epoch, epochs, loss)
[[gnu::format(printf, 1, 2)]] std::string format_line(const char* format, ...);

}  // namespace ember
