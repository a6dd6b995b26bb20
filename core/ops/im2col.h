#pragma once
// im2col and col2im: the data movement that turns a convolution into one matrix multiply.
//
// A convolution output at (k, oh, ow) is a dot product between filter k (C*KH*KW numbers) and the
// patch of the input under the kernel at that position. im2col copies every patch into a column
// of a matrix, so that all the dot products become one GEMM (see core/ops/conv2d.cpp):
//
//   x     [C, H, W]              one image
//   cols  [C*KH*KW, OH*OW]       row    r = (c, kh, kw): one kernel tap of one input channel
//                                column p = (oh, ow):    one output position
//   cols[(c, kh, kw), (oh, ow)] = x[c, oh*stride - pad + kh*dil, ow*stride - pad + kw*dil]
//                                 (0 where that falls in the padding)
//
// Row r of cols, read as an [OH, OW] picture, is the input channel c shifted by the tap (kh, kw)
// and subsampled by the stride. So each output row oh of it is a piece of one input row: a
// contiguous copy when stride is 1, a strided gather otherwise, with zeros only at the borders
// that fall into the padding. No bounds test is done per element.
//
// col2im is the adjoint (the transpose) of im2col: it adds every entry of cols back onto the input
// pixel it was copied from. An input pixel covered by several patches receives the sum. This is
// what the backward pass needs: dx = col2im(dcols).
#include <cstdint>

namespace ember {

// The sizes of one convolution, for one image.
struct ConvGeometry {
  int64_t channels = 0, height = 0, width = 0;  // C, H, W of the input image
  int64_t kernel_h = 0, kernel_w = 0;           // KH, KW
  int64_t stride = 1, padding = 0, dilation = 1;
  int64_t out_h = 0, out_w = 0;                 // OH, OW

  int64_t patch_size() const { return channels * kernel_h * kernel_w; }  // rows of cols: C*KH*KW
  int64_t positions() const { return out_h * out_w; }                    // columns of cols: OH*OW
};

// Fills the geometry and computes OH = (H + 2 pad - dil (KH - 1) - 1) / stride + 1 (the same for
// OW). The result may be <= 0 for a kernel larger than the padded input; the caller checks.
ConvGeometry make_conv_geometry(int64_t channels, int64_t height, int64_t width, int64_t kernel_h,
                                int64_t kernel_w, int64_t stride, int64_t padding, int64_t dilation);

// x: [C, H, W] -> cols: [C*KH*KW, OH*OW] (every element of cols is written).
// Only the output rows [oh_begin, oh_end) are made when asked: then cols is [C*KH*KW, rows*OW]
// with rows = oh_end - oh_begin, the columns of those positions only. (conv2d works on blocks of
// rows so that cols fits in the cache; im2col(x, g, 0, g.out_h, cols) is the whole image.)
template <typename T>
void im2col(const T* x, const ConvGeometry& g, int64_t oh_begin, int64_t oh_end, T* cols);

// cols: [C*KH*KW, rows*OW] for output rows [oh_begin, oh_end) -> x: [C, H, W], ADDING into x
// (zero x first for a plain col2im).
template <typename T>
void col2im(const T* cols, const ConvGeometry& g, int64_t oh_begin, int64_t oh_end, T* x);

}  // namespace ember
