#pragma once
// Batch normalisation: normalise each channel with the statistics of the batch, then scale and
// shift with learned per-channel weight (gamma) and bias (beta):
//
//   y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c
//
//   BatchNorm1d: x [N, C]        statistics over N            (after a Linear layer)
//   BatchNorm2d: x [N, C, H, W]  statistics over N, H and W   (after a Conv2d layer)
//
// Training mode uses the batch's mean and (biased) variance and updates the running estimates:
//   running_mean = (1 - momentum) running_mean + momentum batch_mean
//   running_var  = (1 - momentum) running_var  + momentum batch_var (unbiased)
// Eval mode uses running_mean/running_var instead, so one image gives the same answer alone as in
// a batch. running_mean, running_var and num_batches_tracked are buffers: saved in state_dict(),
// never trained.
#include <functional>

#include "layers/module.h"

namespace ember {

// What BatchNorm1d and BatchNorm2d share; they differ only in the input shape they accept.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  // "16, eps=1e-05, momentum=0.1"

  const int64_t num_features;  // C
  const double eps, momentum;
  const bool affine;           // learn weight and bias (false: y is just the normalised x)
  Tensor weight, bias;         // [C], 1 and 0 at first; undefined when !affine
  Tensor running_mean;         // [C], starts at 0
  Tensor running_var;          // [C], starts at 1
  Tensor num_batches_tracked;  // int64 [], training batches seen (for information, as PyTorch)

  // Synchronised batch norm (distributed/distributed.h, synchronise_batch_norm): when set, training
  // mode adds up the per-channel sums of x and x^2, and the count of values, over every process
  // that trains together, so all normalise with the statistics of the whole global batch. It must
  // be differentiable (its backward adds up the gradients the same way). Unset: this batch only.
  std::function<Tensor(const Tensor&)> sum_over_processes;

 protected:
  BatchNorm(int64_t num_features, double eps, double momentum, bool affine);
  // Throws when x is not the shape this kind of batch norm accepts.
  virtual void check_input(const Tensor& x) const = 0;

 private:
  // Training mode with sum_over_processes: the statistics from sums, composed of engine ops.
  Tensor forward_synchronised(const Tensor& x);
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm(num_features, eps, momentum, affine) {}
  std::string type_name() const override { return "BatchNorm1d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm(num_features, eps, momentum, affine) {}
  std::string type_name() const override { return "BatchNorm2d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

}  // namespace ember
