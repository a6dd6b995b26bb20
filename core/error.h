#pragma once
// Errors are for people: every check throws ember::Error with a message that names the op and the
// shapes, e.g. "matmul: shapes [64, 784] and [100, 10] cannot be multiplied".
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ember {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "[2, 3, 4]"
std::string shape_str(const std::vector<int64_t>& shape);

// Builds a message from any streamable pieces: fail("linear: input has ", n, " features").
template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  throw Error(os.str());
}

// check(cond, "op: what went wrong ", detail...): throws Error when cond is false.
template <typename... Args>
inline void check(bool cond, const Args&... args) {
  if (!cond) fail(args...);
}

}  // namespace ember
