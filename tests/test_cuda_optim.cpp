// AdamW, Adam (cuda/adam.cu) and SGD (cuda/sgd.cu) steps on the GPU against the CPU loops of
// optim/adam.cpp and optim/sgd.cpp: the same parameters and gradients, three steps, float32 within
// 1e-6 and float64 within 1e-12 relative to 1 + |cpu value|; and clip_grad_norm (cuda/clip_grad.cu):
// the same norm and the same clipped gradients. Skips where no GPU can be used.
#include "optim/adam.h"
#include "optim/clip_grad.h"
#include "optim/sgd.h"
#include "tests/test_cuda_util.h"

using namespace ember;

namespace test_cuda_optim {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

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

TEST(CudaOptim, SgdStepsMatchTheCpuWithEveryOption) {
  SKIP_WITHOUT_GPU();
  const SGDOptions options[] = {
      {.lr = 0.1},                                                        // plain: no buffer
      {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01},                 // momentum buffer
      {.lr = 0.1, .momentum = 0.9, .dampening = 0.3},                     // dampening after the first step
      {.lr = 0.05, .momentum = 0.8, .nesterov = true, .weight_decay = 0.1},  // nesterov
  };
  for (const SGDOptions& o : options) {
    expect_steps_match<SGD>(DType::Float32, o, 1e-6);
    expect_steps_match<SGD>(DType::Float64, o, 1e-12);
  }
}

TEST(CudaOptim, ClipGradNormGivesTheCpusNormAndGradients) {
  SKIP_WITHOUT_GPU();
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (double max_norm : {0.5, 1e6}) {  // clipped, and left alone
      std::vector<Tensor> cpu, gpu;
      for (int i = 0; i < 3; ++i) {
        Tensor p = random_tensor({5 + 100 * i, 7}, dt, 30 + i).requires_grad_();
        Tensor q = p.detach().cuda().requires_grad_();
        Tensor g = random_tensor(p.shape(), dt, 40 + i);
        p.set_grad(g.clone());
        q.set_grad(g.cuda());
        cpu.push_back(p);
        gpu.push_back(q);
      }
      const double norm_cpu = clip_grad_norm(cpu, max_norm), norm_gpu = clip_grad_norm(gpu, max_norm);
      EXPECT_NEAR(norm_gpu, norm_cpu, 1e-12 * norm_cpu);
      for (int i = 0; i < 3; ++i) {
        const std::string message = compare(gpu[i].grad(), cpu[i].grad(), dt == DType::Float32 ? 1e-6 : 1e-12,
                                            "gradient " + std::to_string(i));
        EXPECT_TRUE(message.empty()) << message;
      }
    }
  }
}

}  // namespace test_cuda_optim
