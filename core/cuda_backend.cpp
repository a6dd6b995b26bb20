// The CUDA seam: where core/ finds the backend's table (core/cuda_backend.h), and the one place
// that knows whether this build has one (EMBER_HAVE_CUDA, defined for ember_core only when cuda/ is
// built and linked).
#include "core/cuda_backend.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "core/error.h"

#ifdef EMBER_HAVE_CUDA
namespace ember::cuda {
// cuda/backend.cu: the filled-in table, or nullptr with the reason when no device can be used.
const CudaKernels* kernels_or_null(std::string* reason);
}  // namespace ember::cuda
#endif

namespace ember {

namespace {

const char* const kHowToBuild =
    "ember was built without CUDA: configure a build folder with the CUDA Toolkit installed (nvcc on the PATH "
    "or in /usr/local/cuda/bin), e.g. cmake -S . -B build-cuda -DEMBER_CUDA=ON, and link that build";

// The table and the reason it is missing, found once.
struct Backend {
  const CudaKernels* kernels = nullptr;
  std::string reason;
};

const Backend& backend() {
  static const Backend found = [] {
    Backend b;
#ifdef EMBER_HAVE_CUDA
    b.kernels = cuda::kernels_or_null(&b.reason);
#else
    b.reason = kHowToBuild;
#endif
    return b;
  }();
  return found;
}

}  // namespace

bool cuda_is_built() {
#ifdef EMBER_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_is_available() {
  try {
    return backend().kernels != nullptr;
  } catch (...) {
    return false;
  }
}

std::string cuda_unavailable_reason() { return backend().reason; }

const CudaKernels& cuda_kernels() {
  const Backend& b = backend();
  if (!b.kernels) fail("cuda: ", b.reason);
  return *b.kernels;
}

void set_cuda_tf32(bool on) { cuda_kernels().set_tf32(on); }

bool cuda_tf32() { return cuda_is_available() && cuda_kernels().tf32(); }

std::string cuda_device_name() { return cuda_kernels().device_name(); }

CudaMemoryStats cuda_memory_stats() { return cuda_kernels().memory_stats(); }

void cuda_synchronize() { cuda_kernels().synchronize(); }

// The ops with a CUDA path (a branch to a cuda_kernels() entry, or built only from such ops). Every
// other op refuses a CUDA tensor here, by name, before it would read GPU memory as if it were the CPU's.
void require_cuda_kernel(const char* op) {
  static const char* const ops_with_cuda[] = {
      "add", "sub", "mul", "div",                                     // binary.cpp
      "neg", "exp", "log", "sqrt", "pow", "abs", "clamp",             // unary.cpp
      "relu", "leaky_relu", "sigmoid", "tanh", "gelu",                // activations.cpp
      "mse_loss", "binary_cross_entropy_with_logits",                 // loss.cpp: built from such ops
      "sum", "mean", "var", "max", "argmax",                          // reduce.cpp
      "softmax", "log_softmax", "cross_entropy",                      // softmax.cpp, cross_entropy.cpp
      "matmul", "linear",                                             // matmul.cpp, linear.cpp
      "conv2d",                                                       // conv2d.cpp
      "reshape",                                                      // a view: no kernel needed
      "permute", "transpose", "slice", "concat", "stack", "index_select",  // shape.cpp
      "max_pool2d", "avg_pool2d", "global_avg_pool2d",                // pool.cpp
      "batch_norm", "layer_norm",                                     // batch_norm.cpp, layer_norm.cpp
      "embedding", "dropout", "masked_fill",                          // embedding.cpp, dropout.cpp, masked_fill.cpp
      "scaled_dot_product_attention", "self_attention",               // attention.cpp
  };
  const bool has = std::any_of(std::begin(ops_with_cuda), std::end(ops_with_cuda),
                               [op](const char* name) { return std::strcmp(name, op) == 0; });
  check(has, "op ", op, " has no CUDA kernel yet: its input is a CUDA tensor. Run it on the CPU (x.cpu()), or "
        "write its kernel in cuda/ beside the CPU loop (see the README's CUDA section)");
}

}  // namespace ember
