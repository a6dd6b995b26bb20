#pragma once
// One knob for all the threads the engine uses: its own loops (OpenMP) and OpenBLAS.
//
// The engine links OpenBLAS's OpenMP build (see CMakeLists.txt), so there is ONE pool of threads:
// the OpenMP threads that run parallel_for also run OpenBLAS's GEMMs. (With OpenBLAS's pthread
// build there would be two pools on the same cores; an OpenMP thread that waits for work by
// spinning keeps an OpenBLAS thread off its core, and a small model trained 3.5x slower on two
// threads than it does now.)
//
// Each op still picks ONE level of parallelism: either it splits its own loop across threads and
// calls BLAS single-threaded (BlasThreadsGuard(1), so the threads do not start threads), or it
// makes one big BLAS call that uses all threads.
#include <cstdint>
#include <vector>

namespace ember {

void set_num_threads(int n);  // n <= 0: all cores
int get_num_threads();
int current_thread_index();  // 0 .. get_num_threads()-1 inside parallel_for, 0 outside
int current_team_size();     // how many threads run the current parallel region (1 outside)

// Sets OpenBLAS's thread count for a scope and restores it afterwards.
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(int n);
  ~BlasThreadsGuard();
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int prev_;
};

// Calls body(lo, hi) on disjoint sub-ranges that cover [begin, end), in parallel when the range
// has at least `grain` elements per thread. The split depends only on the range and the thread
// count, so results are reproducible for a given thread count.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& body) {
  int64_t n = end - begin;
  if (n <= 0) return;
  int threads = get_num_threads();
  if (grain < 1) grain = 1;
  int64_t max_threads = n / grain;
  if (max_threads < threads) threads = static_cast<int>(max_threads < 1 ? 1 : max_threads);
  if (threads <= 1) {
    body(begin, end);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    // OpenMP may start fewer threads than asked (inside another parallel region it starts one):
    // then each thread takes every team-size-th chunk, so the chunks are still all done, and the same.
    int64_t chunk = (n + threads - 1) / threads;
    for (int64_t id = current_thread_index(); id < threads; id += current_team_size()) {
      int64_t lo = begin + id * chunk;
      int64_t hi = lo + chunk < end ? lo + chunk : end;
      if (lo < hi) body(lo, hi);
    }
  }
}

// Deterministic parallel reduction: [begin, end) is cut into fixed blocks of `block` elements
// (independent of the thread count), block_sum(lo, hi) is computed for each block in parallel,
// and the block results are added in order. So a sum gives the same bits on 1 or 16 threads.
template <typename Acc, typename F>
Acc parallel_sum(int64_t begin, int64_t end, int64_t block, F&& block_sum) {
  int64_t n = end - begin;
  if (n <= 0) return Acc(0);
  int64_t blocks = (n + block - 1) / block;
  std::vector<Acc> partial(blocks);
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      int64_t lo = begin + b * block;
      int64_t hi = lo + block < end ? lo + block : end;
      partial[b] = block_sum(lo, hi);
    }
  });
  Acc total = Acc(0);
  for (Acc p : partial) total += p;
  return total;
}
}  // namespace ember
