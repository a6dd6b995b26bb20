// Is RMSNorm right? Its parameter, known values (the forward), then gradcheck_module (the gradients
// with respect to the input and to the weight).
#include <gtest/gtest.h>

#include <cmath>

#include "core/ops.h"
#include "core/random.h"
#include "layers/gradcheck_module.h"
#include "rms_norm.h"

using namespace ember;

TEST(RMSNorm, RegistersItsWeight) {
  exercise::RMSNorm norm(4);
  auto params = norm.named_parameters();
  ASSERT_EQ(params.size(), 1u) << "RMSNorm should register exactly one parameter, \"weight\"";
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[0].second.shape(), (Shape{4}));
  for (double w : params[0].second.to_vector<double>()) EXPECT_EQ(w, 1.0);
}

TEST(RMSNorm, KnownValues) {
  // rows [1, 2, 3, 4] (rms sqrt(7.5)) and [-3, 0, 0, 4] (rms sqrt(6.25) = 2.5), eps 0
  exercise::RMSNorm norm(4, 0.0);
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, -3, 0, 0, 4}, {2, 4});
  Tensor y = norm(x);
  ASSERT_EQ(y.shape(), x.shape());
  std::vector<float> got = y.to_vector<float>();
  std::vector<float> expected = {0.36514837f, 0.73029674f, 1.0954451f, 1.4605935f, -1.2f, 0.0f, 0.0f, 1.6f};
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-6) << "element " << i;
}

TEST(RMSNorm, WeightScalesEachFeature) {
  exercise::RMSNorm norm(2, 0.0);
  ASSERT_TRUE(norm.weight.defined()) << "register the weight first";
  norm.weight.copy_(Tensor::from_vector(std::vector<float>{2.0f, -1.0f}, {2}));
  std::vector<float> got = norm(Tensor::from_vector(std::vector<float>{3.0f, 4.0f}, {1, 2})).to_vector<float>();
  // rms of [3, 4] is sqrt(12.5)
  EXPECT_NEAR(got[0], 2.0 * 3.0 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(got[1], -1.0 * 4.0 / std::sqrt(12.5), 1e-6);
}

TEST(RMSNorm, GradcheckModule) {
  // Compares the gradients backward() gives (for the input and for the weight) with finite
  // differences; when they disagree the message names the worst element: the input or the
  // parameter 'weight', its index, analytic (from your graph) against numeric.
  Generator gen(3);
  exercise::RMSNorm norm(5);
  norm.to(DType::Float64);  // finite differences need float64
  ASSERT_TRUE(norm.weight.defined()) << "register the weight first";
  norm.weight.copy_(Tensor::uniform({5}, 0.5, 1.5, &gen, DType::Float64));  // not all ones: a harder test
  GradcheckResult r = gradcheck_module(norm, Tensor::randn({3, 5}, &gen, DType::Float64));
  EXPECT_TRUE(r.ok) << r.message;
}
