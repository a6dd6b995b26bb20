// BatchNorm1d / BatchNorm2d layers: own gamma/beta and the running statistics; the batch_norm op
// (core/ops/batch_norm.cpp) normalises, updates the running statistics in training mode, and
// holds the backward.
#include "layers/batchnorm.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "layers/init.h"

namespace ember {

BatchNorm::BatchNorm(int64_t num_features, double eps, double momentum, bool affine)
    : num_features(num_features), eps(eps), momentum(momentum), affine(affine) {
  check(num_features > 0, "BatchNorm: num_features must be positive, got ", num_features);
  check(eps > 0, "BatchNorm: eps must be positive, got ", eps);
  check(momentum >= 0 && momentum <= 1, "BatchNorm: momentum must be in [0, 1], got ", momentum);
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({num_features}));
    bias = register_parameter("bias", Tensor::zeros({num_features}));
  }
  running_mean = register_buffer("running_mean", Tensor::zeros({num_features}));
  running_var = register_buffer("running_var", Tensor::ones({num_features}));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::Int64));
}

Tensor BatchNorm::forward(const Tensor& x) {
  check_input(x);
  if (is_training()) {
    int64_t per_channel = x.numel() / num_features;
    check(per_channel > 1, name(), ": training needs more than one value per channel to compute a variance, ",
          "got input ", shape_str(x.shape()), " (use a larger batch, or eval())");
    if (num_batches_tracked.device() == Device::CPU) {
      num_batches_tracked.data<int64_t>()[0] += 1;
    } else {  // a model moved to the GPU (Module::to): the counter is a GPU tensor too
      NoGradGuard no_grad;
      num_batches_tracked.copy_(num_batches_tracked + Tensor::ones({}, DType::Int64, num_batches_tracked.device()));
    }
    if (sum_over_processes) return forward_synchronised(x);
  }
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

// The same normalisation as the batch_norm op, written from sums so that the sums can be added up
// over processes first (M values per channel on all processes together):
//   mean = S1 / M,  var = S2 / M - mean^2   with S1 = sum x, S2 = sum x^2 over the whole batch
// autograd differentiates through the sums (and through sum_over_processes' own backward).
Tensor BatchNorm::forward_synchronised(const Tensor& x) {
  std::vector<int64_t> dims{0};  // every dimension but the channels
  Shape channel_shape(x.dim(), 1);  // [1, C, 1, 1]: broadcasts over the batch and the pixels
  channel_shape[1] = num_features;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  const double local_count = static_cast<double>(x.numel() / num_features);
  const Tensor count = sum_over_processes(Tensor::scalar(local_count, x.dtype()));
  const Tensor mean = sum_over_processes(sum(x, dims)) / count;          // [C]
  const Tensor var = sum_over_processes(sum(x * x, dims)) / count - mean * mean;
  {
    NoGradGuard no_grad;  // running_var is unbiased: var M / (M - 1)
    const double m = count.item();
    running_mean.copy_(running_mean * (1.0 - momentum) + mean.detach() * momentum);
    running_var.copy_(running_var * (1.0 - momentum) + var.detach() * (momentum * m / (m - 1.0)));
  }
  Tensor xhat = (x - mean.reshape(channel_shape)) / sqrt(var.reshape(channel_shape) + eps);
  if (!affine) return xhat;
  return xhat * weight.reshape(channel_shape) + bias.reshape(channel_shape);
}

std::string BatchNorm::extra_repr() const {
  std::string s = std::to_string(num_features) + ", eps=" + repr_number(eps) + ", momentum=" + repr_number(momentum);
  if (!affine) s += ", affine=false";
  return s;
}

void BatchNorm1d::check_input(const Tensor& x) const {
  check(x.dim() == 2 && x.size(1) == num_features, name(), ": expected input [N, ", num_features, "], got ",
        shape_str(x.shape()));
}

void BatchNorm2d::check_input(const Tensor& x) const {
  check(x.dim() == 4 && x.size(1) == num_features, name(), ": expected input [N, ", num_features, ", H, W], got ",
        shape_str(x.shape()));
}

}  // namespace ember
