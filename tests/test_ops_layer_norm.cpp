// layer_norm: known values, gradients (gradcheck and the same formula built from separate ops),
// deterministic parameter gradients, and error messages.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <string>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_layer_norm {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// The same normalisation from the engine's separate ops (mean, var, sub, div, mul, add).
Tensor layer_norm_composed(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  Tensor m = mean(x, {-1}, /*keepdim=*/true);
  Tensor v = var(x, {-1}, /*unbiased=*/false, /*keepdim=*/true);
  Tensor y = (x - m) / sqrt(v + eps);
  if (w.defined()) y = y * w;
  if (b.defined()) y = y + b;
  return y;
}

TEST(LayerNorm, KnownValuesByHand) {
  // Row [1, 2, 3, 4]: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, so with eps = 0
  // xhat = [-1.5, -0.5, 0.5, 1.5] / sqrt(1.25). Row [2, 2, 2, 2]: variance 0, xhat = 0, y = bias.
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 2, 2, 2, 2}, {2, 4});
  Tensor w = Tensor::from_vector(std::vector<float>{1, 2, -1, 0.5f}, {4});
  Tensor b = Tensor::from_vector(std::vector<float>{0, 1, 0, -1}, {4});
  const double s = 1.0 / std::sqrt(1.25);

  std::vector<float> plain = layer_norm(x, Tensor(), Tensor(), 0.0).to_vector<float>();
  std::vector<float> expected_plain = {float(-1.5 * s), float(-0.5 * s), float(0.5 * s), float(1.5 * s), 0, 0, 0, 0};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(plain[i], expected_plain[i], 1e-6) << i;

  // the constant row divides 0 by sqrt(eps): still 0, then scaled and shifted
  std::vector<float> affine = layer_norm(x, w, b, 1e-5).to_vector<float>();
  const double s_eps = 1.0 / std::sqrt(1.25 + 1e-5);
  std::vector<double> expected = {-1.5 * s_eps * 1 + 0, -0.5 * s_eps * 2 + 1, 0.5 * s_eps * -1 + 0,
                                  1.5 * s_eps * 0.5 - 1, 0, 1, 0, -1};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(affine[i], expected[i], 1e-6) << i;
}

TEST(LayerNorm, MatchesNaiveLoopOn3DInput) {
  Generator gen(3);
  const int64_t rows = 2 * 5, D = 7;
  Tensor x = Tensor::randn({2, 5, D}, &gen, DType::Float64);
  Tensor w = Tensor::randn({D}, &gen, DType::Float64), b = Tensor::randn({D}, &gen, DType::Float64);
  std::vector<double> got = layer_norm(x, w, b, 1e-5).to_vector<double>();
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> want(rows * D);
  for (int64_t r = 0; r < rows; ++r) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < D; ++j) m += xv[r * D + j] / D;
    for (int64_t j = 0; j < D; ++j) v += (xv[r * D + j] - m) * (xv[r * D + j] - m) / D;
    for (int64_t j = 0; j < D; ++j) want[r * D + j] = (xv[r * D + j] - m) / std::sqrt(v + 1e-5) * wv[j] + bv[j];
  }
  expect_all_near(got, want, 1e-12);
}

TEST(LayerNorm, LargeMeanKeepsPrecisionInFloat32) {
  // A one-pass sum of squares without the shift would lose the variance (1.25) next to the
  // squared mean (1e8) in float32.
  Tensor x = Tensor::from_vector(std::vector<float>{10001, 10002, 10003, 10004}, {1, 4});
  std::vector<float> y = layer_norm(x, Tensor(), Tensor(), 0.0).to_vector<float>();
  const double s = 1.0 / std::sqrt(1.25);
  EXPECT_NEAR(y[0], -1.5 * s, 1e-4);
  EXPECT_NEAR(y[1], -0.5 * s, 1e-4);
  EXPECT_NEAR(y[3], 1.5 * s, 1e-4);
}

