// Batch normalisation, the plain way: one channel at a time. The readable truth beside
// core/ops/batch_norm.cpp (fused passes, eight partial sums, threads over channels), which is
// tested against it.
//
//   x [N, C] or [N, C, L] or [N, C, H, W], read as [N, C, S] (S = L, H*W, or 1): channel c holds
//   the M = N*S values x[n, c, s]        weight, bias [C] (optional: as if 1 and 0)   y: x's shape
//
// Forward, per channel c:
//   training: mean = (1/M) sum x,  var = (1/M) sum (x - mean)^2            (biased)
//             running_mean = (1 - momentum) running_mean + momentum mean
//             running_var  = (1 - momentum) running_var  + momentum var M / (M - 1)   (unbiased)
//   eval:     mean, var = running_mean[c], running_var[c]
//   rstd = 1 / sqrt(var + eps),  xhat = (x - mean) rstd,  y = weight[c] xhat + bias[c]
// Backward, given dy, per channel c (sums over its M values):
//   dbias[c]   = sum dy
//   dweight[c] = sum dy xhat
//   training:  dx = weight[c] rstd (dy - (1/M) sum dy - xhat (1/M) sum dy xhat)
//              (mean and var depend on every x of the channel: the two sums are their share)
//   eval:      dx = weight[c] rstd dy
#include <cmath>

#include "core/ops/lines.h"
#include "core/ops/reference.h"

namespace ember::reference {

namespace {

// x as [N, C, S] around its channel dimension; checks x and the [C] tensors that are given.
Lines channels_of(const Tensor& x, std::initializer_list<const Tensor*> per_channel, const char* op) {
  check(x.defined(), op, ": input is undefined");
  check(x.dim() >= 2 && x.dim() <= 4, op, ": input must be [N, C], [N, C, L] or [N, C, H, W], got ",
        shape_str(x.shape()));
  const Lines l = lines_of(x.shape(), 1);  // outer = N, n = C, inner = S
  for (const Tensor* t : per_channel)
    if (t->defined())
      check(t->dim() == 1 && t->size(0) == l.n, op, ": weight, bias and running statistics must be [", l.n,
            "] (one per channel of input ", shape_str(x.shape()), "), got ", shape_str(t->shape()));
  return l;
}

}  // namespace

Tensor batch_norm_forward(const Tensor& x_in, Tensor running_mean, Tensor running_var, const Tensor& weight,
                          const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "reference::batch_norm_forward";
  const Lines l = channels_of(x_in, {&running_mean, &running_var, &weight, &bias}, op);
  const int64_t N = l.outer, C = l.n, S = l.inner, M = N * S;
  check(!training || M > 1, op, ": training needs more than one value per channel (input ", shape_str(x_in.shape()),
        ")");
  check(training || (running_mean.defined() && running_var.defined()), op,
        ": eval mode needs running_mean and running_var");
  const Tensor x = as_float64(x_in, op, "input");
  const double* px = x.data<double>();
  Tensor y = Tensor::empty(x.shape(), DType::Float64);
  double* py = y.data<double>();
  Tensor new_running_mean = Tensor::empty({C}, DType::Float64), new_running_var = Tensor::empty({C}, DType::Float64);

  for (int64_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    if (training) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) mean += px[l.at(n, c, s)];
      mean /= M;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) var += (px[l.at(n, c, s)] - mean) * (px[l.at(n, c, s)] - mean);
      var /= M;
      if (running_mean.defined()) {
        new_running_mean.data<double>()[c] = (1 - momentum) * running_mean.at({c}) + momentum * mean;
        new_running_var.data<double>()[c] = (1 - momentum) * running_var.at({c}) + momentum * var * M / (M - 1);
      }
    } else {
      mean = running_mean.at({c});
      var = running_var.at({c});
    }
    const double rstd = 1.0 / std::sqrt(var + eps);
    const double w = weight.defined() ? weight.at({c}) : 1.0, b = bias.defined() ? bias.at({c}) : 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) py[l.at(n, c, s)] = w * (px[l.at(n, c, s)] - mean) * rstd + b;
  }
  if (training && running_mean.defined()) {  // in place, converted to their own type
    running_mean.copy_(new_running_mean);
    running_var.copy_(new_running_var);
  }
  return y.to(x_in.dtype());
}

NormGrads batch_norm_backward(const Tensor& x_in, const Tensor& running_mean, const Tensor& running_var,
                              const Tensor& weight, const Tensor& dy_in, bool training, double eps) {
  const char* op = "reference::batch_norm_backward";
  const Lines l = channels_of(x_in, {&running_mean, &running_var, &weight}, op);
  const int64_t N = l.outer, C = l.n, S = l.inner, M = N * S;
  check(training || (running_mean.defined() && running_var.defined()), op,
        ": eval mode needs running_mean and running_var");
  const Tensor x = as_float64(x_in, op, "input"), dy = as_float64(dy_in, op, "dy");
  check(dy.shape() == x.shape(), op, ": dy must have the input's shape ", shape_str(x.shape()), ", got ",
        shape_str(dy.shape()));
  const double* px = x.data<double>();
  const double* pdy = dy.data<double>();
  Tensor dx = Tensor::empty(x.shape(), DType::Float64);
  Tensor dw = Tensor::empty({C}, DType::Float64), db = Tensor::empty({C}, DType::Float64);
  double* pdx = dx.data<double>();

  for (int64_t c = 0; c < C; ++c) {
    // the statistics the forward normalised with
    double mean = 0, var = 0;
    if (training) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) mean += px[l.at(n, c, s)];
      mean /= M;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) var += (px[l.at(n, c, s)] - mean) * (px[l.at(n, c, s)] - mean);
      var /= M;
    } else {
      mean = running_mean.at({c});
      var = running_var.at({c});
    }
    const double rstd = 1.0 / std::sqrt(var + eps);
    const double w = weight.defined() ? weight.at({c}) : 1.0;
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        sum_dy += pdy[l.at(n, c, s)];
        sum_dy_xhat += pdy[l.at(n, c, s)] * (px[l.at(n, c, s)] - mean) * rstd;
      }
    db.data<double>()[c] = sum_dy;
    dw.data<double>()[c] = sum_dy_xhat;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const double xhat = (px[l.at(n, c, s)] - mean) * rstd;
        pdx[l.at(n, c, s)] = training ? w * rstd * (pdy[l.at(n, c, s)] - sum_dy / M - xhat * sum_dy_xhat / M)
                                      : w * rstd * pdy[l.at(n, c, s)];
      }
  }
  const DType dtype = x_in.dtype();
  return {dx.to(dtype), dw.to(dtype), db.to(dtype)};
}

}  // namespace ember::reference
