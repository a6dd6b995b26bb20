#pragma once
// Weight initialisation, as PyTorch's torch.nn.init. Each function overwrites the tensor's
// elements in place (Tensor is a handle, so the layer's own weight changes) and draws from `gen`
// (nullptr: the default generator, which manual_seed() resets): one seed, one model.
//
// Why the scale matters: a layer's output variance is fan_in * Var(w) * Var(x). Keep
// Var(w) ~ 1 / fan_in and activations neither explode nor vanish through deep stacks.
//
//   fan_in  = input features (Linear) or in_channels * KH * KW (Conv2d)
//   fan_out = output features       or out_channels * KH * KW
//
//   kaiming_uniform_(w, a):  U(-bound, bound), bound = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2))
//   kaiming_normal_(w, a):   N(0, std^2),      std   = gain / sqrt(fan)
//   xavier_uniform_(w, g):   U(-bound, bound), bound = g * sqrt(6 / (fan_in + fan_out))
//
// The layers' defaults (what PyTorch does):
//   Linear, Conv2d: weight kaiming_uniform_(a = sqrt 5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in));
//                   bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))
//   Embedding:      weight N(0, 1)
//   BatchNorm, LayerNorm: weight 1, bias 0
#include <cstdint>
#include <utility>

#include "core/random.h"
#include "core/tensor.h"

namespace ember {

enum class FanMode { FanIn, FanOut };

// (fan_in, fan_out) of a weight of shape [out, in, k...] (at least two dimensions).
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& weight);

void uniform_(Tensor t, double low, double high, Generator* gen = nullptr);
void normal_(Tensor t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
void constant_(Tensor t, double value);
void zeros_(Tensor t);
void ones_(Tensor t);
// `a` is the negative slope of the leaky ReLU that follows (0 for ReLU).
void kaiming_uniform_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn, Generator* gen = nullptr);
void kaiming_normal_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn, Generator* gen = nullptr);
void xavier_uniform_(Tensor t, double gain = 1.0, Generator* gen = nullptr);

}  // namespace ember
