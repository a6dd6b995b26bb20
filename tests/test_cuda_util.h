#pragma once
// Shared by the GPU tests (tests/test_cuda_*.cpp): the skip where no GPU can be used, and the
// comparison of an op on the GPU with the same op on the CPU, forward and backward.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/random.h"
#include "tests/test_util.h"

namespace ember {

// First line of every GPU test.
#define SKIP_WITHOUT_GPU()                                                                  \
  do {                                                                                      \
    if (!::ember::cuda_is_available())                                                      \
      GTEST_SKIP() << "no usable GPU here: " << ::ember::cuda_unavailable_reason();         \
  } while (0)

// The usual tolerance of a GPU result against the CPU's, relative to 1 + |cpu value|: float32 1e-5
// (sums in another order, the CPU's own vectorised exp/erfc), float64 1e-12.
constexpr double kCudaTol32 = 1e-5, kCudaTol64 = 1e-12;
inline double tol_for(DType dtype) { return dtype == DType::Float32 ? kCudaTol32 : kCudaTol64; }

// Where a and b (same shape, any devices) differ most, relative to 1 + |b|: "" when every element
// is within tol, otherwise a message naming the worst element.
inline std::string compare(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  if (a.shape() != b.shape()) return what + ": shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape());
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double err = std::abs(va[i] - vb[i]) / (1.0 + std::abs(vb[i]));
    if (!(err <= worst)) {  // NaN counts as the worst
      worst = err;
      at = i;
    }
  }
  if (worst <= tol) return "";
  std::ostringstream os;
  os << what << ": element " << at << " of " << shape_str(a.shape()) << ": gpu " << va[at] << ", cpu " << vb[at]
     << ", relative error " << worst << " > " << tol;
  return os.str();
}

// Runs f on CPU copies and on GPU copies of the inputs; compares the outputs, then backpropagates the
// same random output gradient through both and compares the gradients of the float inputs.
inline void expect_gpu_matches_cpu(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                   const std::vector<Tensor>& inputs, double tol, bool backward = true,
                                   uint64_t seed = 7) {
  std::vector<Tensor> cpu_in, gpu_in;
  for (const Tensor& x : inputs) {
    Tensor c = x.detach().clone(), g = x.detach().cuda();
    if (backward && is_floating(x.dtype())) {
      c.requires_grad_();
      g.requires_grad_();
    }
    cpu_in.push_back(c);
    gpu_in.push_back(g);
  }
  Tensor y_cpu = f(cpu_in), y_gpu = f(gpu_in);
  ASSERT_EQ(y_gpu.device(), Device::CUDA);
  ASSERT_EQ(y_cpu.dtype(), y_gpu.dtype());
  const std::string forward = compare(y_gpu, y_cpu, tol, "forward");
  EXPECT_TRUE(forward.empty()) << forward;
  if (!backward) return;
  Generator gen(seed);
  Tensor g = Tensor::randn(y_cpu.shape(), &gen, y_cpu.dtype());
  y_cpu.backward(g);
  y_gpu.backward(g.cuda());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!cpu_in[i].requires_grad()) continue;
    ASSERT_TRUE(cpu_in[i].grad().defined() && gpu_in[i].grad().defined()) << "input " << i << " has no gradient";
    EXPECT_EQ(gpu_in[i].grad().device(), Device::CUDA);
    const std::string message = compare(gpu_in[i].grad(), cpu_in[i].grad(), tol, "gradient of input " + std::to_string(i));
    EXPECT_TRUE(message.empty()) << message;
  }
}

// Seeded random inputs.
inline Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn(shape, &gen, dtype);
}

}  // namespace ember
