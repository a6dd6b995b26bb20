// Is softplus right? Known values first (the forward), then gradcheck (the backward).
#include <gtest/gtest.h>

#include <cmath>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"
#include "softplus.h"

using namespace ember;

TEST(Softplus, KnownValues) {
  Tensor x = Tensor::from_vector(std::vector<double>{-2.0, 0.0, 1.0, 3.0}, {4});
  std::vector<double> y = exercise::softplus(x).to_vector<double>();
  std::vector<double> expected = {0.1269280110429725, 0.6931471805599453, 1.3132616875182228, 3.048587351573742};
  ASSERT_EQ(y.size(), expected.size());
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_NEAR(y[i], expected[i], 1e-12) << "softplus(" << x.at({static_cast<int64_t>(i)}) << ")";
  }
}

TEST(Softplus, LargeInputsStayFinite) {
  // log(1 + exp(100)) overflows if computed as written; the stable form gives 100 and ~0.
  Tensor x = Tensor::from_vector(std::vector<float>{100.0f, -100.0f}, {2});
  std::vector<float> y = exercise::softplus(x).to_vector<float>();
  EXPECT_FLOAT_EQ(y[0], 100.0f);
  EXPECT_TRUE(y[1] >= 0.0f && y[1] < 1e-30f) << "softplus(-100) = " << y[1];
}

TEST(Softplus, KeepsTheShape) {
  Tensor x = Tensor::randn({2, 3, 4});
  EXPECT_EQ(exercise::softplus(x).shape(), x.shape());
}

TEST(Softplus, GradientAtZeroIsOneHalf) {
  Tensor x = Tensor::zeros({3}, DType::Float64).requires_grad_();
  exercise::softplus(x).sum().backward();
  ASSERT_TRUE(x.grad().defined()) << "backward gave x no gradient";
  for (double g : x.grad().to_vector<double>()) EXPECT_NEAR(g, 0.5, 1e-12);
}

TEST(Softplus, Gradcheck) {
  // Compares your backward with finite differences, element by element; when they disagree the
  // message names the worst element: which input, its index, analytic (yours) against numeric.
  Generator gen(1);
  Tensor x = Tensor::randn({4, 5}, &gen, DType::Float64) * 3.0;
  GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return exercise::softplus(in[0]); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
}
