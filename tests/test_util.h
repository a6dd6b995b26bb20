#pragma once
// Small helpers shared by the op tests.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.h"
#include "core/parallel.h"
#include "core/random.h"
#include "core/tensor.h"

namespace ember {

// Passes when f throws ember::Error whose message contains `text`:
//   EXPECT_TRUE(throws_with([] { matmul(a, b); }, "matmul: shapes [64, 784] and [100, 10]"));
template <typename F>
testing::AssertionResult throws_with(F&& f, const std::string& text) {
  try {
    f();
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.find(text) != std::string::npos) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "message \"" << msg << "\" does not contain \"" << text << "\"";
  }
  return testing::AssertionFailure() << "no ember::Error thrown (expected one containing \"" << text << "\")";
}

// The message of the ember::Error that f throws, or "" when it throws none:
//   EXPECT_NE(error_of([&] { conv2d(x, w); }).find("conv2d: input has 3 channels"), std::string::npos);
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Sets the engine's thread count for a scope.
struct ThreadsGuard {
  int prev = get_num_threads();
  explicit ThreadsGuard(int n) { set_num_threads(n); }
  ~ThreadsGuard() { set_num_threads(prev); }
};

// A float64 N(0, 1) tensor from its own seed.
inline Tensor randn64(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn(shape, &gen, DType::Float64);
}

}  // namespace ember
