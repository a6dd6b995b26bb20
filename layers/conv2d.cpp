// Conv2d layer: owns the filters W [C_out, C_in, K, K] and bias [C_out]; forward is the conv2d op.
// The layer checks the input's rank and channel count itself, so the message names the layer.
#include "layers/conv2d.h"

#include <cmath>

#include "core/ops.h"
#include "layers/init.h"

namespace ember {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dLayerOptions opt,
               Generator* gen)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), options(opt) {
  check(in_channels > 0 && out_channels > 0 && kernel_size > 0, "Conv2d: channels and kernel size must be ",
        "positive, got in_channels=", in_channels, ", out_channels=", out_channels, ", kernel_size=", kernel_size);
  check(opt.stride > 0 && opt.dilation > 0 && opt.padding >= 0, "Conv2d: stride and dilation must be positive and ",
        "padding non-negative, got stride=", opt.stride, ", padding=", opt.padding, ", dilation=", opt.dilation);
  weight = register_parameter("weight", Tensor::empty({out_channels, in_channels, kernel_size, kernel_size}));
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::FanIn, gen);  // = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  if (opt.bias) {
    bias = register_parameter("bias", Tensor::empty({out_channels}));
    double fan_in = static_cast<double>(in_channels * kernel_size * kernel_size);
    uniform_(bias, -1.0 / std::sqrt(fan_in), 1.0 / std::sqrt(fan_in), gen);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  check(x.dim() == 4, name(), ": expected input [N, C, H, W], got ", shape_str(x.shape()));
  // images stored channels-last ([N, H, W, C], as image files and NumPy have them) are a common slip
  const bool looks_channels_last = x.size(3) == in_channels && x.size(1) != in_channels;
  check(x.size(1) == in_channels, name(), ": input has ", x.size(1), " channels, layer expects ", in_channels,
        " (input shape ", shape_str(x.shape()), ")",
        looks_channels_last ? "; is it [N, H, W, C]? Conv2d wants [N, C, H, W]: permute({0, 3, 1, 2})" : "");
  return conv2d(x, weight, bias, {.stride = options.stride, .padding = options.padding, .dilation = options.dilation});
}

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel=" + std::to_string(kernel_size) + ", stride=" + std::to_string(options.stride) +
                  ", padding=" + std::to_string(options.padding);
  if (options.dilation != 1) s += ", dilation=" + std::to_string(options.dilation);
  if (!options.bias) s += ", bias=false";
  return s;
}

}  // namespace ember
