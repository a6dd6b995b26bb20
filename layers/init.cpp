// Weight initialisation: the formulas are in init.h. Values are drawn one after another from the
// generator, so the same seed fills the same tensor on every machine and thread count.
#include "layers/init.h"

#include <cmath>

namespace ember {

namespace {
void check_float(const Tensor& t, const char* op) {
  check(t.defined(), op, ": tensor is undefined");
  check(is_floating(t.dtype()), op, ": expected a float32 or float64 tensor, got ", dtype_name(t.dtype()));
}
}  // namespace

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& weight) {
  check(weight.defined(), "fan_in_and_fan_out: tensor is undefined");
  check(weight.dim() >= 2, "fan_in_and_fan_out: needs a weight with at least 2 dimensions ([out, in, k...]), got ",
        shape_str(weight.shape()));
  int64_t receptive_field = 1;  // KH * KW for a convolution, 1 for a linear layer
  for (int64_t d = 2; d < weight.dim(); ++d) receptive_field *= weight.size(d);
  return {weight.size(1) * receptive_field, weight.size(0) * receptive_field};
}

void uniform_(Tensor t, double low, double high, Generator* gen) {
  check_float(t, "uniform_");
  t.copy_(Tensor::uniform(t.shape(), low, high, gen, t.dtype()));
}

void normal_(Tensor t, double mean, double std, Generator* gen) {
  check_float(t, "normal_");
  Generator& g = gen ? *gen : default_generator();
  Tensor values = Tensor::empty(t.shape(), DType::Float64);
  double* p = values.data<double>();
  for (int64_t i = 0; i < values.numel(); ++i) p[i] = mean + std * g.normal();
  t.copy_(values);
}

void constant_(Tensor t, double value) {
  check_float(t, "constant_");
  t.fill_(value);
}

void zeros_(Tensor t) { constant_(t, 0.0); }
void ones_(Tensor t) { constant_(t, 1.0); }

namespace {
double kaiming_std(const Tensor& t, double a, FanMode mode) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  int64_t fan = mode == FanMode::FanIn ? fan_in : fan_out;
  check(fan > 0, "kaiming init: the weight ", shape_str(t.shape()), " has no elements to take a fan from");
  double gain = std::sqrt(2.0 / (1.0 + a * a));
  return gain / std::sqrt(static_cast<double>(fan));
}
}  // namespace

void kaiming_uniform_(Tensor t, double a, FanMode mode, Generator* gen) {
  check_float(t, "kaiming_uniform_");
  double bound = std::sqrt(3.0) * kaiming_std(t, a, mode);  // U(-b, b) has variance b^2 / 3
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(Tensor t, double a, FanMode mode, Generator* gen) {
  check_float(t, "kaiming_normal_");
  normal_(t, 0.0, kaiming_std(t, a, mode), gen);
}

void xavier_uniform_(Tensor t, double gain, Generator* gen) {
  check_float(t, "xavier_uniform_");
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(t, -bound, bound, gen);
}

}  // namespace ember
