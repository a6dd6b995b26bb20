// conv2d, the plain way: every output is a sum over the input patch under it. The readable truth
// beside core/ops/conv2d.cpp (im2col + GEMM, blocked and threaded), which is tested against it.
//
//   x      [N, C, H, W]     weight [K, C, KH, KW]     bias [K] (optional)
//   y      [N, K, OH, OW]   OH = (H + 2 pad - dil (KH - 1) - 1) / stride + 1, the same for OW
//
// Output (n, k, oh, ow) looks at input row ih = oh*stride - pad + kh*dil and column
// iw = ow*stride - pad + kw*dil for every kernel tap (kh, kw); taps that land in the padding read 0.
//   y[n,k,oh,ow] = b[k] + sum_{c,kh,kw} x[n,c,ih,iw] w[k,c,kh,kw]
// Backward, given dy: each product x * w above hands dy back to both of its factors:
//   dx[n,c,ih,iw] += dy[n,k,oh,ow] w[k,c,kh,kw]
//   dw[k,c,kh,kw] += dy[n,k,oh,ow] x[n,c,ih,iw]
//   db[k]         += dy[n,k,oh,ow]
#include "core/ops/reference.h"

namespace ember::reference {

namespace {

struct ConvShape {
  int64_t N, C, H, W, K, KH, KW, OH, OW;
};

ConvShape conv_shape(const Tensor& x, const Tensor& weight, const Conv2dOptions& opt, const char* op) {
  check(x.defined() && weight.defined(), op, ": input or weight is undefined");
  check(x.dim() == 4, op, ": input must be [N, C, H, W], got ", shape_str(x.shape()));
  check(weight.dim() == 4, op, ": weight must be [K, C, KH, KW], got ", shape_str(weight.shape()));
  check(x.size(1) == weight.size(1), op, ": input has ", x.size(1), " channels, weight expects ", weight.size(1),
        " (input ", shape_str(x.shape()), ", weight ", shape_str(weight.shape()), ")");
  check(opt.stride >= 1 && opt.dilation >= 1 && opt.padding >= 0, op, ": need stride >= 1, dilation >= 1 and ",
        "padding >= 0, got stride ", opt.stride, ", dilation ", opt.dilation, ", padding ", opt.padding);
  ConvShape s{x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), weight.size(2), weight.size(3), 0, 0};
  // how far the (dilated) kernel can move down and across the padded input
  const int64_t room_h = s.H + 2 * opt.padding - opt.dilation * (s.KH - 1) - 1;
  const int64_t room_w = s.W + 2 * opt.padding - opt.dilation * (s.KW - 1) - 1;
  check(room_h >= 0 && room_w >= 0, op, ": the ", s.KH, "x", s.KW, " kernel (dilation ", opt.dilation,
        ") does not fit the input ", shape_str(x.shape()), " padded by ", opt.padding);
  s.OH = room_h / opt.stride + 1;
  s.OW = room_w / opt.stride + 1;
  return s;
}

}  // namespace

Tensor conv2d_forward(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, Conv2dOptions opt) {
  const char* op = "reference::conv2d_forward";
  const ConvShape s = conv_shape(x_in, weight_in, opt, op);
  const Tensor x = as_float64(x_in, op, "input"), weight = as_float64(weight_in, op, "weight");
  const Tensor bias = bias_in.defined() ? as_float64(bias_in, op, "bias") : Tensor();
  if (bias.defined())
    check(bias.dim() == 1 && bias.size(0) == s.K, op, ": bias must be [", s.K, "], got ", shape_str(bias.shape()));
  const double* px = x.data<double>();
  const double* pw = weight.data<double>();
  const double* pb = bias.defined() ? bias.data<double>() : nullptr;
  Tensor y = Tensor::empty({s.N, s.K, s.OH, s.OW}, DType::Float64);
  double* py = y.data<double>();

  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t oh = 0; oh < s.OH; ++oh)
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          double sum = pb ? pb[k] : 0.0;
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t kh = 0; kh < s.KH; ++kh)
              for (int64_t kw = 0; kw < s.KW; ++kw) {
                const int64_t ih = oh * opt.stride - opt.padding + kh * opt.dilation;
                const int64_t iw = ow * opt.stride - opt.padding + kw * opt.dilation;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // padding: reads 0
                sum += px[((n * s.C + c) * s.H + ih) * s.W + iw] * pw[((k * s.C + c) * s.KH + kh) * s.KW + kw];
              }
          py[((n * s.K + k) * s.OH + oh) * s.OW + ow] = sum;
        }
  return y.to(x_in.dtype());
}

Conv2dGrads conv2d_backward(const Tensor& x_in, const Tensor& weight_in, const Tensor& dy_in, Conv2dOptions opt) {
  const char* op = "reference::conv2d_backward";
  const ConvShape s = conv_shape(x_in, weight_in, opt, op);
  const Tensor x = as_float64(x_in, op, "input"), weight = as_float64(weight_in, op, "weight");
  const Tensor dy = as_float64(dy_in, op, "dy");
  check(dy.shape() == Shape{s.N, s.K, s.OH, s.OW}, op, ": dy must have the output's shape ",
        shape_str({s.N, s.K, s.OH, s.OW}), ", got ", shape_str(dy.shape()));
  const double* px = x.data<double>();
  const double* pw = weight.data<double>();
  const double* pdy = dy.data<double>();
  Tensor dx = Tensor::zeros(x.shape(), DType::Float64);
  Tensor dw = Tensor::zeros(weight.shape(), DType::Float64);
  Tensor db = Tensor::zeros({s.K}, DType::Float64);
  double* pdx = dx.data<double>();
  double* pdw = dw.data<double>();
  double* pdb = db.data<double>();

  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t oh = 0; oh < s.OH; ++oh)
        for (int64_t ow = 0; ow < s.OW; ++ow) {
          const double g = pdy[((n * s.K + k) * s.OH + oh) * s.OW + ow];
          pdb[k] += g;
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t kh = 0; kh < s.KH; ++kh)
              for (int64_t kw = 0; kw < s.KW; ++kw) {
                const int64_t ih = oh * opt.stride - opt.padding + kh * opt.dilation;
                const int64_t iw = ow * opt.stride - opt.padding + kw * opt.dilation;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // padding: no gradient
                const int64_t xi = ((n * s.C + c) * s.H + ih) * s.W + iw;
                const int64_t wi = ((k * s.C + c) * s.KH + kh) * s.KW + kw;
                pdx[xi] += g * pw[wi];
                pdw[wi] += g * px[xi];
              }
        }
  return {dx.to(x_in.dtype()), dw.to(x_in.dtype()), db.to(x_in.dtype())};
}

}  // namespace ember::reference
