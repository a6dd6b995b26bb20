// Batch normalisation (Ioffe and Szegedy, 2015): statistics per channel.
// The plain reference of this op, one loop nest to step through: core/ops/reference/batch_norm.cpp
//
//   x [N, C] or [N, C, H, W];  channel c has the M = N*H*W values x[n, c, ...]  (M = N for [N, C])
//   weight, bias [C], optional (as if 1 and 0)
//
// Forward:
//   training:  mean_c = (1/M) sum x
//              var_c  = (1/M) sum (x - mean_c)^2          biased: this one normalises
//              running_mean = (1 - momentum) running_mean + momentum mean_c
//              running_var  = (1 - momentum) running_var  + momentum var_c M / (M - 1)   (unbiased)
//   eval:      mean_c, var_c = running_mean_c, running_var_c
//   rstd_c = 1 / sqrt(var_c + eps)
//   xhat   = (x - mean_c) rstd_c
//   y      = weight_c xhat + bias_c
//
// Backward, g = dLoss/dy, sums over the M values of a channel:
//   dbias_c   = sum g
//   dweight_c = sum g xhat
//   training:  dx = weight_c rstd_c / M (M g - sum g - xhat sum(g xhat))
//              (mean_c and var_c depend on every x of the channel: the two sums are their share)
//   eval:      dx = weight_c rstd_c g          (the running statistics are constants)
//
// Memory layout: element (n, c, s) of x viewed as [N, C, S] (S = H*W, or 1) is at (n C + c) S + s,
// so channel c is N blocks of S contiguous numbers. Forward and backward are each fused: one
// loop over the channels does the sums and the write of a channel together, while its numbers are
// still in the cache. Each thread takes whole channels: no two threads share a sum, so the results
// do not depend on the thread count.
//
// On the GPU (cuda/batch_norm.cu): a block per channel does the same fused work (block sums in
// double), the running statistics are updated by the kernel, and mean, rstd stay on the GPU as
// [C] float64 tensors for the backward.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/ops.h"
#include "core/ops/cuda_dispatch.h"
#include "core/ops/lines.h"
#include "core/parallel.h"

