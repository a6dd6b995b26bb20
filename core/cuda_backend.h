#pragma once
// The seam between the engine and its GPU backend.
//
// core/ knows nothing of CUDA: it compiles and links without it. What it knows is this table of
// functions, which the CUDA backend (cuda/, built with -DEMBER_CUDA=ON or AUTO where nvcc is found)
// fills in. Every function takes raw device pointers and sizes, as llm.c's kernels do; the op
// functions in core/ops/ keep their checks and their autograd record() and, for a CUDA tensor, call
// one entry of this table instead of their CPU loop:
//
//   Tensor relu(const Tensor& x) {
//     ...checks...
//     Tensor y = x.device() == Device::CUDA ? cuda_unary(UnaryOp::Relu, x) : map(x, ...);   // one place
//     record(y, "relu", ...);
//
// Each entry is implemented in the cuda/ file named like the CPU file it mirrors: binary ->
// cuda/binary.cu beside core/ops/binary.cpp, softmax -> cuda/softmax.cu beside core/ops/softmax.cpp,
// and so on. Pointers are `void*` with a DType beside them: the .cu file picks float or double.
//
// Ops that have no entry here refuse CUDA tensors by name ("op max_pool2d has no CUDA kernel yet"):
// OpScope, which every op starts with, asks require_cuda_kernel() (the list is in cuda_backend.cpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "core/ops/im2col.h"  // ConvGeometry

namespace ember {

// ---- what the rest of the engine may ask --------------------------------------------------------

// Whether this build has the CUDA backend (configured with EMBER_CUDA=ON, or AUTO with nvcc found).
bool cuda_is_built();
// Whether a CUDA device can be used now: the backend is built, a driver is loaded and it sees a GPU.
// Never throws; tests skip on false.
bool cuda_is_available();
// Why not, in words: "ember was built without CUDA ...", or the CUDA runtime's own reason. Empty
// when cuda_is_available().
std::string cuda_unavailable_reason();
// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)"; an error when no device is available.
std::string cuda_device_name();

// TF32 tensor cores in matmul and conv2d (cuBLAS). Off by default, so that float32 results match
// the CPU's to float32 rounding; on, a GEMM is several times faster and has about 1e-3 relative
// error (10 mantissa bits). EMBER_CUDA_TF32=1 in the environment switches it on at start.
void set_cuda_tf32(bool on);
bool cuda_tf32();

// The GPU's caching allocator (cuda/allocator.cu): what is in use, what is kept for reuse.
struct CudaMemoryStats {
  size_t allocated_bytes = 0;       // held by tensors now
  size_t cached_bytes = 0;          // freed by tensors, kept for the next request of the same size
  size_t peak_allocated_bytes = 0;  // the most held at once since the program started
  int64_t cuda_malloc_calls = 0;    // how often the cache had no block and asked cudaMalloc
  int64_t cache_hits = 0;           // requests served from the cache
};
CudaMemoryStats cuda_memory_stats();

// Waits until every kernel launched so far has finished (for timing; copies to the CPU wait anyway).
void cuda_synchronize();

// Throws "op NAME has no CUDA kernel yet ..." unless NAME is an op with a CUDA path. Called by
// OpScope when one of an op's inputs is a CUDA tensor.
void require_cuda_kernel(const char* op);

// ---- the table the backend fills in ---------------------------------------------------------------

enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
enum class BinaryOp { Add, Sub, Mul, Div };
enum class UnaryOp { Neg, Exp, Log, Relu, Sigmoid, Tanh, GeluErf, GeluTanh };

// Broadcasting of out = a op b, flattened for a kernel: the output's sizes and, for a and b, the
// stride of each output dimension in elements (0 where that input is broadcast).
constexpr int kMaxCudaDims = 8;
struct BroadcastIndex {
  int rank = 0;
  int64_t size[kMaxCudaDims] = {};
  int64_t stride_a[kMaxCudaDims] = {};
  int64_t stride_b[kMaxCudaDims] = {};
};

// What cross-entropy's forward kernel finds besides the losses, read back by the CPU to check the
// targets as the CPU op does.
struct CrossEntropyCheck {
  int64_t counted = 0;          // targets that are not ignore_index
  int64_t first_bad = -1;       // the first position whose target is out of range, or -1
  int64_t first_bad_value = 0;  // that target
};

struct CudaKernels {
  // memory (cuda/allocator.cu)
  void* (*allocate)(size_t nbytes);  // nullptr when the GPU has no such block, even after freeing the cache
  void (*release)(void* p, size_t nbytes) noexcept;
  void (*release_cached)();
  CudaMemoryStats (*memory_stats)();
  void (*memory_info)(size_t* free_bytes, size_t* total_bytes);
  void (*copy)(void* dst, const void* src, size_t nbytes, CopyKind kind);
  void (*synchronize)();
  std::string (*device_name)();

