// Matrix multiply on the GPU through cuBLAS: the GEMM of core/blas.h (row-major, OpenBLAS) for
// core/ops/matmul.cpp, linear.cpp and conv2d.cu. How a GEMM kernel works, step by step, is in
// cuda/gemm_teaching.cu; this file calls the library that does it best.
//
// Row-major on a column-major library: cuBLAS reads a matrix stored row by row as its transpose.
// So for C = op(A) op(B) (all row-major) we ask cuBLAS for C^T = op(B)^T op(A)^T, which it writes
// column by column - that is, C row by row. In the call: B before A, and N before M.
//
// TF32: Ampere and later GPUs can multiply float32 matrices on tensor cores with 10-bit mantissas
// (TF32), several times faster, with about 1e-3 relative error. Off here unless asked
// (set_cuda_tf32(true), or EMBER_CUDA_TF32=1), so that results match the CPU's to float32 rounding.
#include <cublas_v2.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    fail("cuda: ", what, " failed: ", cublasGetStatusName(status), " (", cublasGetStatusString(status), ")");
}

std::atomic<bool> tf32_on{[] {
  const char* v = std::getenv("EMBER_CUDA_TF32");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}()};

// One cuBLAS handle for the process, on the default stream, made on first use.
cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    check_cublas(cublasCreate(&created), "cublasCreate");
    check_cublas(cublasSetMathMode(created, tf32_on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                 "cublasSetMathMode");
    return created;
  }();
  return h;
}

int as_int(int64_t v, const char* what) {
  check(v >= 0 && v <= INT_MAX, "matmul on cuda: ", what, " = ", v, " is larger than cuBLAS's int (2^31 - 1)");
  return static_cast<int>(v);
}

}  // namespace

void set_tf32(bool on) {
  tf32_on = on;
  check_cublas(cublasSetMathMode(handle(), on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
}

bool tf32() { return tf32_on; }

void gemm(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const void* A,
          int64_t lda, const void* B, int64_t ldb, double beta, void* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int m = as_int(M, "M"), n = as_int(N, "N"), k = as_int(K, "K");
  // cuBLAS wants leading dimensions >= 1 even when K = 0
  const int la = std::max(1, as_int(lda, "lda")), lb = std::max(1, as_int(ldb, "ldb")), lc = as_int(ldc, "ldc");
  if (dtype == DType::Float32) {
    const float a = static_cast<float>(alpha), b = static_cast<float>(beta);
    check_cublas(cublasSgemm(handle(), op_b, op_a, n, m, k, &a, static_cast<const float*>(B), lb,
                             static_cast<const float*>(A), la, &b, static_cast<float*>(C), lc),
                 "cublasSgemm");
  } else if (dtype == DType::Float64) {
    check_cublas(cublasDgemm(handle(), op_b, op_a, n, m, k, &alpha, static_cast<const double*>(B), lb,
                             static_cast<const double*>(A), la, &beta, static_cast<double*>(C), lc),
                 "cublasDgemm");
  } else {
    fail("matmul: expected float32 or float64 tensors on cuda, got ", dtype_name(dtype));
  }
}

}  // namespace ember::cuda
