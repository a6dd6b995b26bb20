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
// The element-wise maths with parameters a, b (cuda/unary.cu): sqrt, x^a, |x|, clamp to [a, b].
enum class PointwiseOp { Sqrt, Pow, Abs, Clamp };

// Broadcasting of out = a op b, flattened for a kernel: the output's sizes and, for a and b, the
// stride of each output dimension in elements (0 where that input is broadcast).
constexpr int kMaxCudaDims = 8;
struct BroadcastIndex {
  int rank = 0;
  int64_t size[kMaxCudaDims] = {};
  int64_t stride_a[kMaxCudaDims] = {};
  int64_t stride_b[kMaxCudaDims] = {};
};

// A permutation of a contiguous tensor, flattened for a kernel (core/ops/shape.cpp's permute):
// the output's sizes and, for each output dimension, the stride in elements to step through the input.
struct PermuteIndex {
  int rank = 0;
  int64_t size[kMaxCudaDims] = {};
  int64_t step[kMaxCudaDims] = {};
};

// The windows of a 2-D pooling (core/ops/pool.cpp): N*C planes of height x width, out_h x out_w outputs.
struct PoolWindow {
  int64_t planes = 0, height = 0, width = 0;
  int64_t kernel = 1, stride = 1, padding = 0;
  int64_t out_h = 0, out_w = 0;
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

  // y = f(x; a, b); dx = g * f'(.) from the saved y for Sqrt (1 / 2y), from the saved x otherwise
  // (Pow: a x^(a-1), Abs: sign(x), Clamp: 1 inside [a, b], else 0)
  void (*pointwise)(PointwiseOp op, DType dtype, const void* x, void* y, int64_t n, double a, double b);
  void (*pointwise_backward)(PointwiseOp op, DType dtype, const void* g, const void* saved, void* dx, int64_t n,
                             double a, double b);
  // leaky_relu (cuda/activations.cu): y = x > 0 ? x : slope x; dx = x > 0 ? g : slope g (from the saved x)
  void (*leaky_relu)(DType dtype, const void* x, void* y, int64_t n, double slope);
  void (*leaky_relu_backward)(DType dtype, const void* g, const void* x, void* dx, int64_t n, double slope);

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

  // copies that rearrange (cuda/shape.cu, beside core/ops/shape.cpp). copy_rows: `rows` rows of
  // row_bytes each, from src (rows src_pitch bytes apart) to dst (dst_pitch apart): slice, concat,
  // index_select. permute: any element type of 4 or 8 bytes.
  void (*copy_rows)(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes, int64_t rows);
  void (*permute)(size_t element_size, const void* x, void* out, int64_t n, const PermuteIndex& index);
  // dx[index[i] rows] += g[i rows]: index_select's backward (atomicAdd), rows of row_len numbers
  void (*index_add_rows)(DType dtype, const int64_t* index, int64_t n, const void* g, void* dx, int64_t row_len);

  // max over a dimension (cuda/reduce.cu): x [outer, n, inner] -> values, indices [outer, inner]
  // (the first maximum; NaN wins, as on the CPU); backward: dx[o, indices, i] = g[o, i], dx zeroed first
  void (*max_dim)(DType dtype, const void* x, void* values, int64_t* indices, int64_t outer, int64_t n,
                  int64_t inner);
  void (*max_dim_backward)(DType dtype, const void* g, const int64_t* indices, void* dx, int64_t outer, int64_t n,
                           int64_t inner);

  // pooling (cuda/pool.cu, beside core/ops/pool.cpp); the backward kernels write every element of dx
  void (*max_pool2d)(DType dtype, const void* x, void* y, int64_t* argmax, const PoolWindow& w);
  void (*max_pool2d_backward)(DType dtype, const void* gy, const int64_t* argmax, void* dx, const PoolWindow& w);
  void (*avg_pool2d)(DType dtype, const void* x, void* y, const PoolWindow& w);
  void (*avg_pool2d_backward)(DType dtype, const void* gy, void* dx, const PoolWindow& w);
  // x [planes, plane] -> y [planes], the mean of each plane; backward dx = gy / plane
  void (*global_avg_pool2d)(DType dtype, const void* x, void* y, int64_t planes, int64_t plane);
  void (*global_avg_pool2d_backward)(DType dtype, const void* gy, void* dx, int64_t planes, int64_t plane);

