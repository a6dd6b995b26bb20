// Threads (core/parallel.h, core/parallel.cpp): parallel_for covers its range exactly once, also
// when called from inside another parallel_for; parallel_sum gives the same bits for any thread
// count; the thread settings are restored by their guards.
#include <gtest/gtest.h>

#include <cblas.h>

#include <atomic>
#include <vector>

#include "core/parallel.h"

using namespace ember;

namespace test_parallel {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

struct ThreadsGuard {
  int prev = get_num_threads();
  explicit ThreadsGuard(int n) { set_num_threads(n); }
  ~ThreadsGuard() { set_num_threads(prev); }
};

TEST(Parallel, SetAndGetThreads) {
  ThreadsGuard guard(2);
  EXPECT_EQ(get_num_threads(), 2);
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(0);  // all cores
  EXPECT_GE(get_num_threads(), 1);
  EXPECT_EQ(current_thread_index(), 0);  // outside parallel_for
}

TEST(Parallel, ForCoversTheRangeOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadsGuard guard(threads);
    for (int64_t n : {0, 1, 5, 1000, 1001}) {
      for (int64_t grain : {0, 1, 7, 2000}) {
        std::vector<int> hits(n, 0);
        parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i) ++hits[i];
        });
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(hits[i], 1) << "threads " << threads << " n " << n << " grain " << grain << " i " << i;
      }
    }
  }
  // a range that does not start at 0
  std::vector<int> hits(20, 0);
  parallel_for(5, 17, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) ++hits[i];
  });
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(hits[i], (i >= 5 && i < 17) ? 1 : 0) << i;
}

TEST(Parallel, ChunksDependOnlyOnRangeAndThreadCount) {
  // the split is fixed: two runs with the same thread count see the same chunks
  ThreadsGuard guard(2);
  auto chunks = [] {
    std::vector<std::pair<int64_t, int64_t>> seen(2, {-1, -1});
    parallel_for(0, 100, 1, [&](int64_t lo, int64_t hi) { seen[current_thread_index()] = {lo, hi}; });
    return seen;
  };
  auto first = chunks();
  EXPECT_EQ(first, chunks());
  EXPECT_EQ(first[0], (std::pair<int64_t, int64_t>{0, 50}));
  EXPECT_EQ(first[1], (std::pair<int64_t, int64_t>{50, 100}));
}

TEST(Parallel, NestedForStillCoversTheInnerRange) {
  // An op that runs inside another op's parallel_for (a layer applied per image, say) calls
  // parallel_for again. OpenMP runs the inner region with one thread; the inner loop must still
  // cover all of its range.
  ThreadsGuard guard(2);
  const int64_t outer = 4, inner = 1 << 16;
  std::vector<std::vector<int>> hits(outer, std::vector<int>(inner, 0));
  parallel_for(0, outer, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o)
      parallel_for(0, inner, 1, [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) ++hits[o][i];
      });
  });
  for (int64_t o = 0; o < outer; ++o) {
    int64_t covered = 0;
    for (int64_t i = 0; i < inner; ++i) covered += hits[o][i];
    EXPECT_EQ(covered, inner) << "outer " << o;
  }
}

TEST(Parallel, SumIsTheSameOnAnyThreadCount) {
  std::vector<double> v(100003);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 1.0 / (1.0 + static_cast<double>(i % 977)) - 0.3;
  auto block_sum = [&](int64_t lo, int64_t hi) {
    double s = 0;
    for (int64_t i = lo; i < hi; ++i) s += v[i];
    return s;
  };
  std::vector<double> results;
  for (int threads : {1, 2, 3}) {
    ThreadsGuard guard(threads);
    results.push_back(parallel_sum<double>(0, static_cast<int64_t>(v.size()), 1000, block_sum));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
  double plain = 0;
  for (double x : v) plain += x;
  EXPECT_NEAR(results[0], plain, 1e-7);
  EXPECT_EQ(parallel_sum<double>(0, 0, 10, block_sum), 0.0);
  EXPECT_EQ(parallel_sum<double>(10, 11, 10, block_sum), v[10]);
}

TEST(Parallel, BlasThreadsGuardRestores) {
  ThreadsGuard guard(2);
  const int before = openblas_get_num_threads();
  {
    BlasThreadsGuard one(1);
    EXPECT_EQ(openblas_get_num_threads(), 1);
  }
  EXPECT_EQ(openblas_get_num_threads(), before);
}

}  // namespace test_parallel
