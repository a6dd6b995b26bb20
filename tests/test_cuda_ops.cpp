// The CUDA kernels of the element-wise ops (and losses), reductions, softmax and cross-entropy against the CPU
// ops (tests/test_cuda_util.h: same random inputs, forward and backward). Tolerances, relative to
// 1 + |cpu value|: 1e-5 in float32 (the CPU's float32 exp/erfc are its own vectorised versions,
// within a few roundings of CUDA's), 1e-12 in float64. Every test skips where no GPU can be used.
#include "tests/test_cuda_util.h"

using namespace ember;

namespace test_cuda_ops {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

class CudaOps : public testing::TestWithParam<DType> {};
INSTANTIATE_TEST_SUITE_P(Float, CudaOps, testing::Values(DType::Float32, DType::Float64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST_P(CudaOps, BinaryOpsWithBroadcasting) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  Generator gen(1);
  // divisors kept away from 0
  Tensor b_pos = Tensor::uniform({3, 1}, 0.5, 2.0, &gen, dt);
  const std::vector<std::pair<Shape, Shape>> shapes = {{{4, 5}, {4, 5}}, {{4, 1, 5}, {3, 1}}, {{2, 3}, {}}, {{}, {6}},
                                                       {{1000}, {1000}}};
  for (const auto& [sa, sb] : shapes) {
    Tensor a = random_tensor(sa, dt, 2), b = Tensor::uniform(sb, 0.5, 2.0, &gen, dt);
    SCOPED_TRACE(shape_str(sa) + " op " + shape_str(sb));
    expect_gpu_matches_cpu([](const auto& in) { return in[0] + in[1]; }, {a, b}, tol_for(dt));
    expect_gpu_matches_cpu([](const auto& in) { return in[0] - in[1]; }, {a, b}, tol_for(dt));
    expect_gpu_matches_cpu([](const auto& in) { return in[0] * in[1]; }, {a, b}, tol_for(dt));
    expect_gpu_matches_cpu([](const auto& in) { return in[0] / in[1]; }, {a, b}, tol_for(dt));
  }
  Tensor a = random_tensor({5, 3}, dt, 3);
  expect_gpu_matches_cpu([](const auto& in) { return (in[0] * 2.0 + 1.0) / 4.0 - 0.5; }, {a}, tol_for(dt));
  expect_gpu_matches_cpu([](const auto& in) { return 3.0 - in[0]; }, {a}, tol_for(dt));
}

TEST(CudaOpsInt, Int64AddAndMultiplyExactly) {
  SKIP_WITHOUT_GPU();
  Tensor a = Tensor::from_vector(std::vector<int64_t>{1, -2, 3, 1 << 30}, {4});
  Tensor b = Tensor::from_vector(std::vector<int64_t>{5}, {1});
  EXPECT_EQ((a.cuda() + b.cuda()).to_vector<int64_t>(), (a + b).to_vector<int64_t>());
  EXPECT_EQ((a.cuda() * b.cuda()).to_vector<int64_t>(), (a * b).to_vector<int64_t>());
}

TEST_P(CudaOps, UnaryMathAndActivations) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  const double tol = tol_for(dt);
  Tensor x = random_tensor({7, 129}, dt, 4) * 3.0;  // reaches the tails of sigmoid, tanh and gelu
  Generator gen(5);
  Tensor positive = Tensor::uniform({7, 129}, 0.1, 5.0, &gen, dt);
  expect_gpu_matches_cpu([](const auto& in) { return neg(in[0]); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return exp(in[0]); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return log(in[0]); }, {positive}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return relu(in[0]); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return sigmoid(in[0]); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return tanh(in[0]); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return gelu(in[0]); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return gelu(in[0], /*approximate=*/true); }, {x}, tol);
}

TEST_P(CudaOps, SqrtPowAbsClampLeakyReluAndTheElementwiseLosses) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  const double tol = tol_for(dt);
  Tensor x = random_tensor({7, 129}, dt, 30) * 3.0;
  Generator gen(31);
  Tensor positive = Tensor::uniform({7, 129}, 0.1, 5.0, &gen, dt);
  expect_gpu_matches_cpu([](const auto& in) { return sqrt(in[0]); }, {positive}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return pow(in[0], 2.5); }, {positive}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return pow(in[0], 2.0); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return abs(in[0]); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return clamp(in[0], -1.0, 2.0); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return clamp(in[0], std::nullopt, 0.5); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return leaky_relu(in[0], 0.1); }, {x}, tol);
  // the element-wise losses, built from ops on the GPU; both inputs get gradients
  Tensor target = random_tensor({7, 129}, dt, 32);
  Tensor probability = Tensor::uniform({7, 129}, 0.0, 1.0, &gen, dt);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    expect_gpu_matches_cpu([r](const auto& in) { return mse_loss(in[0], in[1], r); }, {x, target}, tol);
    expect_gpu_matches_cpu([r](const auto& in) { return binary_cross_entropy_with_logits(in[0], in[1], r); },
                           {x, probability}, tol);
  }
}

