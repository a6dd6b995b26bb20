// 2-D convolution as im2col + GEMM (as in Caffe and darknet).
// The plain reference of this op, one loop nest to step through: core/ops/reference/conv2d.cpp
//
//   x       [N, C, H, W]      input images
//   weight  [K, C, KH, KW]    K filters, read as the matrix W [K, R] with R = C*KH*KW
//   bias    [K]               optional
//   y       [N, K, OH, OW]    OH = (H + 2 pad - dil (KH - 1) - 1) / stride + 1, the same for OW;
//                             each y_n is read as the matrix Y_n [K, P] with P = OH*OW
//
// Forward, one image n at a time:
//   cols_n = im2col(x_n)                    [R, P]   column p is the input patch under output p
//   Y_n    = W @ cols_n  (+ b[k] on row k)  [K, R] @ [R, P] -> [K, P]
//
// Backward, given dY = dLoss/dy:
//   dW     = sum_n dY_n @ cols_n^T          [K, P] @ [P, R] -> [K, R]
//   db     = sum of dY_n over n and p       [K]
//   dcols  = W^T @ dY_n                     [R, K] @ [K, P] -> [R, P]
//   dx_n   = col2im(dcols)                  [C, H, W]   overlapping patches add up
//
// A 1x1 kernel with stride 1 and no padding needs no im2col: cols_n is x_n itself, read as [C, H*W].
//
// How it is made fast (without changing the math above):
// - Images are split across threads, each thread calling BLAS with one thread of its own: one level
//   of parallelism (see core/parallel.h). With fewer images than threads, it is the other way
//   round: one image at a time, BLAS using all threads.
// - An image is done in blocks of output rows: cols of a block is [R, rows*OW], about 1 MB, so it
//   is still in the L2 cache when the GEMM reads it (rows_per_block below). The GEMMs above are
//   the same, one block of columns of Y_n / dY_n at a time.
// - Each thread keeps its cols/dcols buffers between calls (thread_workspace below): a network calls
//   conv2d with the same sizes every step, and fresh megabytes on each call cost page faults.
// - Backward recomputes cols with im2col rather than saving them in the forward, which would take
//   N*R*P numbers (150 MB for a 64-to-64-channel 32x32 layer with a batch of 64) and was measured
//   almost 2x slower for that layer: the recomputed block is in the cache, the saved one in DRAM.
// - dW is summed per thread and the per-thread sums are added in thread order: the same bits on
//   every run for a given thread count.
// - Nothing is computed for an input that does not require grad: no dx for the images fed to a
//   first layer, no dW for a frozen layer.
//
// On the GPU: cuda/conv2d.cu, the same forward and backward (im2col of cuda/im2col.cu + cuBLAS
// GEMMs), called from the op below with the same arguments as the two loops here.
#include <algorithm>
#include <vector>

#include "core/blas.h"
#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/ops/im2col.h"
#include "core/parallel.h"

namespace ember {

namespace {

// Scratch memory of one thread, kept between calls; `slot` 0 holds cols, slot 1 dcols. It only
// grows (to the largest block seen: about 1 MB, see rows_per_block) and lives as long as the thread.
template <typename T>
T* thread_workspace(int slot, int64_t size) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& buffer = buffers[slot];
  if (static_cast<int64_t>(buffer.size()) < size) buffer.resize(size);
  return buffer.data();
}

// A 1x1 kernel with stride 1 and no padding: im2col would copy x_n unchanged.
bool is_pointwise(const ConvGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride == 1 && g.padding == 0;
}

// Calls body(n0, n1) on ranges of images covering [0, N). With enough images, the ranges run in
// parallel and BLAS is single-threaded inside each; otherwise one call covers all images and BLAS
// keeps all threads. A thread is only worth waking for about a million multiply-adds or more
// (tiny layers, as in the unit tests, run on one thread).
template <typename F>
void for_image_ranges(int64_t N, int64_t multiply_adds_per_image, F&& body) {
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(multiply_adds_per_image, 1));
  if (get_num_threads() > 1 && N >= 2 * grain) {
    BlasThreadsGuard one_blas_thread(1);
    parallel_for(0, N, grain, body);
  } else {
    body(0, N);
  }
}

