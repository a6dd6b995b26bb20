// Adam (Kingma & Ba, 2015), as torch.optim.Adam. For each parameter p with gradient g, at step
// t = 1, 2, ...:
//
//   g = g + weight_decay * p                     L2 weight decay, in the gradient (Adam only)
//   m = beta1 * m + (1 - beta1) * g              running mean of the gradient       (exp_avg)
//   v = beta2 * v + (1 - beta2) * g * g          running mean of its square         (exp_avg_sq)
//   m_hat = m / (1 - beta1^t)                    bias correction: m and v start at 0, so early
//   v_hat = v / (1 - beta2^t)                    averages are too small by exactly that factor
//   p = p - lr * m_hat / (sqrt(v_hat) + eps)
//
// Each element moves by about lr at most, whatever the scale of its gradient: that is why one
// learning rate suits every layer. The last line is computed as PyTorch does,
//   p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
// with the scalar factors worked out once per parameter in double.
//
// AdamW (adamw.cpp) shares this code; it only replaces the first line (decoupled_weight_decay_).
// Shapes: p, g, m and v all have the parameter's shape.
#include "optim/adam.h"

#include <cmath>

#include "core/cuda_backend.h"
#include "core/parallel.h"

namespace ember {

namespace {

std::map<std::string, double> adam_options(const AdamOptions& o) {
  return {{"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps}};
}

constexpr int64_t kGrain = 1 << 14;  // elements per thread, at least
// The loops below capture by value ([=]): with their own copies of the pointers and constants the
// compiler can keep them in registers and vectorise (through a reference, a store to p[i] might
// change a constant, so it would be reloaded every iteration).
// Adam's loop still runs one element at a time unless the library is built with -fno-math-errno:
// std::sqrt may set errno, and that branch stops GCC from vectorising.

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::vector<ParamGroup>{ParamGroup{.params = std::move(params)}}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults) : Adam("adam", std::move(groups), defaults, false) {}

Adam::Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& defaults, bool decoupled_weight_decay)
    : Optimizer(std::move(name), std::move(groups), defaults.lr, defaults.weight_decay, adam_options(defaults)),
      decoupled_weight_decay_(decoupled_weight_decay) {
  check_groups();
}

void Adam::check_group(const ParamGroup& group, size_t g) const {
  const double lr = *group.lr, wd = *group.weight_decay;
  const double beta1 = group.option("beta1"), beta2 = group.option("beta2"), eps = group.option("eps");
  check(std::isfinite(lr) && lr >= 0, name(), ": param group ", g, ": lr must be >= 0, got ", lr);
  check(std::isfinite(wd) && wd >= 0, name(), ": param group ", g, ": weight_decay must be >= 0, got ", wd);
  check(beta1 >= 0 && beta1 < 1, name(), ": param group ", g, ": beta1 must be in [0, 1), got ", beta1);
  check(beta2 >= 0 && beta2 < 1, name(), ": param group ", g, ": beta2 must be in [0, 1), got ", beta2);
  check(std::isfinite(eps) && eps >= 0, name(), ": param group ", g, ": eps must be >= 0, got ", eps);
}

// exp_avg_sq is a running mean of squares: a negative entry can only come from a damaged file, and
// its square root would make the parameter NaN on the next step.
void Adam::check_loaded_buffer(const std::string& key, const std::string& buffer, const Tensor& value) const {
  if (buffer != "exp_avg_sq") return;
  dispatch_float(value.dtype(), name().c_str(), [&](auto tag) {
    using T = decltype(tag);
    const T* v = value.data<T>();
    for (int64_t i = 0; i < value.numel(); ++i)
      check(v[i] >= 0, name(), ": load_state_dict: \"", key, "\" holds ", static_cast<double>(v[i]), " at element ", i,
            ": exp_avg_sq is a mean of squares and cannot be negative (the saved state is damaged)");
  });
}

void Adam::update(const ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) {
  const double lr = *group.lr, weight_decay = *group.weight_decay;
  const double beta1 = group.option("beta1"), beta2 = group.option("beta2"), eps = group.option("eps");
  const int64_t n = param.numel();

  // Both running means start at zero on the parameter's first step.
  auto exp_avg_it = state.buffers.find("exp_avg");
  if (exp_avg_it == state.buffers.end()) {
    exp_avg_it = state.buffers.emplace("exp_avg", Tensor::zeros(param.shape(), param.dtype(), param.device())).first;
    state.buffers.emplace("exp_avg_sq", Tensor::zeros(param.shape(), param.dtype(), param.device()));
  }
  Tensor& exp_avg = exp_avg_it->second;
  Tensor& exp_avg_sq = state.buffers.at("exp_avg_sq");

  // Per-parameter scalars, in double.
  const double t = static_cast<double>(state.step);
  const double step_size = lr / (1.0 - std::pow(beta1, t));
  const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(beta2, t));
  // The two kinds of weight decay as two constants, so that one loop without branches serves
  // both (and the compiler can vectorise it): Adam adds l2 * p to the gradient, AdamW multiplies
  // p by shrink. The unused one is neutral (l2 = 0, shrink = 1) and changes no bits.
  const double l2 = decoupled_weight_decay_ ? 0.0 : weight_decay;
  const double shrink = decoupled_weight_decay_ ? 1.0 - lr * weight_decay : 1.0;

  if (param.device() == Device::CUDA) {  // the same loop as a kernel: cuda/adam.cu
    check(grad.device() == Device::CUDA && exp_avg.device() == Device::CUDA, name(),
          ": the parameter is on cuda, its gradient or state on the cpu");
    if (n > 0)
      cuda_kernels().adam_step(param.dtype(), param.raw_device_data(), grad.raw_device_data(),
                               exp_avg.raw_device_data(), exp_avg_sq.raw_device_data(), n, beta1, beta2, l2, shrink,
                               step_size, bias_correction2_sqrt, eps);
    return;
  }
  dispatch_float(param.dtype(), name().c_str(), [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
    const T one_minus_b1 = static_cast<T>(1.0 - beta1), one_minus_b2 = static_cast<T>(1.0 - beta2);
    const T l2_t = static_cast<T>(l2), shrink_t = static_cast<T>(shrink);
    const T step_size_t = static_cast<T>(step_size), bc2_sqrt = static_cast<T>(bias_correction2_sqrt);
    const T eps_t = static_cast<T>(eps);
    parallel_for(0, n, kGrain, [=](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        T gi = g[i] + l2_t * p[i];  // Adam: L2 weight decay in the gradient
        p[i] *= shrink_t;           // AdamW: decoupled weight decay
        m[i] = b1 * m[i] + one_minus_b1 * gi;
        v[i] = b2 * v[i] + one_minus_b2 * gi * gi;
        T denom = std::sqrt(v[i]) / bc2_sqrt + eps_t;
        p[i] -= step_size_t * m[i] / denom;
      }
    });
  });
}

}  // namespace ember