  // embedding (cuda/embedding.cu): out[p, :] = weight[ids[p], :]; dweight[ids[p], :] += g[p, :]
  // (dweight zeroed first; atomicAdd, so the order of the additions varies from run to run)
  void (*embedding)(DType dtype, const int64_t* ids, int64_t n, const void* weight, int64_t D, void* out);
  void (*embedding_backward)(DType dtype, const int64_t* ids, int64_t n, const void* g, int64_t D, void* dweight);

  // dropout (cuda/dropout.cu): out_i = keep(i) ? in_i * scale : 0, keep from core/ops/dropout_mask.h
  void (*dropout)(DType dtype, const void* in, void* out, int64_t n, uint64_t seed, double p, double scale);

  // masked_fill (cuda/masked_fill.cu): out = mask != 0 ? value : x, the mask read through
  // index.stride_b (0 where it is broadcast); index.stride_a is x's own (contiguous) strides
  void (*masked_fill)(DType dtype, const void* x, DType mask_dtype, const void* mask, void* out, int64_t n,
                      const BroadcastIndex& index, double value);

  // layer_norm over the last dimension (cuda/layer_norm.cu): x [rows, D]; w, b nullable (1 and 0);
  // saves mean, rstd [rows]. Backward: dx (nullable), dw and db (both nullable) summed over rows.
  void (*layer_norm)(DType dtype, const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                     int64_t rows, int64_t D, double eps);
  void (*layer_norm_backward)(DType dtype, const void* x, const void* w, const void* mean, const void* rstd,
                              const void* g, void* dx, void* dw, void* db, int64_t rows, int64_t D);

  // batch_norm (cuda/batch_norm.cu), x [N, C, S]; w, b nullable. mean, rstd: [C] doubles on the GPU,
  // written in training (the batch's statistics, and the running ones updated when not null) and
  // read in eval (computed here from running_mean and running_var). Backward: dx, dw, db nullable.
  void (*batch_norm)(DType dtype, const void* x, const void* w, const void* b, void* y, int64_t N, int64_t C,
                     int64_t S, bool training, double momentum, double eps, void* running_mean, void* running_var,
                     double* mean, double* rstd);
  void (*batch_norm_backward)(DType dtype, const void* x, const void* w, const void* g, const double* mean,
                              const double* rstd, int64_t N, int64_t C, int64_t S, bool training, void* dx, void* dw,
                              void* db);

  // attention (cuda/attention.cu, beside core/ops/attention.cpp), S and P [rows = heads * T, T]:
  // P = softmax(scale S) per row, keys j > i (i = row % T) masked when causal; and dropout of P with
  // one seed per head (seeds: a CPU array of `heads`), element (i, j) kept as DropoutMask(seed, p)
  // keeps index i T + j, the survivors times scale
  void (*attention_softmax)(DType dtype, const void* s, void* p, int64_t rows, int64_t T, double scale, bool causal);
  void (*attention_dropout)(DType dtype, const void* in, void* out, int64_t heads, int64_t per_head,
                            const uint64_t* seeds, double p, double scale);

  // optimizers (cuda/adam.cu, beside optim/adam.cpp): one Adam/AdamW step over n elements
  void (*adam_step)(DType dtype, void* p, const void* g, void* m, void* v, int64_t n, double beta1, double beta2,
                    double l2, double shrink, double step_size, double bias_correction2_sqrt, double eps);
  // one SGD step (cuda/sgd.cu, beside optim/sgd.cpp); buffer null when momentum is 0
  void (*sgd_step)(DType dtype, void* p, const void* g, void* buffer, int64_t n, double lr, double weight_decay,
                   double momentum, double new_share, bool nesterov);
  // clip_grad_norm (cuda/clip_grad.cu): sum of g_i^2 in double, read back; and g *= factor
  double (*sum_of_squares)(DType dtype, const void* g, int64_t n);
  void (*scale)(DType dtype, void* g, int64_t n, double factor);
};

// The table, once a device is known to work. Throws when the build has no CUDA ("configure with
// -DEMBER_CUDA=ON ...") or when there is no usable device (with the CUDA runtime's reason).
const CudaKernels& cuda_kernels();

}  // namespace ember
