#include "core/parallel.h"

#include <cblas.h>
#include <omp.h>

#include <cstdlib>
#include <thread>

namespace ember {

namespace {
int num_threads = 0;  // 0: not chosen yet

// EMBER_NUM_THREADS, else OMP_NUM_THREADS, else every core.
int default_threads() {
  for (const char* var : {"EMBER_NUM_THREADS", "OMP_NUM_THREADS"}) {
    const char* v = std::getenv(var);
    if (v && std::atoi(v) > 0) return std::atoi(v);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}
}  // namespace

int current_thread_index() { return omp_get_thread_num(); }
int current_team_size() { return omp_get_num_threads(); }

void set_num_threads(int n) {
  if (n <= 0) n = default_threads();
  num_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int get_num_threads() {
  if (num_threads == 0) set_num_threads(0);
  return num_threads;
}

BlasThreadsGuard::BlasThreadsGuard(int n) : prev_(openblas_get_num_threads()) {
  if (n != prev_) openblas_set_num_threads(n);
}

BlasThreadsGuard::~BlasThreadsGuard() {
  if (openblas_get_num_threads() != prev_) openblas_set_num_threads(prev_);
}

}  // namespace ember
