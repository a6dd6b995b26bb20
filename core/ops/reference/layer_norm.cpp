// Layer normalisation, the plain way: one row at a time, two passes for the statistics. The
// readable truth beside core/ops/layer_norm.cpp (one-pass shifted sums, vectorised, threads over
// rows, block partial sums for dweight/dbias), which is tested against it.
//
//   x [..., D] read as R rows of D (R = the product of the other sizes)   weight, bias [D] (optional:
//   as if 1 and 0)   y: x's shape
// Forward, per row r:
//   mean = (1/D) sum_j x_j,  var = (1/D) sum_j (x_j - mean)^2,  rstd = 1 / sqrt(var + eps)
//   xhat_j = (x_j - mean) rstd,  y_j = weight_j xhat_j + bias_j
// Backward, given dy, with gw_j = dy_j weight_j in row r:
//   dx_j        = rstd (gw_j - (1/D) sum_k gw_k - xhat_j (1/D) sum_k gw_k xhat_k)
//   dweight_j  += dy_j xhat_j     (summed over the rows)
//   dbias_j    += dy_j
#include <cmath>

#include "core/ops/lines.h"
#include "core/ops/reference.h"

namespace ember::reference {

namespace {

// x as [R, D] (the rows around its last dimension); checks weight and bias when given.
Lines rows_of(const Tensor& x, const Tensor& weight, const Tensor& bias, const char* op) {
  check(x.defined(), op, ": input is undefined");
  check(x.dim() >= 1, op, ": input must have at least one dimension (the one normalised), got shape ",
        shape_str(x.shape()));
  const Lines l = lines_of(x.shape(), x.dim() - 1);  // outer = R rows, n = D, inner = 1
  for (const Tensor* t : {&weight, &bias})
    if (t->defined())
      check(t->dim() == 1 && t->size(0) == l.n, op, ": weight and bias must have shape [", l.n,
            "] (the last dimension of the input ", shape_str(x.shape()), "), got ", shape_str(t->shape()));
  return l;
}

}  // namespace

Tensor layer_norm_forward(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, double eps) {
  const char* op = "reference::layer_norm_forward";
  const Lines l = rows_of(x_in, weight_in, bias_in, op);
  const int64_t R = l.outer, D = l.n;
  const Tensor x = as_float64(x_in, op, "input");
  const Tensor weight = weight_in.defined() ? as_float64(weight_in, op, "weight") : Tensor::ones({D}, DType::Float64);
  const Tensor bias = bias_in.defined() ? as_float64(bias_in, op, "bias") : Tensor::zeros({D}, DType::Float64);
  const double *px = x.data<double>(), *pw = weight.data<double>(), *pb = bias.data<double>();
  Tensor y = Tensor::empty(x.shape(), DType::Float64);
  double* py = y.data<double>();

  for (int64_t r = 0; r < R; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) mean += px[r * D + j];
    mean /= D;
    for (int64_t j = 0; j < D; ++j) var += (px[r * D + j] - mean) * (px[r * D + j] - mean);
    var /= D;
    const double rstd = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < D; ++j) py[r * D + j] = pw[j] * (px[r * D + j] - mean) * rstd + pb[j];
  }
  return y.to(x_in.dtype());
}

NormGrads layer_norm_backward(const Tensor& x_in, const Tensor& weight_in, const Tensor& dy_in, double eps) {
  const char* op = "reference::layer_norm_backward";
  const Lines l = rows_of(x_in, weight_in, Tensor(), op);
  const int64_t R = l.outer, D = l.n;
  const Tensor x = as_float64(x_in, op, "input"), dy = as_float64(dy_in, op, "dy");
  check(dy.shape() == x.shape(), op, ": dy must have the input's shape ", shape_str(x.shape()), ", got ",
        shape_str(dy.shape()));
  const Tensor weight = weight_in.defined() ? as_float64(weight_in, op, "weight") : Tensor::ones({D}, DType::Float64);
  const double *px = x.data<double>(), *pw = weight.data<double>(), *pdy = dy.data<double>();
  Tensor dx = Tensor::empty(x.shape(), DType::Float64);
  Tensor dw = Tensor::zeros({D}, DType::Float64), db = Tensor::zeros({D}, DType::Float64);
  double *pdx = dx.data<double>(), *pdw = dw.data<double>(), *pdb = db.data<double>();

  for (int64_t r = 0; r < R; ++r) {
    // the row's statistics, as the forward computed them
    double mean = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) mean += px[r * D + j];
    mean /= D;
    for (int64_t j = 0; j < D; ++j) var += (px[r * D + j] - mean) * (px[r * D + j] - mean);
    var /= D;
    const double rstd = 1.0 / std::sqrt(var + eps);
    // the two row sums of the dx formula, and this row's share of dweight and dbias
    double sum_gw = 0, sum_gw_xhat = 0;
    for (int64_t j = 0; j < D; ++j) {
      const double xhat = (px[r * D + j] - mean) * rstd, gw = pdy[r * D + j] * pw[j];
      sum_gw += gw;
      sum_gw_xhat += gw * xhat;
      pdw[j] += pdy[r * D + j] * xhat;
      pdb[j] += pdy[r * D + j];
    }
    for (int64_t j = 0; j < D; ++j) {
      const double xhat = (px[r * D + j] - mean) * rstd, gw = pdy[r * D + j] * pw[j];
      pdx[r * D + j] = rstd * (gw - sum_gw / D - xhat * sum_gw_xhat / D);
    }
  }
  const DType dtype = x_in.dtype();
  return {dx.to(dtype), dw.to(dtype), db.to(dtype)};
}

}  // namespace ember::reference