TEST(LayerNorm, GradcheckWithWeightAndBias) {
  Generator gen(1);
  auto f = [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); };
  GradcheckResult r =
      gradcheck(f, {Tensor::randn({3, 4, 6}, &gen), Tensor::randn({6}, &gen), Tensor::randn({6}, &gen)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(LayerNorm, GradcheckWithoutAffineAndWithWeightOnly) {
  Generator gen(2);
  auto plain = [](const std::vector<Tensor>& in) { return layer_norm(in[0], Tensor(), Tensor(), 1e-3); };
  GradcheckResult r = gradcheck(plain, {Tensor::randn({5, 9}, &gen)});
  ASSERT_TRUE(r.ok) << r.message;
  auto weight_only = [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], Tensor()); };
  r = gradcheck(weight_only, {Tensor::randn({2, 3, 5}, &gen), Tensor::randn({5}, &gen)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(LayerNorm, GradcheckManyRowsAcrossSumBlocks) {
  // more rows than the backward's 32 partial-sum blocks, and a row count they do not divide
  Generator gen(4);
  auto f = [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); };
  GradcheckOptions opt;
  opt.max_elements_per_input = 120;
  GradcheckResult r =
      gradcheck(f, {Tensor::randn({67, 5}, &gen), Tensor::randn({5}, &gen), Tensor::randn({5}, &gen)}, opt);
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(LayerNorm, GradientsMatchComposedOps) {
  Generator gen(5);
  Tensor x0 = Tensor::randn({37, 12}, &gen, DType::Float64);
  Tensor w0 = Tensor::randn({12}, &gen, DType::Float64), b0 = Tensor::randn({12}, &gen, DType::Float64);
  Tensor gy = Tensor::randn({37, 12}, &gen, DType::Float64);
  auto run = [&](bool fused) {
    Tensor x = x0.clone().detach().requires_grad_(), w = w0.clone().detach().requires_grad_(),
           b = b0.clone().detach().requires_grad_();
    Tensor y = fused ? layer_norm(x, w, b, 1e-5) : layer_norm_composed(x, w, b, 1e-5);
    y.backward(gy);
    return std::vector<std::vector<double>>{y.to_vector<double>(), x.grad().to_vector<double>(),
                                            w.grad().to_vector<double>(), b.grad().to_vector<double>()};
  };
  auto fused = run(true), composed = run(false);
  for (size_t i = 0; i < fused.size(); ++i) expect_all_near(fused[i], composed[i], 1e-10);
}

TEST(LayerNorm, InputWithoutGradStillGivesParameterGradients) {
  Generator gen(6);
  Tensor x = Tensor::randn({4, 3}, &gen);
  Tensor w = Tensor::ones({3}).requires_grad_(), b = Tensor::zeros({3}).requires_grad_();
  layer_norm(x, w, b).sum().backward();
  EXPECT_FALSE(x.grad().defined());
  // db = sum of g = 4 rows of ones; dw = sum of xhat over rows
  EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{4, 4, 4}));
  std::vector<float> xhat_sum = sum(layer_norm(x, Tensor(), Tensor()), {0}).to_vector<float>();
  std::vector<float> dw = w.grad().to_vector<float>();
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(dw[j], xhat_sum[j], 1e-5);
}

TEST(LayerNorm, SameBitsOnOneAndTwoThreads) {
  ThreadsGuard restore;
  Generator gen(7);
  Tensor x0 = Tensor::randn({500, 64}, &gen), w0 = Tensor::randn({64}, &gen), b0 = Tensor::randn({64}, &gen);
  Tensor gy = Tensor::randn({500, 64}, &gen);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor x = x0.clone().detach().requires_grad_(), w = w0.clone().detach().requires_grad_(),
           b = b0.clone().detach().requires_grad_();
    Tensor y = layer_norm(x, w, b);
    y.backward(gy);
    return std::vector<std::vector<float>>{y.to_vector<float>(), x.grad().to_vector<float>(),
                                           w.grad().to_vector<float>(), b.grad().to_vector<float>()};
  };
  auto one = run(1), two = run(2);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i], two[i]) << "output " << i;
}

TEST(LayerNorm, ErrorsNameTheOpAndShapes) {
  Tensor x = Tensor::zeros({2, 3, 5});
  try {
    layer_norm(x, Tensor::ones({4}), Tensor());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("layer_norm"), std::string::npos) << msg;
    EXPECT_NE(msg.find("weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 3, 5]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4]"), std::string::npos) << msg;
  }
  try {
    layer_norm(x, Tensor(), Tensor::ones({5, 1}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("layer_norm: bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[5, 1]"), std::string::npos) << msg;
  }
  try {
    layer_norm(x, Tensor::ones({5}, DType::Float64), Tensor());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("layer_norm"), std::string::npos) << msg;
    EXPECT_NE(msg.find("float64"), std::string::npos) << msg;
  }
  EXPECT_THROW(layer_norm(Tensor::scalar(1.0), Tensor(), Tensor()), Error);
  EXPECT_THROW(layer_norm(Tensor::zeros({2, 3}, DType::Int64), Tensor(), Tensor()), Error);
}

}  // namespace test_ops_layer_norm
