#pragma once
// The CUDA backend's host functions, one group per file; cuda/backend.cu puts them in the table
// that core/ sees (core/cuda_backend.h, where each entry's arguments are described). Each .cu file
// mirrors the CPU file of the same name: cuda/binary.cu and core/ops/binary.cpp, and so on.
#include <cstddef>
#include <cstdint>

#include "core/cuda_backend.h"

namespace ember::cuda {

// allocator.cu: GPU memory through a caching allocator over cudaMalloc, and copies
void* allocate(size_t nbytes);
void release(void* p, size_t nbytes) noexcept;
void release_cached();
CudaMemoryStats memory_stats();
void memory_info(size_t* free_bytes, size_t* total_bytes);
void copy(void* dst, const void* src, size_t nbytes, CopyKind kind);
void synchronize();

// A block of scratch GPU memory for the length of one call (from the caching allocator).
struct Workspace {
  explicit Workspace(size_t nbytes);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* data = nullptr;
  size_t nbytes = 0;
};

// tensor.cu (beside core/tensor.cpp)
void fill(DType dtype, void* p, int64_t n, double value);
void cast(DType to, void* dst, DType from, const void* src, int64_t n);

// binary.cu (core/ops/binary.cpp)
void binary(BinaryOp op, DType dtype, const void* a, const void* b, void* out, int64_t n, const BroadcastIndex& index);
void axpy(DType dtype, void* a, double alpha, const void* b, int64_t n);

// unary.cu (core/ops/unary.cpp): neg, exp, log; the activations go on to activations.cu
void unary(UnaryOp op, DType dtype, const void* x, void* y, int64_t n);
// activations.cu (core/ops/activations.cpp)
void activation(UnaryOp op, DType dtype, const void* x, void* y, int64_t n);
void activation_backward(UnaryOp op, DType dtype, const void* g, const void* saved, void* dx, int64_t n);

// reduce.cu (core/ops/reduce.cpp)
void sum_dim(DType dtype, const void* x, void* out, int64_t outer, int64_t n, int64_t inner);
void sum_all(DType dtype, const void* x, void* out, int64_t n);

// softmax.cu, cross_entropy.cu (core/ops/softmax.cpp, core/ops/cross_entropy.cpp)
void softmax(DType dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log);
void softmax_backward(DType dtype, const void* y, const void* g, void* dx, int64_t outer, int64_t n, int64_t inner,
                      bool log);
CrossEntropyCheck cross_entropy(DType dtype, const void* logits, const int64_t* target, void* loss, void* lse,
                                int64_t N, int64_t K, int64_t inner, int64_t ignore_index);
void cross_entropy_backward(DType dtype, const void* logits, const int64_t* target, const void* lse, const void* g,
                            bool per_position, double factor, void* dx, int64_t N, int64_t K, int64_t inner,
                            int64_t ignore_index);

// matmul.cu (core/ops/matmul.cpp, core/blas.h): cuBLAS
void gemm(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const void* A,
          int64_t lda, const void* B, int64_t ldb, double beta, void* C, int64_t ldc);
void set_tf32(bool on);
bool tf32();

// im2col.cu, conv2d.cu (core/ops/im2col.cpp, core/ops/conv2d.cpp)
void im2col(DType dtype, const void* x, const ConvGeometry& g, void* cols);
void col2im(DType dtype, const void* cols, const ConvGeometry& g, void* x);
void conv2d_forward(DType dtype, const void* x, const void* w, const void* b, const ConvGeometry& g, int64_t N,
                    int64_t K, void* y);
void conv2d_backward(DType dtype, const void* x, const void* w, const void* dy, const ConvGeometry& g, int64_t N,
                     int64_t K, void* dx, void* dw, void* db);

// adam.cu (optim/adam.cpp)
void adam_step(DType dtype, void* p, const void* g, void* m, void* v, int64_t n, double beta1, double beta2, double l2,
               double shrink, double step_size, double bias_correction2_sqrt, double eps);

}  // namespace ember::cuda
