// Pooling layers: thin wrappers over the max_pool2d / avg_pool2d / global_avg_pool2d ops, which
// hold the forward and backward (max: the gradient goes to the window's maximum; average: it is
// spread evenly over the window).
#include "layers/pool.h"

#include "core/ops.h"

namespace ember {

namespace {
std::string pool_repr(int64_t kernel, int64_t stride, int64_t padding) {
  return "kernel=" + std::to_string(kernel) + ", stride=" + std::to_string(stride) +
         ", padding=" + std::to_string(padding);
}

void check_pool_args(const char* layer, int64_t kernel, int64_t stride, int64_t padding) {
  check(kernel > 0 && stride > 0 && padding >= 0, layer, ": kernel and stride must be positive and padding ",
        "non-negative, got kernel=", kernel, ", stride=", stride, ", padding=", padding);
  check(2 * padding <= kernel, layer, ": padding ", padding, " is more than half the kernel ", kernel,
        "; a window could then hold only padding");
}
}  // namespace

MaxPool2d::MaxPool2d(int64_t kernel_size, int64_t stride, int64_t padding)
    : kernel_size(kernel_size), stride(stride == 0 ? kernel_size : stride), padding(padding) {
  check_pool_args("MaxPool2d", this->kernel_size, this->stride, this->padding);
}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_size, stride, padding); }

std::string MaxPool2d::extra_repr() const { return pool_repr(kernel_size, stride, padding); }

AvgPool2d::AvgPool2d(int64_t kernel_size, int64_t stride, int64_t padding)
    : kernel_size(kernel_size), stride(stride == 0 ? kernel_size : stride), padding(padding) {
  check_pool_args("AvgPool2d", this->kernel_size, this->stride, this->padding);
}

Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel_size, stride, padding); }

std::string AvgPool2d::extra_repr() const { return pool_repr(kernel_size, stride, padding); }

Tensor GlobalAvgPool2d::forward(const Tensor& x) { return global_avg_pool2d(x); }

}  // namespace ember
