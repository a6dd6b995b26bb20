#pragma once
// Small helpers shared by the op tests.
#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

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

// EXPECT_ERROR(conv2d(x, w), "conv2d: input has 3 channels"): the call throws an ember::Error whose
// message contains the text (the message is shown when it does not).
#define EXPECT_ERROR(call, text)                                                                   \
  do {                                                                                             \
    std::string msg_ = ::ember::error_of([&] { call; });                                           \
    EXPECT_NE(msg_.find(text), std::string::npos) << "expected \"" << (text) << "\" in: " << msg_; \
  } while (0)

// True when `part` occurs in `text` (for EXPECT_TRUE(contains(msg, "...")) << msg).
inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Sets the engine's thread count for a scope (or, without an argument, only restores it at the end).
struct ThreadsGuard {
  int prev = get_num_threads();
  ThreadsGuard() = default;
  explicit ThreadsGuard(int n) { set_num_threads(n); }
  ~ThreadsGuard() { set_num_threads(prev); }
  ThreadsGuard(const ThreadsGuard&) = delete;
  ThreadsGuard& operator=(const ThreadsGuard&) = delete;
};

// Every got[i] within tol of want[i]; a failure names the worst element.
inline void expect_all_near(const std::vector<double>& got, const std::vector<double>& want, double tol,
                            const std::string& what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = -1;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::isnan(got[i]) != std::isnan(want[i]) ? INFINITY : std::abs(got[i] - want[i]);
    if (err > worst) worst = err, at = i;
  }
  if (got.empty()) return;
  EXPECT_LE(worst, tol) << what << (what.empty() ? "" : ": ") << "element " << at << " is " << got[at]
                        << ", expected " << want[at];
}

// A fresh, empty folder for the running test, under the build's scratch folder (ctest runs tests in
// parallel, each in its own process, so every test gets its own): EMBER_TEST_TMP/<area>/<Suite>.<Test>
inline std::string scratch_dir(const std::string& area) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
#ifdef EMBER_TEST_TMP
  const std::string root = EMBER_TEST_TMP;
#else
  const std::string root = "/tmp/ember_test_tmp";
#endif
  std::string dir = root + "/" + area + "/" + info->test_suite_name() + "." + info->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// CPU seconds this thread has run so far (CLOCK_THREAD_CPUTIME_ID). The few tests that guard against
// a quadratic or wasteful loop again bound CPU time, not wall time: a loaded machine (ctest -j2 beside
// other builds) stretches the wall clock many times over, but not the work a thread does.
inline double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// A float64 N(0, 1) tensor from its own seed.
inline Tensor randn64(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn(shape, &gen, DType::Float64);
}

}  // namespace ember
