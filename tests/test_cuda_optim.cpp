// One AdamW (and Adam) step on the GPU (cuda/adam.cu) against the CPU loop of optim/adam.cpp: the
// same parameters and gradients, three steps, float32 within 1e-6 and float64 within 1e-12 relative
// to 1 + |cpu value|. Skips where no GPU can be used.
#include "optim/adam.h"
#include "tests/test_cuda_util.h"

using namespace ember;

namespace {

template <typename Opt, typename Options>
void expect_steps_match(DType dt, Options options, double tol) {
  Tensor p_cpu = random_tensor({7, 33}, dt, 1).requires_grad_();
  Tensor p_gpu = p_cpu.detach().cuda().requires_grad_();
  Opt cpu({p_cpu}, options), gpu({p_gpu}, options);
  for (int step = 0; step < 3; ++step) {
    Tensor g = random_tensor({7, 33}, dt, 10 + step);
    p_cpu.set_grad(g.clone());
    p_gpu.set_grad(g.cuda());
    cpu.step();
    gpu.step();
  }
  EXPECT_EQ(p_gpu.device(), Device::CUDA);
  const std::string message = compare(p_gpu, p_cpu, tol, "parameter after 3 steps");
  EXPECT_TRUE(message.empty()) << message;
}

TEST(CudaOptim, AdamWAndAdamStepsMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  expect_steps_match<AdamW>(DType::Float32, AdamWOptions{.lr = 1e-2, .weight_decay = 0.1}, 1e-6);
  expect_steps_match<AdamW>(DType::Float64, AdamWOptions{.lr = 1e-2, .weight_decay = 0.1}, 1e-12);
  expect_steps_match<Adam>(DType::Float32, AdamOptions{.lr = 1e-2, .weight_decay = 0.01}, 1e-6);
}

}  // namespace
