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


// One tap of a "same" convolution (stride 1, OW == W): the output rows [oh_begin, oh_end) of cols
// row (c, kh, kw), `out`, are the input channel shifted by shift_h rows and shift_w columns. With
// rows of the same length on both sides, the rows whose input row exists are ONE contiguous copy:
//     out[(oh - oh_begin) OW + ow] = channel[(oh + shift_h) W + ow + shift_w]
// for every ow, except that near the left and right borders this reads the neighbouring input
// row's last or first pixels (the copy "wraps around"); those columns are padding and are zeroed
// afterwards, as are the rows that fall into the top/bottom padding. For ResNet's 8- to 32-pixel
// images this is one memcpy per tap instead of three library calls per output row.
template <typename T>
void im2col_same_tap(const T* channel, const ConvGeometry& g, int64_t oh_begin, int64_t oh_end, int64_t shift_h,
                     int64_t shift_w, const ValidRange& w_ok, T* out) {
  const int64_t OW = g.out_w;
  // output rows whose input row oh + shift_h lies in [0, H)
  const int64_t oh_lo = std::clamp(-shift_h, oh_begin, oh_end), oh_hi = std::clamp(g.height - shift_h, oh_lo, oh_end);
  std::fill(out, out + (oh_lo - oh_begin) * OW, T(0));             // top padding
  std::fill(out + (oh_hi - oh_begin) * OW, out + (oh_end - oh_begin) * OW, T(0));  // bottom padding
  if (oh_lo == oh_hi || w_ok.begin == w_ok.end) {
    std::fill(out + (oh_lo - oh_begin) * OW, out + (oh_hi - oh_begin) * OW, T(0));
    return;
  }
  // flat positions from (oh_lo, w_ok.begin) to (oh_hi - 1, w_ok.end - 1): all read inside the channel
  const int64_t first = (oh_lo - oh_begin) * OW + w_ok.begin, last = (oh_hi - 1 - oh_begin) * OW + w_ok.end;
  const T* from = channel + (oh_lo + shift_h) * g.width + w_ok.begin + shift_w;
  std::copy(from, from + (last - first), out + first);
  for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {  // the wrapped-around columns are left/right padding
    T* out_row = out + (oh - oh_begin) * OW;
    for (int64_t ow = 0; ow < w_ok.begin; ++ow) out_row[ow] = T(0);
    for (int64_t ow = w_ok.end; ow < OW; ++ow) out_row[ow] = T(0);
  }
}

}  // namespace

template <typename T>
void im2col(const T* x, const ConvGeometry& g, int64_t oh_begin, int64_t oh_end, T* cols) {
  const int64_t OW = g.out_w, stride = g.stride;
  const int64_t row_length = (oh_end - oh_begin) * OW;
  const bool same_size = stride == 1 && OW == g.width;
  T* row = cols;  // cols row r = (c, kh, kw): row_length entries
  for (int64_t c = 0; c < g.channels; ++c) {
    const T* channel = x + c * g.height * g.width;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const int64_t shift_h = kh * g.dilation - g.padding;
      for (int64_t kw = 0; kw < g.kernel_w; ++kw, row += row_length) {
        const int64_t shift_w = kw * g.dilation - g.padding;
        const ValidRange w_ok = valid_outputs(shift_w, stride, g.width, OW);
        if (same_size) {
          im2col_same_tap(channel, g, oh_begin, oh_end, shift_h, shift_w, w_ok, row);
          continue;
        }
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
