#include "core/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"

namespace ember {

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, GradcheckOptions opt) {
  // float64 leaf copies of the float inputs
  std::vector<Tensor> xs;
  for (const Tensor& in : inputs) {
    if (in.defined() && is_floating(in.dtype())) {
      Tensor x = in.detach().to(DType::Float64).clone().detach();
      x.requires_grad_(true);
      xs.push_back(x);
    } else {
      xs.push_back(in);
    }
  }

  // L = sum(y * r): a scalar whose gradient involves every output element
  Generator gen(opt.seed);
  Tensor probe;
  auto loss_of = [&](const std::vector<Tensor>& args) {
    Tensor y = fn(args);
    check(y.defined() && is_floating(y.dtype()), "gradcheck: the function must return a float tensor");
    check(y.dtype() == DType::Float64, "gradcheck: the function returned ", dtype_name(y.dtype()),
          " for float64 inputs; every op on the way must keep float64");
    if (!probe.defined()) probe = Tensor::uniform(y.shape(), 0.5, 1.5, &gen, DType::Float64);
    return sum(y * probe);
  };

  // analytic gradients
  Tensor loss = loss_of(xs);
  if (loss.requires_grad()) loss.backward();  // not when no input requires grad or fn ignores them

  GradcheckResult result;
  double worst_ratio = -1;
  NoGradGuard no_grad;
  for (size_t k = 0; k < xs.size(); ++k) {
    Tensor& x = xs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor g = x.grad();
    // The op may not depend on this input at all; then the analytic gradient is zero.
    std::vector<double> analytic = g.defined() ? g.to_vector<double>() : std::vector<double>(x.numel(), 0.0);

    std::vector<int64_t> picks(x.numel());
    std::iota(picks.begin(), picks.end(), 0);
    if (x.numel() > opt.max_elements_per_input) {
      // a seeded partial Fisher-Yates shuffle picks the subset
      for (int64_t i = 0; i < opt.max_elements_per_input; ++i)
        std::swap(picks[i], picks[gen.randint(i, x.numel())]);
      picks.resize(opt.max_elements_per_input);
    }
    double* px = x.data<double>();
    for (int64_t i : picks) {
      double saved = px[i];
      px[i] = saved + opt.eps;
      double plus = loss_of(xs).item();
      px[i] = saved - opt.eps;
      double minus = loss_of(xs).item();
      px[i] = saved;
      double numeric = (plus - minus) / (2 * opt.eps);
      double err = std::abs(analytic[i] - numeric);
      double ratio = err / (opt.atol + opt.rtol * std::abs(numeric));
      if (ratio > worst_ratio) {
        worst_ratio = ratio;
        result.input = static_cast<int64_t>(k);
        result.index = i;
        result.analytic = analytic[i];
        result.numeric = numeric;
        result.error = err;
      }
    }
  }
  result.ok = worst_ratio <= 1.0;
  std::ostringstream os;
  os.precision(10);
  if (result.input < 0) {
    os << "gradcheck: no input requires a gradient";
    result.ok = false;
  } else {
    os << "gradcheck " << (result.ok ? "passed" : "FAILED") << ": worst element is input " << result.input
       << " index " << result.index << " (shape " << shape_str(xs[result.input].shape()) << "): analytic "
       << result.analytic << ", numeric " << result.numeric << ", error " << result.error << " (tolerance "
       << opt.atol << " + " << opt.rtol << " * |numeric|)";
  }
  result.message = os.str();
  return result;
}

}  // namespace ember
