// gradcheck_module: ember::gradcheck for the input, and the same central differences over the
// module's own parameters, which gradcheck cannot reach (it only perturbs the tensors passed in).
#include "layers/gradcheck_module.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"

namespace ember {

namespace {

// The worst element seen so far, as a ratio of its error to the allowed tolerance (> 1: failure).
struct Worst {
  double ratio = -1;
  std::string where;  // "input" or "parameter 'conv1.weight'"
  GradcheckResult detail;
};

void consider(Worst& worst, double ratio, const std::string& where, int64_t input, int64_t index, double analytic,
              double numeric) {
  if (ratio <= worst.ratio) return;
  worst.ratio = ratio;
  worst.where = where;
  worst.detail.input = input;
  worst.detail.index = index;
  worst.detail.analytic = analytic;
  worst.detail.numeric = numeric;
  worst.detail.error = std::abs(analytic - numeric);
}

}  // namespace

GradcheckResult gradcheck_module(Module& module, const Tensor& input, GradcheckOptions opt) {
  check(input.defined(), "gradcheck_module: the input is undefined");
  std::vector<std::pair<std::string, Tensor>> params = module.named_parameters();
  for (const auto& [name, p] : params)
    check(p.dtype() == DType::Float64, "gradcheck_module: parameter '", name, "' of ", module.name(), " is ",
          dtype_name(p.dtype()), "; call module.to(DType::Float64) first");
  Tensor x = is_floating(input.dtype()) ? input.detach().to(DType::Float64) : input;

  Worst worst;
  // 1. the input's gradient, by ember::gradcheck
  if (is_floating(x.dtype())) {
    GradcheckResult r = gradcheck([&](const std::vector<Tensor>& in) { return module(in[0]); }, {x}, opt);
    consider(worst, r.error / (opt.atol + opt.rtol * std::abs(r.numeric)), "input", 0, r.index, r.analytic,
             r.numeric);
  }

  // 2. every parameter's gradient: backward once, then two forward passes per checked element
  module.zero_grad();
  Generator gen(opt.seed);
  Tensor probe;
  auto loss = [&]() {
    Tensor y = module(x);
    check(y.dtype() == DType::Float64, "gradcheck_module: ", module.name(), " returned ", dtype_name(y.dtype()),
          " with float64 parameters; every op on the way must keep float64");
    if (!probe.defined()) probe = Tensor::uniform(y.shape(), 0.5, 1.5, &gen, DType::Float64);
    return sum(y * probe);
  };
  bool any_parameter = false;
  if (std::any_of(params.begin(), params.end(), [](const auto& e) { return e.second.requires_grad(); })) {
    // If no parameter reaches the output through the graph, backward has nothing to do and every
    // analytic gradient is 0 (which the finite differences will contradict if the output does
    // depend on a parameter).
    Tensor l = loss();
    if (l.requires_grad()) l.backward();
    NoGradGuard no_grad;
    for (size_t k = 0; k < params.size(); ++k) {
      const auto& [name, p] = params[k];
      if (!p.requires_grad()) continue;
      any_parameter = true;
      Tensor g = p.grad();
      std::vector<double> analytic = g.defined() ? g.to_vector<double>() : std::vector<double>(p.numel(), 0.0);

      // all elements, or a seeded random subset of a large parameter (partial Fisher-Yates shuffle)
      std::vector<int64_t> picks(p.numel());
      std::iota(picks.begin(), picks.end(), 0);
      if (p.numel() > opt.max_elements_per_input) {
        for (int64_t i = 0; i < opt.max_elements_per_input; ++i) std::swap(picks[i], picks[gen.randint(i, p.numel())]);
        picks.resize(opt.max_elements_per_input);
      }
      Tensor param = p;
      double* values = param.data<double>();
      for (int64_t i : picks) {
        double saved = values[i];
        values[i] = saved + opt.eps;
        double plus = loss().item();
        values[i] = saved - opt.eps;
        double minus = loss().item();
        values[i] = saved;
        double numeric = (plus - minus) / (2 * opt.eps);
        double ratio = std::abs(analytic[i] - numeric) / (opt.atol + opt.rtol * std::abs(numeric));
        consider(worst, ratio, "parameter '" + name + "'", static_cast<int64_t>(k) + 1, i, analytic[i], numeric);
      }
    }
    module.zero_grad();
  }

  GradcheckResult result = worst.detail;
  std::ostringstream os;
  os.precision(10);
  if (worst.ratio < 0) {
    result.ok = false;
    os << "gradcheck_module: nothing to check in " << module.name()
       << " (the input is not float and no parameter requires grad)";
  } else {
    result.ok = worst.ratio <= 1.0;
    bool checked_input = is_floating(x.dtype());
    os << "gradcheck_module " << (result.ok ? "passed" : "FAILED") << " for " << module.name() << " ("
       << (checked_input && any_parameter ? "input and parameters" : checked_input ? "input" : "parameters")
       << "): worst element is " << worst.where
       << " index " << result.index << ": analytic " << result.analytic << ", numeric " << result.numeric
       << ", error " << result.error << " (tolerance " << opt.atol << " + " << opt.rtol << " * |numeric|)";
  }
  result.message = os.str();
  return result;
}

}  // namespace ember