TEST_P(CudaOps, SumMeanVar) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  const double tol = tol_for(dt);
  Tensor x = random_tensor({6, 5, 4}, dt, 6);
  expect_gpu_matches_cpu([](const auto& in) { return sum(in[0]); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return sum(in[0], {0}); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return sum(in[0], {-1}); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return sum(in[0], {0, 2}, /*keepdim=*/true); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return mean(in[0], {1}); }, {x}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return var(in[0], {2}, /*unbiased=*/true); }, {x}, tol);
  // long rows go to the block-per-row kernel (warp shuffles), many elements to the two-pass sum
  Tensor rows = random_tensor({3, 5000}, dt, 7);
  expect_gpu_matches_cpu([](const auto& in) { return sum(in[0], {1}); }, {rows}, tol);
  Tensor big = random_tensor({300001}, dt, 8);
  expect_gpu_matches_cpu([](const auto& in) { return sum(in[0]); }, {big}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return mean(in[0]); }, {big}, tol);
  // an empty sum is 0
  EXPECT_EQ(sum(Tensor::zeros({0, 3}, dt, Device::CUDA)).item(), 0.0);
  EXPECT_EQ(sum(Tensor::zeros({0, 3}, dt, Device::CUDA), {0}).to_vector<double>(), (std::vector<double>{0, 0, 0}));
}

TEST_P(CudaOps, SumIsTheSameOnEveryRun) {
  SKIP_WITHOUT_GPU();
  Tensor x = random_tensor({1 << 20}, GetParam(), 9).cuda();
  const double first = sum(x).item();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sum(x).item(), first);
}

TEST_P(CudaOps, SoftmaxAndLogSoftmax) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  const double tol = tol_for(dt);
  Tensor rows = random_tensor({9, 10}, dt, 10) * 4.0;
  Tensor wide = random_tensor({3, 1000}, dt, 11) * 4.0;
  Tensor middle = random_tensor({2, 7, 5}, dt, 12);
  for (const Tensor& x : {rows, wide}) {
    expect_gpu_matches_cpu([](const auto& in) { return softmax(in[0]); }, {x}, tol);
    expect_gpu_matches_cpu([](const auto& in) { return log_softmax(in[0]); }, {x}, tol);
  }
  expect_gpu_matches_cpu([](const auto& in) { return softmax(in[0], 1); }, {middle}, tol);
  expect_gpu_matches_cpu([](const auto& in) { return log_softmax(in[0], 0); }, {middle}, tol);
}

TEST_P(CudaOps, CrossEntropyEveryReductionAndIgnoredTargets) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  const double tol = tol_for(dt);
  Tensor logits = random_tensor({16, 10}, dt, 13) * 3.0;
  Generator gen(14);
  Tensor target = Tensor::randint(0, 10, {16}, &gen);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_gpu_matches_cpu([r](const auto& in) { return cross_entropy(in[0], in[1], r); }, {logits, target}, tol);
  // a class per pixel, with some pixels ignored
  Tensor pixels = random_tensor({2, 5, 3, 4}, dt, 15);
  std::vector<int64_t> t = Tensor::randint(0, 5, {2, 3, 4}, &gen).to_vector<int64_t>();
  t[1] = t[7] = t[20] = -100;
  Tensor pixel_target = Tensor::from_vector(t, {2, 3, 4});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_gpu_matches_cpu([r](const auto& in) { return cross_entropy(in[0], in[1], r); }, {pixels, pixel_target}, tol);
  // many classes: the warp walks the row in steps of 32
  Tensor many = random_tensor({4, 1000}, dt, 16);
  Tensor many_target = Tensor::randint(0, 1000, {4}, &gen);
  expect_gpu_matches_cpu([](const auto& in) { return cross_entropy(in[0], in[1]); }, {many, many_target}, tol);
}

TEST(CudaCrossEntropy, ABadTargetIsTheSameErrorAsOnTheCpu) {
  SKIP_WITHOUT_GPU();
  Tensor logits = random_tensor({4, 3}, DType::Float32, 17);
  Tensor target = Tensor::from_vector(std::vector<int64_t>{0, 2, 3, 7}, {4});
  const std::string cpu = error_of([&] { cross_entropy(logits, target); });
  const std::string gpu = error_of([&] { cross_entropy(logits.cuda(), target.cuda()); });
  EXPECT_NE(cpu.find("target[2] = 3 is out of range for 3 classes"), std::string::npos) << cpu;
  EXPECT_EQ(gpu, cpu);
  EXPECT_ERROR(cross_entropy(logits.cuda(), target), "move the target with .cuda()");
}

TEST(CudaTraining, AnMlpStepGivesTheCpusLossAndGradients) {
  SKIP_WITHOUT_GPU();
  Tensor x = random_tensor({32, 20}, DType::Float32, 18);
  Tensor w1 = random_tensor({64, 20}, DType::Float32, 19) * 0.2, b1 = random_tensor({64}, DType::Float32, 20) * 0.1;
  Tensor w2 = random_tensor({10, 64}, DType::Float32, 21) * 0.2;
  Generator gen(22);
  Tensor y = Tensor::randint(0, 10, {32}, &gen);
  expect_gpu_matches_cpu(
      [](const auto& in) { return cross_entropy(linear(gelu(linear(in[0], in[1], in[2])), in[3]), in[4]); },
      {x, w1, b1, w2, y}, 1e-4);
}

}  // namespace test_cuda_ops
