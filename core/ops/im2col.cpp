// im2col / col2im: see core/ops/im2col.h for the picture.
//
// Both walk cols row by row, r = (c, kh, kw), and within a row output row by output row, oh.
// For one tap (kh, kw) the input pixel of output (oh, ow) is
//     ih = oh * stride + shift_h,   iw = ow * stride + shift_w,
//     shift_h = kh * dil - pad,     shift_w = kw * dil - pad.
// Whether ih is inside the image is one test per output row; which ow land inside [0, W) is the
// same for every row of the tap, so it is computed once (w_ok = [begin, end)). Outside that range
// the entries are padding (zeros for im2col, nothing to add back for col2im).
#include "core/ops/im2col.h"

#include <algorithm>

namespace ember {

ConvGeometry make_conv_geometry(int64_t channels, int64_t height, int64_t width, int64_t kernel_h,
                                int64_t kernel_w, int64_t stride, int64_t padding, int64_t dilation) {
  ConvGeometry g;
  g.channels = channels;
  g.height = height;
  g.width = width;
  g.kernel_h = kernel_h;
  g.kernel_w = kernel_w;
  g.stride = stride;
  g.padding = padding;
  g.dilation = dilation;
  // The span of a dilated kernel is dil * (KH - 1) + 1 pixels; count the positions it fits.
  // A negative room means it does not fit at all: 0 positions (tested before dividing, since C++
  // division rounds toward zero and -1 / 2 would give 0, that is 1 position).
  auto out_size = [&](int64_t in, int64_t kernel) {
    int64_t room = in + 2 * padding - dilation * (kernel - 1) - 1;
    return room < 0 ? 0 : room / stride + 1;
  };
  g.out_h = out_size(height, kernel_h);
  g.out_w = out_size(width, kernel_w);
  return g;
}

namespace {

// The outputs o in [0, out) whose input index o * stride + shift lies in [0, in).
struct ValidRange {
  int64_t begin, end;
};

ValidRange valid_outputs(int64_t shift, int64_t stride, int64_t in, int64_t out) {
  // first o with o * stride + shift >= 0, and first o with o * stride + shift >= in (rounded up)
  int64_t begin = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  int64_t end = in - shift <= 0 ? 0 : (in - shift + stride - 1) / stride;
  begin = std::min(begin, out);
  end = std::clamp(end, begin, out);
  return {begin, end};
}

}  // namespace

template <typename T>
void im2col(const T* x, const ConvGeometry& g, int64_t oh_begin, int64_t oh_end, T* cols) {
  const int64_t OW = g.out_w, stride = g.stride;
  const int64_t row_length = (oh_end - oh_begin) * OW;
  T* row = cols;  // cols row r = (c, kh, kw): row_length entries
  for (int64_t c = 0; c < g.channels; ++c) {
    const T* channel = x + c * g.height * g.width;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const int64_t shift_h = kh * g.dilation - g.padding;
      for (int64_t kw = 0; kw < g.kernel_w; ++kw, row += row_length) {
        const int64_t shift_w = kw * g.dilation - g.padding;
        const ValidRange w_ok = valid_outputs(shift_w, stride, g.width, OW);
        for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
          T* out = row + (oh - oh_begin) * OW;
          const int64_t ih = oh * stride + shift_h;
          if (ih < 0 || ih >= g.height) {  // the whole output row reads the top/bottom padding
            std::fill(out, out + OW, T(0));
            continue;
          }
          const T* in_row = channel + ih * g.width;  // in_row[iw] is x[c, ih, iw]
          std::fill(out, out + w_ok.begin, T(0));     // left padding
          if (stride == 1) {
            // the interior is one contiguous piece of the input row
            if (w_ok.end > w_ok.begin)
              std::copy(in_row + w_ok.begin + shift_w, in_row + w_ok.end + shift_w, out + w_ok.begin);
          } else {
            for (int64_t ow = w_ok.begin; ow < w_ok.end; ++ow) out[ow] = in_row[ow * stride + shift_w];
          }
          std::fill(out + w_ok.end, out + OW, T(0));  // right padding
        }
      }
    }
  }
}

template <typename T>
void col2im(const T* cols, const ConvGeometry& g, int64_t oh_begin, int64_t oh_end, T* x) {
  const int64_t OW = g.out_w, stride = g.stride;
  const int64_t row_length = (oh_end - oh_begin) * OW;
  const T* row = cols;
  for (int64_t c = 0; c < g.channels; ++c) {
    T* channel = x + c * g.height * g.width;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const int64_t shift_h = kh * g.dilation - g.padding;
      for (int64_t kw = 0; kw < g.kernel_w; ++kw, row += row_length) {
        const int64_t shift_w = kw * g.dilation - g.padding;
        const ValidRange w_ok = valid_outputs(shift_w, stride, g.width, OW);
        for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
          const int64_t ih = oh * stride + shift_h;
          if (ih < 0 || ih >= g.height) continue;  // came from the padding: nothing to give back
          const T* from = row + (oh - oh_begin) * OW;
          T* in_row = channel + ih * g.width;
          if (stride == 1) {
            // the interior lands on one contiguous piece of the input row
            for (int64_t ow = w_ok.begin; ow < w_ok.end; ++ow) in_row[ow + shift_w] += from[ow];
          } else {
            for (int64_t ow = w_ok.begin; ow < w_ok.end; ++ow) in_row[ow * stride + shift_w] += from[ow];
          }
        }
      }
    }
  }
}

template void im2col<float>(const float*, const ConvGeometry&, int64_t, int64_t, float*);
template void im2col<double>(const double*, const ConvGeometry&, int64_t, int64_t, double*);
template void col2im<float>(const float*, const ConvGeometry&, int64_t, int64_t, float*);
template void col2im<double>(const double*, const ConvGeometry&, int64_t, int64_t, double*);

}  // namespace ember
