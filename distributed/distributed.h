#pragma once
// Data-parallel training across processes (and machines) with MPI.
//
// Every process ("rank") holds a full copy of the model and trains on its own part of each batch:
//
//   DistributedSession session(argc, argv);          // MPI_Init when started by mpirun
//   broadcast_parameters(model);                      // everyone starts from rank 0's weights
//   loader.set_shard(rank(), world_size());           // rank r takes its slice of every batch
//   for (Batch& b : loader) {
//     Tensor loss = cross_entropy(model(b.images), b.labels);   // mean over this rank's examples
//     loss.backward();
//     allreduce_gradients(model.parameters(), b.images.size(0), b.global_size);
//     optimizer.step();                               // the same update on every rank
//   }
//
// What is averaged: each rank's gradient is the mean over its n_r examples, g_r = (1/n_r) sum_i dl_i.
// The gradient of the whole batch (N = sum_r n_r examples) is (1/N) sum_r n_r g_r: each rank
// scales its gradient by n_r / N, and an all-reduce adds them up. Every rank then holds the same
// gradient, takes the same optimizer step and keeps the same weights, bit for bit (MPI_Allreduce
// gives every rank the same sum). Two processes with half a batch each compute what one process
// computes with the whole batch, up to the order of the additions (~1e-7 in float32).
//
// Batch norm is not averaged: each rank normalises with its own batch's statistics (as PyTorch's
// DistributedDataParallel does without SyncBatchNorm), and keeps its own running statistics;
// broadcast_buffers() makes them equal again (e.g. before saving a checkpoint).
//
// Built without MPI (EMBER_MPI=OFF, or Open MPI not installed), or started without mpirun, the
// program is one process: rank 0 of 1, and every function here does nothing (or copies).
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember {

class Module;

// Starts MPI when this process was started by mpirun/mpiexec (and the engine was built with MPI),
// and ends it when it goes out of scope. One per program, first thing in main().
// On every rank but 0 it also sends standard output to /dev/null, so that a lesson's progress
// lines, tables and samples are printed once (EMBER_ALL_RANKS_PRINT=1 keeps them all); standard
// error, where errors go, stays open on every rank.
class DistributedSession {
 public:
  DistributedSession(int& argc, char**& argv);
  ~DistributedSession();
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;
};

bool mpi_available();    // the engine was built with MPI
int rank();              // this process's number, 0 .. world_size() - 1
int world_size();        // how many processes train together
inline bool is_main_process() { return rank() == 0; }  // the one that prints and saves
void barrier();          // waits until every rank has arrived

// Sets every rank's tensors to rank 0's (the same number, shapes and dtypes on every rank).
void broadcast(const std::vector<Tensor>& tensors);
void broadcast_parameters(Module& model);  // parameters and buffers
void broadcast_buffers(Module& model);     // buffers only (batch norm's running statistics)

// The data-parallel gradient: every rank's .grad of `params` becomes sum_r (n_r / N) g_r, with
// n_r = local_count examples on this rank and N = global_count on all ranks together.
// Gradients are added in buckets (many small tensors flattened into a few buffers of up to
// bucket_elements, one MPI_Allreduce each), which is what makes it fast. A parameter without a
// gradient on this rank counts as a zero gradient (it is given one when another rank has one).
void allreduce_gradients(const std::vector<Tensor>& params, int64_t local_count, int64_t global_count,
                         int64_t bucket_elements = 1 << 20);

// Ends every rank of the job at once (MPI_Abort) after this rank's error, instead of leaving the
// others waiting in their next all-reduce; without MPI, exits. For main()'s last catch.
[[noreturn]] void abort_all_ranks(int exit_code);

// A differentiable all-reduce: every rank gets the sum of every rank's `t`. Its backward is the
// same all-reduce of the gradients (each rank's output depends on every rank's input), so autograd
// runs it on every rank in the same order. Synchronised batch norm is built on it.
Tensor allreduce_sum_op(const Tensor& t);

// Synchronised batch norm: every BatchNorm in the model normalises with the statistics of the
// whole global batch (all ranks' images) in training mode, instead of its own rank's. Slower (three
// small all-reduces per layer and step, forward and backward), worth it when each rank's batch is
// small. Without it (the default) batch norm is per process, as said at the top.
void synchronise_batch_norm(Module& model);

// Sums of plain numbers over all ranks (losses, counts of correct answers).
double allreduce_sum(double value);
int64_t allreduce_sum(int64_t value);

// Error handling across ranks, so that one rank's failure (a file it cannot read) ends every rank
// with that rank's message instead of leaving the others waiting forever in the next all-reduce.
// Every rank must call it at the same point: when any rank passes ok = false, every rank throws an
// ember::Error with the message of the lowest failing rank ("rank 1: ...").
void check_all_ranks(bool ok, const std::string& message);

// Runs f on every rank and then check_all_ranks: an ember::Error (or std::exception) thrown on
// any rank becomes the error of all of them.
template <typename F>
void on_all_ranks(F&& f) {
  std::string message;
  bool ok = true;
  try {
    f();
  } catch (const std::exception& e) {
    ok = false;
    message = e.what();
  }
  check_all_ranks(ok, message);
}

}  // namespace ember