// Sum of n contiguous values with eight running partial sums: the CPU can do eight independent
// adds at once, while a single running sum waits for each add to finish before the next.
template <typename T>
T sum_of(const T* p, int64_t n) {
  T partial[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) partial[j] += p[i + j];
  T total = 0;
  for (int j = 0; j < 8; ++j) total += partial[j];
  for (; i < n; ++i) total += p[i];
  return total;
}

// Output rows per block. A block of `rows` output rows has cols [R, rows*OW]; about 1 MB of it
// stays in the L2 cache between im2col writing it and the GEMM reading it (measured faster than
// whole images, whose cols spill out of the cache), and it keeps the workspace small for large
// images. The blocks are made even: 32 rows with room for 14 become 11 + 11 + 10, not 14 + 14 + 4.
int64_t rows_per_block(const ConvGeometry& g, int64_t element_size) {
  if (is_pointwise(g)) return g.out_h;  // no cols at all
  const int64_t budget = (int64_t(1) << 20) / element_size;
  const int64_t fit = std::clamp<int64_t>(budget / (g.patch_size() * g.out_w), 1, g.out_h);
  const int64_t blocks = (g.out_h + fit - 1) / fit;
  return (g.out_h + blocks - 1) / blocks;
}

template <typename T>
void conv2d_forward(const T* x, const T* w, const T* b, const ConvGeometry& g, int64_t N, int64_t K, T* y) {
  const int64_t R = g.patch_size(), P = g.positions();
  const int64_t image_size = g.channels * g.height * g.width;
  const int64_t block_rows = rows_per_block(g, sizeof(T));
  for_image_ranges(N, K * R * P, [&](int64_t n0, int64_t n1) {
    T* cols = is_pointwise(g) ? nullptr : thread_workspace<T>(0, R * block_rows * g.out_w);
    for (int64_t n = n0; n < n1; ++n) {
      const T* x_n = x + n * image_size;
      T* y_n = y + n * K * P;
      // Output rows [oh0, oh1) are the Q = (oh1 - oh0) * OW columns of Y_n starting at oh0 * OW.
      for (int64_t oh0 = 0; oh0 < g.out_h; oh0 += block_rows) {
        const int64_t oh1 = std::min(oh0 + block_rows, g.out_h), Q = (oh1 - oh0) * g.out_w;
        T* y_block = y_n + oh0 * g.out_w;  // [K, Q], rows P apart
        if (cols) im2col(x_n, g, oh0, oh1, cols);
        // Y_n[:, block] [K, Q] = W [K, R] @ cols [R, Q]   (pointwise: cols is x_n's columns)
        gemm(false, false, K, Q, R, T(1), w, R, cols ? cols : x_n + oh0 * g.out_w, cols ? Q : P, T(0), y_block, P);
        if (b)  // + b[k] on row k, while the block is still in the cache
          for (int64_t k = 0; k < K; ++k)
            for (int64_t q = 0; q < Q; ++q) y_block[k * P + q] += b[k];
      }
    }
  });
}