namespace ember {

namespace {

// x viewed as [N, C, S].
struct ChannelLayout {
  int64_t N, C, S;
  int64_t count() const { return N * S; }  // M, the values per channel
  int64_t block(int64_t n, int64_t c) const { return (n * C + c) * S; }  // where block n of channel c starts
};

// sum over the M values of channel c of f(offset): f reads whatever arrays it likes at that offset.
// Eight partial sums in double: the CPU can do eight independent adds at once (a single running
// sum waits for each add to finish), and double keeps the digits of a sum over a large batch.
template <typename F>
double channel_sum(const ChannelLayout& L, int64_t c, F&& f) {
  double partial[8] = {};
  double rest = 0;
  for (int64_t n = 0; n < L.N; ++n) {
    const int64_t base = L.block(n, c);
    int64_t s = 0;
    for (; s + 8 <= L.S; s += 8)
      for (int j = 0; j < 8; ++j) partial[j] += f(base + s + j);
    for (; s < L.S; ++s) rest += f(base + s);
  }
  double total = rest;
  for (int j = 0; j < 8; ++j) total += partial[j];
  return total;
}

// Channels per thread: a thread is only worth waking for some 32K numbers.
int64_t channel_grain(const ChannelLayout& L) { return std::max<int64_t>(1, (int64_t(1) << 15) / L.count()); }

// Reads a [C] tensor of either float type as doubles, and writes doubles back into it.
std::vector<double> read_channels(const Tensor& t) { return t.to_vector<double>(); }
void write_channels(Tensor& t, const std::vector<double>& values) {
  dispatch_float(t.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (size_t c = 0; c < values.size(); ++c) p[c] = static_cast<T>(values[c]);
  });
}

void check_channel_tensor(const Tensor& t, int64_t C, const char* what, const Tensor& x) {
  if (!t.defined()) return;
  check(t.dim() == 1 && t.size(0) == C && is_floating(t.dtype()), "batch_norm: ", what, " must be a float [", C,
        "] (one per channel of input ", shape_str(x.shape()), "), got ", shape_str(t.shape()), " ",
        dtype_name(t.dtype()));
}

// The same op on the GPU, after batch_norm's checks: one kernel forward, one backward.
Tensor cuda_batch_norm(const Tensor& x, Tensor& running_mean, Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, bool training, double momentum, double eps, const ChannelLayout& L) {
  for (const Tensor* t : std::initializer_list<const Tensor*>{&running_mean, &running_var, &weight, &bias}) {
    if (!t->defined()) continue;
    check_devices_match("batch_norm", x, "input", *t, "a channel tensor (weight, bias or running statistics)");
    check(t->dtype() == x.dtype(), "batch_norm: on cuda the weight, bias and running statistics must have the "
          "input's dtype ", dtype_name(x.dtype()), ", got ", dtype_name(t->dtype()));
  }
  Tensor y = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
  Tensor mean = Tensor::empty({L.C}, DType::Float64, Device::CUDA);
  Tensor rstd = Tensor::empty({L.C}, DType::Float64, Device::CUDA);
  auto ptr = [](const Tensor& t) { return t.defined() ? t.raw_device_data() : nullptr; };
  auto mutable_ptr = [](Tensor& t) { return t.defined() ? t.raw_device_data() : nullptr; };
  cuda_kernels().batch_norm(x.dtype(), x.raw_device_data(), ptr(weight), ptr(bias), y.raw_device_data(), L.N, L.C,
                            L.S, training, momentum, eps, mutable_ptr(running_mean), mutable_ptr(running_var),
                            static_cast<double*>(mean.raw_device_data()),
                            static_cast<double*>(rstd.raw_device_data()));
  const bool need_dx = x.requires_grad();
  const bool need_dw = weight.defined() && weight.requires_grad();
  const bool need_db = bias.defined() && bias.requires_grad();
  Tensor x_saved = x.detach(), w_saved = weight.defined() ? weight.detach() : Tensor();
  record(y, "batch_norm", {x, weight, bias},
         [x_saved, w_saved, L, mean, rstd, training, need_dx, need_dw, need_db](const Tensor& g) {
           Tensor dx = need_dx ? Tensor::empty(x_saved.shape(), g.dtype(), Device::CUDA) : Tensor();
           Tensor dw = need_dw ? Tensor::empty({L.C}, g.dtype(), Device::CUDA) : Tensor();
           Tensor db = need_db ? Tensor::empty({L.C}, g.dtype(), Device::CUDA) : Tensor();
           auto out = [](Tensor& t) { return t.defined() ? t.raw_device_data() : nullptr; };
           cuda_kernels().batch_norm_backward(
               g.dtype(), x_saved.raw_device_data(), w_saved.defined() ? w_saved.raw_device_data() : nullptr,
               g.raw_device_data(), static_cast<const double*>(mean.raw_device_data()),
               static_cast<const double*>(rstd.raw_device_data()), L.N, L.C, L.S, training, out(dx), out(dw),
               out(db));
           return std::vector<Tensor>{dx, dw, db};
         });
  return y;
}

}  // namespace

Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  OpScope scope("batch_norm", x, weight, bias);
  check(x.defined(), "batch_norm: input is undefined");
  check(x.dim() >= 2 && x.dim() <= 4, "batch_norm: input must be [N, C], [N, C, L] or [N, C, H, W], got ",
        shape_str(x.shape()));
  const Lines channels = lines_of(x.shape(), 1);  // [N, C, S] around the channel dimension
  const ChannelLayout L{channels.outer, channels.n, channels.inner};
  const int64_t C = L.C, M = L.count();
  check_channel_tensor(running_mean, C, "running_mean", x);
  check_channel_tensor(running_var, C, "running_var", x);
  check_channel_tensor(weight, C, "weight", x);
  check_channel_tensor(bias, C, "bias", x);
  if (weight.defined())
    check(weight.dtype() == x.dtype(), "batch_norm: weight is ", dtype_name(weight.dtype()), ", input is ",
          dtype_name(x.dtype()));
  if (bias.defined())
    check(bias.dtype() == x.dtype(), "batch_norm: bias is ", dtype_name(bias.dtype()), ", input is ",
          dtype_name(x.dtype()));
  check(running_mean.defined() == running_var.defined(),
        "batch_norm: give both running_mean and running_var, or neither");
  if (training)
    check(M > 1, "batch_norm: training needs more than one value per channel (input ", shape_str(x.shape()), ")");
  else
    check(running_mean.defined(), "batch_norm: eval mode needs running_mean and running_var (input ",
          shape_str(x.shape()), ")");

  if (is_cuda(x)) return cuda_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, L);

  // Per-channel statistics: the batch's in training, the running ones in eval.
  std::vector<double> mean(C), rstd(C);
  std::vector<double> batch_var(training ? C : 0);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const std::vector<double> eval_mean = training ? std::vector<double>() : read_channels(running_mean);
  const std::vector<double> eval_var = training ? std::vector<double>() : read_channels(running_var);
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = y.data<T>();
    parallel_for(0, C, channel_grain(L), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        if (training) {
          const double m = channel_sum(L, c, [&](int64_t i) { return double(px[i]); }) / M;
          const double v = channel_sum(L, c, [&](int64_t i) { return (px[i] - m) * (px[i] - m); }) / M;
          mean[c] = m;
          batch_var[c] = v;
          rstd[c] = 1.0 / std::sqrt(v + eps);
        } else {
          mean[c] = eval_mean[c];
          rstd[c] = 1.0 / std::sqrt(eval_var[c] + eps);
        }
        // y = xhat * weight + bias = x * scale + shift
        const T scale = static_cast<T>(rstd[c] * (pw ? pw[c] : 1.0));
        const T shift = static_cast<T>((pb ? pb[c] : 0.0) - mean[c] * rstd[c] * (pw ? pw[c] : 1.0));
        for (int64_t n = 0; n < L.N; ++n) {
          const int64_t base = L.block(n, c);
          for (int64_t s = 0; s < L.S; ++s) py[base + s] = px[base + s] * scale + shift;
        }
      }
    });
  });

  if (training && running_mean.defined()) {
    std::vector<double> rm = read_channels(running_mean), rv = read_channels(running_var);
    for (int64_t c = 0; c < C; ++c) {
      rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (1 - momentum) * rv[c] + momentum * batch_var[c] * M / (M - 1);
    }
    write_channels(running_mean, rm);
    write_channels(running_var, rv);
  }

  const bool need_dx = x.requires_grad();
  const bool need_dw = weight.defined() && weight.requires_grad();
  const bool need_db = bias.defined() && bias.requires_grad();
  Tensor x_saved = x.detach(), w_saved = weight.defined() ? weight.detach() : Tensor();
  record(y, "batch_norm", {x, weight, bias},
         [x_saved, w_saved, L, mean, rstd, training, need_dx, need_dw, need_db](const Tensor& g) {
           Tensor dx = need_dx ? Tensor::empty(x_saved.shape(), g.dtype()) : Tensor();
           Tensor dw = need_dw ? Tensor::empty({L.C}, g.dtype()) : Tensor();
           Tensor db = need_db ? Tensor::empty({L.C}, g.dtype()) : Tensor();
           dispatch_float(g.dtype(), "batch_norm", [&](auto tag) {
             using T = decltype(tag);
             const T* px = x_saved.data<T>();
             const T* pg = g.data<T>();
             const T* pw = w_saved.defined() ? w_saved.data<T>() : nullptr;
             T* pdx = need_dx ? dx.data<T>() : nullptr;
             const double M = static_cast<double>(L.count());
             parallel_for(0, L.C, channel_grain(L), [&](int64_t c0, int64_t c1) {
               for (int64_t c = c0; c < c1; ++c) {
                 const T m = static_cast<T>(mean[c]), r = static_cast<T>(rstd[c]);
                 const double sum_g = channel_sum(L, c, [&](int64_t i) { return double(pg[i]); });
                 const double sum_g_xhat = channel_sum(L, c, [&](int64_t i) { return pg[i] * ((px[i] - m) * r); });
                 if (need_db) db.data<T>()[c] = static_cast<T>(sum_g);
                 if (need_dw) dw.data<T>()[c] = static_cast<T>(sum_g_xhat);
                 if (!need_dx) continue;
                 // training: dx = weight rstd (g - sum g / M - xhat sum(g xhat) / M);  eval: weight rstd g
                 const T k = static_cast<T>((pw ? pw[c] : 1.0) * rstd[c]);
                 const T mean_g = training ? static_cast<T>(sum_g / M) : T(0);
                 const T mean_g_xhat = training ? static_cast<T>(sum_g_xhat / M) : T(0);
                 for (int64_t n = 0; n < L.N; ++n) {
                   const int64_t base = L.block(n, c);
                   for (int64_t i = base; i < base + L.S; ++i) {
                     const T xhat = (px[i] - m) * r;
                     pdx[i] = k * (pg[i] - mean_g - xhat * mean_g_xhat);
                   }
                 }
               }
             });
           });
           return std::vector<Tensor>{dx, dw, db};
         });
  return y;
}

}  // namespace ember
