// 2-D convolution on the GPU as im2col + GEMM: the same forward and backward as core/ops/conv2d.cpp
// (read the maths and the shapes there), with cuda/im2col.cu and cuBLAS (cuda/matmul.cu).
//
//   Forward, image n:   cols_n = im2col(x_n)  [R, P]       Y_n = W @ cols_n  [K, R] @ [R, P]   (+ b[k] on row k)
//   Backward:           dW = sum_n dY_n @ cols_n^T          db = sum of dY over n and p
//                       dx_n = col2im(W^T @ dY_n)
// R = C*KH*KW, P = OH*OW. A 1x1 kernel with stride 1 and no padding needs no im2col (cols_n = x_n).
//
// What the CPU version does for its caches (blocks of rows, per-thread workspaces and partial sums)
// is not needed here: one image at a time fills the GPU for the layer sizes of the course, the
// scratch cols come from the caching allocator, and dW is accumulated by the GEMM itself (beta = 1)
// in image order, so the result is the same on every run. Batching several images per GEMM
// (cublasGemmStridedBatched over a chunk of cols) is the next step for small images.
#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

bool is_pointwise(const ConvGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride == 1 && g.padding == 0;
}

// y[n, k, p] += b[k]
template <typename T>
__global__ void add_bias_kernel(T* y, const T* b, int64_t N, int64_t K, int64_t P) {
  GRID_STRIDE_LOOP(e, N * K * P) y[e] += b[(e / P) % K];
}

const char* at(const void* base, int64_t elements, size_t elem) {
  return static_cast<const char*>(base) + elements * static_cast<int64_t>(elem);
}
char* at(void* base, int64_t elements, size_t elem) { return static_cast<char*>(base) + elements * static_cast<int64_t>(elem); }

}  // namespace

void conv2d_forward(DType dtype, const void* x, const void* w, const void* b, const ConvGeometry& g, int64_t N,
                    int64_t K, void* y) {
  const size_t elem = dtype_size(dtype);
  const int64_t R = g.patch_size(), P = g.positions(), image = g.channels * g.height * g.width;
  const bool pointwise = is_pointwise(g);
  Workspace cols(pointwise ? 0 : R * P * elem);
  for (int64_t n = 0; n < N; ++n) {
    const void* x_n = at(x, n * image, elem);
    if (!pointwise) im2col(dtype, x_n, g, cols.data);
    // Y_n [K, P] = W [K, R] @ cols_n [R, P]
    gemm(dtype, false, false, K, P, R, 1.0, w, R, pointwise ? x_n : cols.data, P, 0.0, at(y, n * K * P, elem), P);
  }
  if (b) {
    dispatch_float(dtype, "conv2d", [&](auto tag) {
      using T = decltype(tag);
      add_bias_kernel<<<blocks_for(N * K * P), kThreads>>>(static_cast<T*>(y), static_cast<const T*>(b), N, K, P);
    });
    CUDA_CHECK_LAUNCH();
  }
}

void conv2d_backward(DType dtype, const void* x, const void* w, const void* dy, const ConvGeometry& g, int64_t N,
                     int64_t K, void* dx, void* dw, void* db) {
  const size_t elem = dtype_size(dtype);
  const int64_t R = g.patch_size(), P = g.positions(), image = g.channels * g.height * g.width;
  const bool pointwise = is_pointwise(g);
  Workspace cols(pointwise || !dw ? 0 : R * P * elem);
  Workspace dcols(pointwise || !dx ? 0 : R * P * elem);
  if (dw && N == 0) fill(dtype, dw, K * R, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    const void* x_n = at(x, n * image, elem);
    const void* dy_n = at(dy, n * K * P, elem);
    if (dw) {
      // dW [K, R] (+)= dY_n [K, P] @ cols_n^T [P, R]; the first image overwrites (beta = 0)
      if (!pointwise) im2col(dtype, x_n, g, cols.data);
      gemm(dtype, false, true, K, R, P, 1.0, dy_n, P, pointwise ? x_n : cols.data, P, n == 0 ? 0.0 : 1.0, dw, R);
    }
    if (dx) {
      void* dx_n = at(dx, n * image, elem);
      if (pointwise) {
        // dx_n [C, P] = W^T [C, K] @ dY_n [K, P]
        gemm(dtype, true, false, R, P, K, 1.0, w, R, dy_n, P, 0.0, dx_n, P);
      } else {
        // dcols [R, P] = W^T [R, K] @ dY_n [K, P], then each pixel gathers its entries
        gemm(dtype, true, false, R, P, K, 1.0, w, R, dy_n, P, 0.0, dcols.data, P);
        col2im(dtype, dcols.data, g, dx_n);
      }
    }
  }
  if (db) {
    // db[k] = sum over n and p of dY[n, k, p]: first over p (rows of [N*K, P]), then over n ([N, K] columns)
    if (N == 0 || P == 0) {
      fill(dtype, db, K, 0.0);
    } else {
      Workspace per_image(N * K * elem);
      sum_dim(dtype, dy, per_image.data, N * K, P, 1);
      sum_dim(dtype, per_image.data, db, 1, N, K);
    }
  }
}

}  // namespace ember::cuda