// dx, dw, db may be null: that gradient is not wanted. Those wanted are overwritten.
template <typename T>
void conv2d_backward(const T* x, const T* w, const T* dy, const ConvGeometry& g, int64_t N, int64_t K, T* dx,
                     T* dw, T* db) {
  const int64_t R = g.patch_size(), P = g.positions();
  const int64_t image_size = g.channels * g.height * g.width;
  const int64_t block_rows = rows_per_block(g, sizeof(T));
  // Per-thread partial sums of dW and db; thread 0 writes straight into dw and db.
  const int threads = get_num_threads();
  std::vector<T> dw_partial(dw ? (threads - 1) * K * R : 0, T(0));
  std::vector<T> db_partial(db ? (threads - 1) * K : 0, T(0));
  if (dw) std::fill(dw, dw + K * R, T(0));
  if (db) std::fill(db, db + K, T(0));

  for_image_ranges(N, K * R * P, [&](int64_t n0, int64_t n1) {
    const int t = current_thread_index();
    T* dw_t = !dw ? nullptr : t == 0 ? dw : dw_partial.data() + (t - 1) * K * R;
    T* db_t = !db ? nullptr : t == 0 ? db : db_partial.data() + (t - 1) * K;
    const int64_t block_size = R * block_rows * g.out_w;
    T* cols = is_pointwise(g) || !dw ? nullptr : thread_workspace<T>(0, block_size);
    T* dcols = is_pointwise(g) || !dx ? nullptr : thread_workspace<T>(1, block_size);
    for (int64_t n = n0; n < n1; ++n) {
      const T* x_n = x + n * image_size;
      const T* dy_n = dy + n * K * P;
      T* dx_n = dx ? dx + n * image_size : nullptr;
      if (dcols) std::fill(dx_n, dx_n + image_size, T(0));  // col2im adds into it
      for (int64_t oh0 = 0; oh0 < g.out_h; oh0 += block_rows) {
        const int64_t oh1 = std::min(oh0 + block_rows, g.out_h), Q = (oh1 - oh0) * g.out_w;
        const T* dy_block = dy_n + oh0 * g.out_w;  // dY_n[:, block]: [K, Q], rows P apart
        if (dw) {
          if (cols) im2col(x_n, g, oh0, oh1, cols);  // recomputed: cheaper than keeping N of them (see top)
          // dW [K, R] += dY_n[:, block] [K, Q] @ cols^T [Q, R]
          gemm(false, true, K, R, Q, T(1), dy_block, P, cols ? cols : x_n + oh0 * g.out_w, cols ? Q : P, T(1),
               dw_t, R);
        }
        if (dx) {
          if (dcols) {
            // dcols [R, Q] = W^T [R, K] @ dY_n[:, block] [K, Q], then scatter-add the patches back
            gemm(true, false, R, Q, K, T(1), w, R, dy_block, P, T(0), dcols, Q);
            col2im(dcols, g, oh0, oh1, dx_n);
          } else {
            // pointwise: dx_n [C, H*W] = W^T [C, K] @ dY_n [K, P] directly
            gemm(true, false, R, Q, K, T(1), w, R, dy_block, P, T(0), dx_n + oh0 * g.out_w, P);
          }
        }
      }
      if (db)
        for (int64_t k = 0; k < K; ++k) db_t[k] += sum_of(dy_n + k * P, P);
    }
  });

  // Add the other threads' partial sums in a fixed order.
  for (int t = 1; t < threads; ++t) {
    if (dw)
      for (int64_t i = 0; i < K * R; ++i) dw[i] += dw_partial[(t - 1) * K * R + i];
    if (db)
      for (int64_t k = 0; k < K; ++k) db[k] += db_partial[(t - 1) * K + k];
  }
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions opt) {
  OpScope scope("conv2d", x, weight, bias);
  check(x.defined() && weight.defined(), "conv2d: input or weight is undefined");
  check(x.dim() == 4, "conv2d: input must be [N, C, H, W], got ", shape_str(x.shape()));
  check(weight.dim() == 4, "conv2d: weight must be [K, C, KH, KW], got ", shape_str(weight.shape()));
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t K = weight.size(0), KH = weight.size(2), KW = weight.size(3);
  check(C == weight.size(1), "conv2d: input has ", C, " channels, weight expects ", weight.size(1), " (input ",
        shape_str(x.shape()), ", weight ", shape_str(weight.shape()), ")");
  check(x.dtype() == weight.dtype(), "conv2d: input is ", dtype_name(x.dtype()), ", weight is ",
        dtype_name(weight.dtype()));
  check(weight.numel() > 0, "conv2d: weight ", shape_str(weight.shape()), " is empty");
  if (bias.defined())
    check(bias.dim() == 1 && bias.size(0) == K && bias.dtype() == x.dtype(), "conv2d: bias must be [", K, "] ",
          dtype_name(x.dtype()), " (one per filter of weight ", shape_str(weight.shape()), "), got ",
          shape_str(bias.shape()), " ", dtype_name(bias.dtype()));
  check(opt.stride >= 1 && opt.dilation >= 1 && opt.padding >= 0, "conv2d: need stride >= 1, dilation >= 1 and ",
        "padding >= 0, got stride ", opt.stride, ", dilation ", opt.dilation, ", padding ", opt.padding);
  const ConvGeometry g = make_conv_geometry(C, H, W, KH, KW, opt.stride, opt.padding, opt.dilation);
  check(g.out_h > 0 && g.out_w > 0, "conv2d: output would be ", g.out_h, "x", g.out_w, ": the ", KH, "x", KW,
        " kernel (dilation ", opt.dilation, ") does not fit the input padded by ", opt.padding, " (input ",
        shape_str(x.shape()), ", weight ", shape_str(weight.shape()), ")");

  check(x.device() == weight.device() && (!bias.defined() || bias.device() == x.device()),
        "conv2d: input, weight and bias must be on one device: input on ", device_name(x.device()), ", weight on ",
        device_name(weight.device()), bias.defined() ? ", bias on " : "", bias.defined() ? device_name(bias.device()) : "");

  Tensor y = Tensor::empty({N, K, g.out_h, g.out_w}, x.dtype(), x.device());
  if (x.device() == Device::CUDA) {
    check(is_floating(x.dtype()), "conv2d: expected float32 or float64 tensors, got ", dtype_name(x.dtype()));
    if (y.numel() > 0)
      cuda_kernels().conv2d_forward(x.dtype(), x.raw_device_data(), weight.raw_device_data(),
                                    bias.defined() ? bias.raw_device_data() : nullptr, g, N, K, y.raw_device_data());
  } else dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    conv2d_forward<T>(x.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr, g, N, K,
                      y.data<T>());
  });

  // Backward reads x (for dW) and the weight (for dx); only the wanted gradients are computed.
  const bool need_dx = x.requires_grad();
  const bool need_dw = weight.requires_grad();
  const bool need_db = bias.defined() && bias.requires_grad();
  Tensor x_saved = x.detach(), w_saved = weight.detach();
  record(y, "conv2d", {x, weight, bias}, [x_saved, w_saved, g, N, K, need_dx, need_dw, need_db](const Tensor& gy) {
    const Device device = gy.device();
    Tensor dx = need_dx ? Tensor::empty(x_saved.shape(), gy.dtype(), device) : Tensor();
    Tensor dw = need_dw ? Tensor::empty(w_saved.shape(), gy.dtype(), device) : Tensor();
    Tensor db = need_db ? Tensor::empty({K}, gy.dtype(), device) : Tensor();
    if (device == Device::CUDA) {
      cuda_kernels().conv2d_backward(gy.dtype(), x_saved.raw_device_data(), w_saved.raw_device_data(),
                                     gy.raw_device_data(), g, N, K, need_dx ? dx.raw_device_data() : nullptr,
                                     need_dw ? dw.raw_device_data() : nullptr, need_db ? db.raw_device_data() : nullptr);
      return std::vector<Tensor>{dx, dw, db};
    }
    dispatch_float(gy.dtype(), "conv2d", [&](auto tag) {
      using T = decltype(tag);
      conv2d_backward<T>(x_saved.data<T>(), w_saved.data<T>(), gy.data<T>(), g, N, K,
                         need_dx ? dx.data<T>() : nullptr, need_dw ? dw.data<T>() : nullptr,
                         need_db ? db.data<T>() : nullptr);
    });
    return std::vector<Tensor>{dx, dw, db};
  });
  return y;
}

}  // namespace ember