  // creation and conversion (cuda/tensor.cu, beside core/tensor.cpp)
  void (*fill)(DType dtype, void* p, int64_t n, double value);
  void (*cast)(DType to, void* dst, DType from, const void* src, int64_t n);

  // element-wise (cuda/binary.cu, cuda/unary.cu, cuda/activations.cu)
  void (*binary)(BinaryOp op, DType dtype, const void* a, const void* b, void* out, int64_t n,
                 const BroadcastIndex& index);
  void (*axpy)(DType dtype, void* a, double alpha, const void* b, int64_t n);  // a += alpha b
  void (*unary)(UnaryOp op, DType dtype, const void* x, void* y, int64_t n);
  // dx = g * f'(saved): saved is y for Relu, Sigmoid, Tanh and x for GeluErf, GeluTanh
  void (*unary_backward)(UnaryOp op, DType dtype, const void* g, const void* saved, void* dx, int64_t n);

  // reductions (cuda/reduce.cu): x seen as [outer, n, inner] -> out [outer, inner]; all -> out [1]
  void (*sum_dim)(DType dtype, const void* x, void* out, int64_t outer, int64_t n, int64_t inner);
  void (*sum_all)(DType dtype, const void* x, void* out, int64_t n);

  // softmax family (cuda/softmax.cu, cuda/cross_entropy.cu), x as [outer, n, inner] around dim
  void (*softmax)(DType dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log);
  void (*softmax_backward)(DType dtype, const void* y, const void* g, void* dx, int64_t outer, int64_t n,
                           int64_t inner, bool log);
  // logits [N, K, inner], target [N, inner] -> loss [N * inner] (0 where ignored), lse [N * inner]
  CrossEntropyCheck (*cross_entropy)(DType dtype, const void* logits, const int64_t* target, void* loss,
                                     void* lse, int64_t N, int64_t K, int64_t inner, int64_t ignore_index);
  // dx = (softmax - onehot) * scale, scale = g[p] when per_position, else g[0] * factor (g on the GPU)
  void (*cross_entropy_backward)(DType dtype, const void* logits, const int64_t* target, const void* lse,
                                 const void* g, bool per_position, double factor, void* dx, int64_t N, int64_t K,
                                 int64_t inner, int64_t ignore_index);

  // matrix multiply (cuda/matmul.cu, cuBLAS): row-major C = alpha op(A) op(B) + beta C, as core/blas.h
  void (*gemm)(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
               const void* A, int64_t lda, const void* B, int64_t ldb, double beta, void* C, int64_t ldc);
  void (*set_tf32)(bool on);
  bool (*tf32)();

  // convolution (cuda/conv2d.cu, cuda/im2col.cu): the same arguments as core/ops/conv2d.cpp's loops
  void (*conv2d_forward)(DType dtype, const void* x, const void* w, const void* b, const ConvGeometry& g,
                         int64_t N, int64_t K, void* y);
  void (*conv2d_backward)(DType dtype, const void* x, const void* w, const void* dy, const ConvGeometry& g,
                          int64_t N, int64_t K, void* dx, void* dw, void* db);

  // optimizers (cuda/adam.cu, beside optim/adam.cpp): one Adam/AdamW step over n elements
  void (*adam_step)(DType dtype, void* p, const void* g, void* m, void* v, int64_t n, double beta1, double beta2,
                    double l2, double shrink, double step_size, double bias_correction2_sqrt, double eps);
};

// The table, once a device is known to work. Throws when the build has no CUDA ("configure with
// -DEMBER_CUDA=ON ...") or when there is no usable device (with the CUDA runtime's reason).
const CudaKernels& cuda_kernels();

}  // namespace ember
