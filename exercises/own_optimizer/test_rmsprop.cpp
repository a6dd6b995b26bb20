// Is the RMSprop step right? Three steps on a small problem, against values worked out by hand
// (with the formulas in rmsprop.h, in float64). When a value is off, the message names the worst
// element: which step, which index, your value against the expected one.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "core/ops.h"
#include "rmsprop.h"

using namespace ember;

namespace {

// Passes when t matches `expected` to 1e-9; otherwise names the element that is furthest off.
testing::AssertionResult matches(const Tensor& t, const std::vector<double>& expected, const std::string& what) {
  std::vector<double> got = t.to_vector<double>();
  if (got.size() != expected.size()) {
    return testing::AssertionFailure() << what << ": " << got.size() << " elements, expected " << expected.size();
  }
  auto error_at = [&](size_t i) {  // NaN counts as the worst of all
    double e = std::abs(got[i] - expected[i]);
    return std::isnan(e) ? INFINITY : e;
  };
  size_t worst = 0;
  for (size_t i = 1; i < got.size(); ++i) {
    if (error_at(i) > error_at(worst)) worst = i;
  }
  double error = error_at(worst);
  if (error <= 1e-9) return testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(12);
  os << what << ": worst element is index " << worst << ": yours " << got[worst] << ", expected "
     << expected[worst] << ", error " << error;
  return testing::AssertionFailure() << os.str();
}

// L = sum(c * p^2), so g = 2 c p: three parameters whose gradients differ in scale.
void one_step(Optimizer& opt, const Tensor& p) {
  Tensor c = Tensor::from_vector(std::vector<double>{1.0, 0.5, 3.0}, {3});
  opt.zero_grad();
  Tensor loss = sum(c * p * p);
  loss.backward();
  opt.step();
}

}  // namespace

TEST(RMSprop, FirstStep) {
  Tensor p = Tensor::from_vector(std::vector<double>{1.0, -2.0, 0.5}, {3}).requires_grad_();
  exercise::RMSprop opt({p}, {.lr = 0.1, .alpha = 0.9, .eps = 1e-8});
  one_step(opt, p);
  // g = [2, -2, 3]: square_avg = 0.1 g^2, and every parameter moves by lr / sqrt(0.1) ~ 0.316
  ASSERT_EQ(opt.state(0).buffers.count("square_avg"), 1u) << "update() should keep square_avg in state.buffers";
  EXPECT_TRUE(matches(opt.state(0).buffers.at("square_avg"), {0.4, 0.4, 0.9}, "square_avg after step 1"));
  EXPECT_TRUE(matches(p, {0.683772238983162, -1.683772238983162, 0.18377223731649528}, "p after step 1"));
}

TEST(RMSprop, ThreeSteps) {
  Tensor p = Tensor::from_vector(std::vector<double>{1.0, -2.0, 0.5}, {3}).requires_grad_();
  exercise::RMSprop opt({p}, {.lr = 0.1, .alpha = 0.9, .eps = 1e-8});
  const std::vector<std::vector<double>> expected = {
      {0.683772238983162, -1.683772238983162, 0.18377223731649528},
      {0.498870613507054, -1.4738753207664423, 0.06953148365075358},
      {0.36918056029155966, -1.3087178756333497, 0.024435296272959185}};
  for (size_t step = 0; step < expected.size(); ++step) {
    one_step(opt, p);
    ASSERT_TRUE(matches(p, expected[step], "p after step " + std::to_string(step + 1)));
  }
  EXPECT_TRUE(matches(opt.state(0).buffers.at("square_avg"), {0.5918647665378183, 0.7963888518657716, 0.855826700062155},
                      "square_avg after step 3"));
}

TEST(RMSprop, KeepsTheParameterItself) {
  // The model holds the same tensor as the optimizer: the step must change it in place, in its dtype.
  Tensor p = Tensor::ones({2, 2}).requires_grad_();
  const void* before = p.raw_data();
  exercise::RMSprop opt({p});
  p.sum().backward();
  opt.step();
  EXPECT_EQ(p.raw_data(), before);
  EXPECT_EQ(p.dtype(), DType::Float32);
  EXPECT_LT(p.at({0, 0}), 1.0) << "the step should move p against its gradient";
}
