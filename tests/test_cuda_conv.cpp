// conv2d on the GPU (im2col + cuBLAS, col2im by gathering) against the CPU op, forward and the
// gradients of input, weight and bias, in float32 (1e-5 relative to 1 + |cpu value|) and float64
// (1e-12). Every test skips where no GPU can be used.
#include "tests/test_cuda_util.h"

using namespace ember;

namespace test_cuda_conv {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

struct Case {
  Shape x, w;
  Conv2dOptions opt;
  bool bias;
};

TEST(CudaConv2d, PaddingStrideDilationBiasAndPointwiseMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  const std::vector<Case> cases = {
      {{2, 3, 8, 8}, {4, 3, 3, 3}, {1, 1, 1}, true},   {{2, 3, 9, 7}, {5, 3, 3, 3}, {2, 1, 1}, false},
      {{1, 2, 10, 10}, {3, 2, 3, 3}, {1, 2, 2}, true}, {{3, 4, 5, 5}, {6, 4, 1, 1}, {1, 0, 1}, true},
      {{2, 1, 28, 28}, {8, 1, 5, 5}, {1, 0, 1}, true}, {{1, 3, 6, 6}, {2, 3, 2, 4}, {2, 0, 1}, false},
  };
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
    for (const Case& c : cases) {
      SCOPED_TRACE("x " + shape_str(c.x) + " w " + shape_str(c.w) + " stride " + std::to_string(c.opt.stride) +
                   " pad " + std::to_string(c.opt.padding) + " dil " + std::to_string(c.opt.dilation) + " " +
                   dtype_name(dt));
      std::vector<Tensor> in = {random_tensor(c.x, dt, 1), random_tensor(c.w, dt, 2) * 0.3};
      if (c.bias) in.push_back(random_tensor({c.w[0]}, dt, 3));
      const Conv2dOptions opt = c.opt;
      expect_gpu_matches_cpu(
          [opt](const auto& v) { return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), opt); }, in, tol);
    }
  }
}

TEST(CudaConv2d, OnlyTheWantedGradientsAreComputed) {
  SKIP_WITHOUT_GPU();
  Tensor x = random_tensor({2, 3, 6, 6}, DType::Float32, 4).cuda();  // an input image: no gradient
  Tensor w = random_tensor({4, 3, 3, 3}, DType::Float32, 5).cuda().requires_grad_();
  Tensor y = conv2d(x, w, Tensor(), {1, 1, 1});
  sum(y).backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
}

}  // namespace test_cuda_conv
