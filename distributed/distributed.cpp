// Data-parallel training with MPI (see distributed.h). Without MPI (EMBER_HAVE_MPI undefined) or
// without mpirun, everything below runs as rank 0 of 1.
#include "distributed/distributed.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/autograd.h"
#include "core/error.h"
#include "layers/batchnorm.h"
#include "layers/module.h"

#ifdef EMBER_HAVE_MPI
#include <mpi.h>
#endif

namespace ember {

namespace {

int g_rank = 0;
int g_world = 1;
bool g_mpi_started = false;  // this program called MPI_Init (and so must call MPI_Finalize)

// mpirun tells its processes where they are through the environment; a program started by hand
// has none of these, and stays one process (no MPI_Init: it would start a "singleton" MPI job,
// slower to start and with nothing to talk to).
bool started_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

#ifdef EMBER_HAVE_MPI
MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
  }
  return MPI_BYTE;
}

void mpi_check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail("distributed: ", what, " failed on rank ", g_rank, ": ", std::string(text, length));
}
#endif

bool running_distributed() { return g_world > 1; }

}  // namespace

DistributedSession::DistributedSession(int& argc, char**& argv) {
#ifdef EMBER_HAVE_MPI
  if (!started_by_mpirun()) return;
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    mpi_check(MPI_Init(&argc, &argv), "MPI_Init");
    g_mpi_started = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world);
  const char* all_print = std::getenv("EMBER_ALL_RANKS_PRINT");
  if (g_rank != 0 && !(all_print != nullptr && std::strcmp(all_print, "1") == 0)) {
    std::fflush(stdout);
    if (std::freopen("/dev/null", "w", stdout) == nullptr)
      fprintf(stderr, "note: rank %d could not silence its standard output\n", g_rank);
  }
#else
  (void)argc;
  (void)argv;
  if (started_by_mpirun() && std::getenv("OMPI_COMM_WORLD_RANK") != nullptr &&
      std::strcmp(std::getenv("OMPI_COMM_WORLD_RANK"), "0") == 0)
    fprintf(stderr, "note: started by mpirun, but this engine was built without MPI: every process trains "
                    "alone (install libopenmpi-dev and rebuild, or configure with -DEMBER_MPI=ON)\n");
#endif
}

DistributedSession::~DistributedSession() {
#ifdef EMBER_HAVE_MPI
  if (g_mpi_started) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
#endif
  g_mpi_started = false;
  g_rank = 0;
  g_world = 1;
}

bool mpi_available() {
#ifdef EMBER_HAVE_MPI
  return true;
#else
  return false;
#endif
}

int rank() { return g_rank; }
int world_size() { return g_world; }

void barrier() {
#ifdef EMBER_HAVE_MPI
  if (running_distributed()) mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#endif
}

