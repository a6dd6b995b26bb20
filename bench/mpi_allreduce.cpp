// The gradient all-reduce of distributed/ against MPI_Allreduce alone, on the same bytes:
//
//   mpirun -np 2 --oversubscribe --bind-to none build/bin/mpi_allreduce
//
// For each size, the time per call and the "bus bandwidth" 2 (p - 1) / p * bytes / time (what a
// ring all-reduce moves per process), for: MPI_Allreduce on one float buffer; allreduce_gradients
// on the same floats as one tensor; and on the same floats split into 64 tensors (the buckets
// flatten them: the cost of copying in and out is the difference). Results in docs/benchmarks.md.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "core/tensor.h"
#include "distributed/distributed.h"

using namespace ember;

namespace {

double seconds_per_call(int repeats, const auto& f) {
  f();  // warm up
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) f();
  MPI_Barrier(MPI_COMM_WORLD);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
}

// grads: tensors whose .grad is set, numel elements in all
std::vector<Tensor> parameters_with_gradients(int64_t numel, int pieces) {
  std::vector<Tensor> params;
  for (int i = 0; i < pieces; ++i) {
    const int64_t n = numel / pieces + (i < numel % pieces ? 1 : 0);
    Tensor p = Tensor::zeros({n}).requires_grad_();
    p.set_grad(Tensor::ones({n}));
    params.push_back(p);
  }
  return params;
}

}  // namespace

int main(int argc, char** argv) {
  DistributedSession session(argc, argv);
  if (world_size() < 2) {
    std::fprintf(stderr, "run me under mpirun -np 2 (or more)\n");
    return 2;
  }
  const double p = world_size();
  if (is_main_process())
    std::printf("%d processes\n%12s %14s %14s %14s   (time per call, bus bandwidth)\n", world_size(), "floats",
                "MPI_Allreduce", "1 tensor", "64 tensors");
  for (int64_t numel : {int64_t{1} << 10, int64_t{1} << 14, int64_t{1} << 18, int64_t{1} << 20, int64_t{1} << 22}) {
    const int repeats = numel >= (1 << 20) ? 20 : 200;
    std::vector<float> raw(numel, 1.0f);
    const double t_mpi = seconds_per_call(repeats, [&] {
      MPI_Allreduce(MPI_IN_PLACE, raw.data(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    });
    auto one = parameters_with_gradients(numel, 1);
    const double t_one = seconds_per_call(repeats, [&] { allreduce_gradients(one, 1, world_size()); });
    auto many = parameters_with_gradients(numel, 64);
    const double t_many = seconds_per_call(repeats, [&] { allreduce_gradients(many, 1, world_size()); });
    const double bytes = 4.0 * static_cast<double>(numel) * 2.0 * (p - 1.0) / p;
    if (is_main_process())
      std::printf("%12lld %7.0f us %4.1f GB/s %5.0f us %4.1f GB/s %5.0f us %4.1f GB/s\n",
                  static_cast<long long>(numel), t_mpi * 1e6, bytes / t_mpi / 1e9, t_one * 1e6, bytes / t_one / 1e9,
                  t_many * 1e6, bytes / t_many / 1e9);
  }
  return 0;
}
