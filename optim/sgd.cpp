// SGD, as torch.optim.SGD. For each parameter p with gradient g, at step t (1, 2, ...):
//
//   d = g + weight_decay * p                       L2 weight decay, added to the gradient
//   if momentum != 0:
//     buf = d                                      at t = 1
//     buf = momentum * buf + (1 - dampening) * d   after that
//     d = d + momentum * buf   (nesterov)          look ahead along the momentum
//     d = buf                  (otherwise)
//   p = p - lr * d
//
// One pass over memory per parameter: every line above is done per element inside one loop.
// Shapes: p, g and buf all have the parameter's shape.
#include "optim/sgd.h"

#include <cmath>

#include "core/cuda_backend.h"
#include "core/parallel.h"

namespace ember {

namespace {

std::map<std::string, double> sgd_options(const SGDOptions& o) {
  return {{"momentum", o.momentum}, {"dampening", o.dampening}, {"nesterov", o.nesterov ? 1.0 : 0.0}};
}

constexpr int64_t kGrain = 1 << 14;  // elements per thread, at least
// The loops below capture by value ([=]): with their own copies of the pointers and constants the
// compiler can keep them in registers and vectorise (through a reference, a store to p[i] might
// change a constant, so it would be reloaded every iteration).

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{ParamGroup{.params = std::move(params)}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults)
    : Optimizer("sgd", std::move(groups), defaults.lr, defaults.weight_decay, sgd_options(defaults)) {
  check_groups();
}

void SGD::check_group(const ParamGroup& group, size_t g) const {
  const double lr = *group.lr, wd = *group.weight_decay;
  const double momentum = group.option("momentum"), dampening = group.option("dampening");
  const double nesterov = group.option("nesterov");
  check(std::isfinite(lr) && lr >= 0, "sgd: param group ", g, ": lr must be >= 0, got ", lr);
  check(std::isfinite(wd) && wd >= 0, "sgd: param group ", g, ": weight_decay must be >= 0, got ", wd);
  check(std::isfinite(momentum) && momentum >= 0, "sgd: param group ", g, ": momentum must be >= 0, got ", momentum);
  check(std::isfinite(dampening), "sgd: param group ", g, ": dampening must be finite, got ", dampening);
  check(nesterov == 0 || nesterov == 1, "sgd: param group ", g, ": nesterov must be 0 or 1, got ", nesterov);
  check(nesterov == 0 || (momentum > 0 && dampening == 0), "sgd: param group ", g,
        ": nesterov momentum needs momentum > 0 and dampening 0 (got momentum ", momentum, ", dampening ", dampening,
        ")");
}

void SGD::update(const ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) {
  const double lr = *group.lr, weight_decay = *group.weight_decay;
  const double momentum = group.option("momentum"), dampening = group.option("dampening");
  const bool nesterov = group.option("nesterov") != 0;
  const int64_t n = param.numel();

  if (param.device() == Device::CUDA) {  // the same loops as one kernel: cuda/sgd.cu
    check(grad.device() == Device::CUDA, "sgd: the parameter is on cuda, its gradient on the cpu");
    Tensor buffer;
    double new_share = 1.0;
    if (momentum != 0) {
      auto it = state.buffers.find("momentum_buffer");
      const bool first_step = it == state.buffers.end();
      if (first_step)
        it = state.buffers.emplace("momentum_buffer", Tensor::zeros(param.shape(), param.dtype(), Device::CUDA)).first;
      buffer = it->second;
      check(buffer.device() == Device::CUDA, "sgd: the parameter is on cuda, its momentum buffer on the cpu");
      new_share = first_step ? 1.0 : 1.0 - dampening;
    }
    cuda_kernels().sgd_step(param.dtype(), param.raw_device_data(), grad.raw_device_data(),
                            buffer.defined() ? buffer.raw_device_data() : nullptr, n, lr, weight_decay, momentum,
                            new_share, nesterov);
    return;
  }

  if (momentum == 0) {
    // plain SGD: no buffer
    dispatch_float(param.dtype(), "sgd", [&](auto tag) {
      using T = decltype(tag);
      T* p = param.data<T>();
      const T* g = grad.data<T>();
      const T lr_t = static_cast<T>(lr), wd = static_cast<T>(weight_decay);
      parallel_for(0, n, kGrain, [=](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) p[i] -= lr_t * (g[i] + wd * p[i]);
      });
    });
    return;
  }

  // The momentum buffer is made on the first step. It starts at zero with the new gradient's share
  // set to 1, so buf = momentum * 0 + 1 * d = d exactly, as the formula asks.
  auto it = state.buffers.find("momentum_buffer");
  const bool first_step = it == state.buffers.end();
  if (first_step) it = state.buffers.emplace("momentum_buffer", Tensor::zeros(param.shape(), param.dtype())).first;
  Tensor& buffer = it->second;
  const double new_share = first_step ? 1.0 : 1.0 - dampening;

  dispatch_float(param.dtype(), "sgd", [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* buf = buffer.data<T>();
    const T lr_t = static_cast<T>(lr), wd = static_cast<T>(weight_decay);
    const T mom = static_cast<T>(momentum), share = static_cast<T>(new_share);
    parallel_for(0, n, kGrain, [=](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        T d = g[i] + wd * p[i];
        T b = mom * buf[i] + share * d;
        buf[i] = b;
        p[i] -= lr_t * (nesterov ? d + mom * b : b);
      }
    });
  });
}

}  // namespace ember
