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
void pointwise(PointwiseOp op, DType dtype, const void* x, void* y, int64_t n, double a, double b);
void pointwise_backward(PointwiseOp op, DType dtype, const void* g, const void* saved, void* dx, int64_t n, double a,
                        double b);
// activations.cu (core/ops/activations.cpp)
void activation(UnaryOp op, DType dtype, const void* x, void* y, int64_t n);
void activation_backward(UnaryOp op, DType dtype, const void* g, const void* saved, void* dx, int64_t n);
void leaky_relu(DType dtype, const void* x, void* y, int64_t n, double slope);
void leaky_relu_backward(DType dtype, const void* g, const void* x, void* dx, int64_t n, double slope);

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

// shape.cu (core/ops/shape.cpp)
void copy_rows(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes, int64_t rows);
void permute(size_t element_size, const void* x, void* out, int64_t n, const PermuteIndex& index);
void index_add_rows(DType dtype, const int64_t* index, int64_t n, const void* g, void* dx, int64_t row_len);

// reduce.cu: max and argmax (core/ops/reduce.cpp)
void max_dim(DType dtype, const void* x, void* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner);
void max_dim_backward(DType dtype, const void* g, const int64_t* indices, void* dx, int64_t outer, int64_t n,
                      int64_t inner);

// pool.cu (core/ops/pool.cpp)
void max_pool2d(DType dtype, const void* x, void* y, int64_t* argmax, const PoolWindow& w);
void max_pool2d_backward(DType dtype, const void* gy, const int64_t* argmax, void* dx, const PoolWindow& w);
void avg_pool2d(DType dtype, const void* x, void* y, const PoolWindow& w);
void avg_pool2d_backward(DType dtype, const void* gy, void* dx, const PoolWindow& w);
void global_avg_pool2d(DType dtype, const void* x, void* y, int64_t planes, int64_t plane);
void global_avg_pool2d_backward(DType dtype, const void* gy, void* dx, int64_t planes, int64_t plane);

// embedding.cu, dropout.cu, masked_fill.cu (core/ops/embedding.cpp, dropout.cpp, masked_fill.cpp)
void embedding(DType dtype, const int64_t* ids, int64_t n, const void* weight, int64_t D, void* out);
void embedding_backward(DType dtype, const int64_t* ids, int64_t n, const void* g, int64_t D, void* dweight);
void dropout(DType dtype, const void* in, void* out, int64_t n, uint64_t seed, double p, double scale);
void masked_fill(DType dtype, const void* x, DType mask_dtype, const void* mask, void* out, int64_t n,
                 const BroadcastIndex& index, double value);

// layer_norm.cu, batch_norm.cu (core/ops/layer_norm.cpp, core/ops/batch_norm.cpp)
void layer_norm(DType dtype, const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                int64_t rows, int64_t D, double eps);
void layer_norm_backward(DType dtype, const void* x, const void* w, const void* mean, const void* rstd, const void* g,
                         void* dx, void* dw, void* db, int64_t rows, int64_t D);
void batch_norm(DType dtype, const void* x, const void* w, const void* b, void* y, int64_t N, int64_t C, int64_t S,
                bool training, double momentum, double eps, void* running_mean, void* running_var, double* mean,
                double* rstd);
void batch_norm_backward(DType dtype, const void* x, const void* w, const void* g, const double* mean,
                         const double* rstd, int64_t N, int64_t C, int64_t S, bool training, void* dx, void* dw,
                         void* db);

// attention.cu (core/ops/attention.cpp)
void attention_softmax(DType dtype, const void* s, void* p, int64_t rows, int64_t T, double scale, bool causal);
void attention_dropout(DType dtype, const void* in, void* out, int64_t heads, int64_t per_head, const uint64_t* seeds,
                       double p, double scale);

// sgd.cu (optim/sgd.cpp), clip_grad.cu (optim/clip_grad.cpp)
void sgd_step(DType dtype, void* p, const void* g, void* buffer, int64_t n, double lr, double weight_decay,
              double momentum, double new_share, bool nesterov);
double sum_of_squares(DType dtype, const void* g, int64_t n);
void scale(DType dtype, void* g, int64_t n, double factor);

// adam.cu (optim/adam.cpp)
void adam_step(DType dtype, void* p, const void* g, void* m, void* v, int64_t n, double beta1, double beta2, double l2,
               double shrink, double step_size, double bias_correction2_sqrt, double eps);

}  // namespace ember::cuda