void broadcast(const std::vector<Tensor>& tensors) {
  if (!running_distributed()) return;
#ifdef EMBER_HAVE_MPI
  for (const Tensor& t : tensors) {
    check(t.defined(), "broadcast: a tensor is undefined");
    // Shapes are not sent: a rank whose model differs would read the wrong number of bytes. The
    // element count is checked against rank 0's first, so that mismatch is an error, not garbage.
    int64_t count = t.numel();
    int64_t root_count = count;
    mpi_check(MPI_Bcast(&root_count, 1, MPI_INT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
    check_all_ranks(root_count == count, "broadcast: rank 0 sends " + std::to_string(root_count) +
                                             " elements, this rank's tensor " + shape_str(t.shape()) + " has " +
                                             std::to_string(count));
    Tensor target = t;
    mpi_check(MPI_Bcast(target.raw_data(), static_cast<int>(count), mpi_type(t.dtype()), 0, MPI_COMM_WORLD),
              "MPI_Bcast");
  }
#endif
}

void broadcast_parameters(Module& model) {
  std::vector<Tensor> tensors;
  for (auto& [name, t] : model.named_parameters()) tensors.push_back(t);
  for (auto& [name, t] : model.named_buffers()) tensors.push_back(t);
  broadcast(tensors);
}

void broadcast_buffers(Module& model) {
  std::vector<Tensor> tensors;
  for (auto& [name, t] : model.named_buffers()) tensors.push_back(t);
  broadcast(tensors);
}

void allreduce_gradients(const std::vector<Tensor>& params, int64_t local_count, int64_t global_count,
                         int64_t bucket_elements) {
  check(local_count >= 0 && global_count > 0 && local_count <= global_count,
        "allreduce_gradients: need 0 <= local_count <= global_count and global_count > 0, got ", local_count,
        " and ", global_count);
  check(bucket_elements > 0, "allreduce_gradients: bucket_elements must be positive, got ", bucket_elements);
  NoGradGuard no_grad;
  const double scale = static_cast<double>(local_count) / static_cast<double>(global_count);

  // Which parameters take part: those that require grad. A rank that did not use a parameter this
  // step has no .grad for it; if any other rank has one, this rank contributes zeros.
  std::vector<int64_t> has_grad(params.size());
  for (size_t i = 0; i < params.size(); ++i) has_grad[i] = params[i].requires_grad() && params[i].grad().defined();
#ifdef EMBER_HAVE_MPI
  if (running_distributed() && !has_grad.empty())
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, has_grad.data(), static_cast<int>(has_grad.size()), MPI_INT64_T, MPI_MAX,
                            MPI_COMM_WORLD),
              "MPI_Allreduce");
#endif

  // Buckets per dtype: gradients are copied (scaled) into one flat buffer until it is full, the
  // buffer is summed over all ranks in place, and the sums are copied back.
  std::map<DType, std::vector<Tensor>> by_dtype;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!has_grad[i]) continue;
    Tensor p = params[i];
    if (!p.grad().defined()) p.set_grad(Tensor::zeros(p.shape(), p.dtype()));
    by_dtype[p.dtype()].push_back(p.grad());
  }
  for (auto& entry : by_dtype) {
    const DType dtype = entry.first;  // (named variables, not a structured binding: clang 14 cannot
    std::vector<Tensor>& grads = entry.second;  //  capture those in the lambda below)
    dispatch_float(dtype, "allreduce_gradients", [&](auto tag) {
      using T = decltype(tag);
      std::vector<T> bucket;
      bucket.reserve(static_cast<size_t>(bucket_elements));
      std::vector<Tensor> members;  // the gradients in the bucket, in order
      auto flush = [&] {
        if (bucket.empty()) return;
#ifdef EMBER_HAVE_MPI
        if (running_distributed())
          mpi_check(MPI_Allreduce(MPI_IN_PLACE, bucket.data(), static_cast<int>(bucket.size()), mpi_type(dtype),
                                  MPI_SUM, MPI_COMM_WORLD),
                    "MPI_Allreduce");
#endif
        size_t at = 0;
        for (Tensor& g : members) {
          std::memcpy(g.data<T>(), bucket.data() + at, g.numel() * sizeof(T));
          at += g.numel();
        }
        bucket.clear();
        members.clear();
      };
      for (Tensor& g : grads) {
        if (!bucket.empty() && static_cast<int64_t>(bucket.size()) + g.numel() > bucket_elements) flush();
        const T* src = g.template data<T>();
        const size_t at = bucket.size();
        bucket.resize(at + g.numel());
        T* dst = bucket.data() + at;
        const T s = static_cast<T>(scale);
        for (int64_t i = 0; i < g.numel(); ++i) dst[i] = src[i] * s;  // this rank's share: n_r / N
        members.push_back(g);
      }
      flush();
    });
  }
}

void abort_all_ranks(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
#ifdef EMBER_HAVE_MPI
  if (running_distributed()) MPI_Abort(MPI_COMM_WORLD, exit_code);
#endif
  std::exit(exit_code);
}

namespace {

// The all-reduce of one tensor's elements, in place, on a contiguous copy.
Tensor allreduce_copy(const Tensor& t) {
  Tensor out = t.detach().clone();
#ifdef EMBER_HAVE_MPI
  if (running_distributed())
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, out.raw_data(), static_cast<int>(out.numel()), mpi_type(out.dtype()),
                            MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce");
#endif
  return out;
}

}  // namespace

Tensor allreduce_sum_op(const Tensor& t) {
  check(t.defined(), "allreduce_sum_op: the tensor is undefined");
  Tensor out = allreduce_copy(t);
  // out_r = sum_s t_s on every rank r, so dL/dt_s = sum_r dL/dout_r: the gradients all-reduced.
  record(out, "allreduce_sum", {t}, [](const Tensor& g) { return std::vector<Tensor>{allreduce_copy(g)}; });
  return out;
}

void synchronise_batch_norm(Module& model) {
  for (auto& [name, module] : model.named_modules())
    if (auto* bn = dynamic_cast<BatchNorm*>(module)) bn->sum_over_processes = allreduce_sum_op;
}

double allreduce_sum(double value) {
#ifdef EMBER_HAVE_MPI
  if (running_distributed())
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
#endif
  return value;
}

int64_t allreduce_sum(int64_t value) {
#ifdef EMBER_HAVE_MPI
  if (running_distributed())
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
#endif
  return value;
}

void check_all_ranks(bool ok, const std::string& message) {
  if (!running_distributed()) {
    if (!ok) throw Error(message);
    return;
  }
#ifdef EMBER_HAVE_MPI
  // The lowest failing rank (world_size when none failed), then its message's length and text.
  int failing = ok ? g_world : g_rank;
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &failing, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  if (failing == g_world) return;
  std::string text = g_rank == failing ? message : std::string();
  int64_t length = static_cast<int64_t>(text.size());
  mpi_check(MPI_Bcast(&length, 1, MPI_INT64_T, failing, MPI_COMM_WORLD), "MPI_Bcast");
  text.resize(static_cast<size_t>(length));
  mpi_check(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, failing, MPI_COMM_WORLD), "MPI_Bcast");
  throw Error("rank " + std::to_string(failing) + " of " + std::to_string(g_world) + ": " + text);
#else
  if (!ok) throw Error(message);
#endif
}

}  // namespace ember
