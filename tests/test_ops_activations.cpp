// Activations: relu, leaky_relu, sigmoid, tanh, gelu (exact and tanh form).
// Every op: a gradient check in float64, known values computed independently, and its errors.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <functional>
#include <limits>
#include <numbers>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/ops/fast_erfc.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_activations {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// Uniform values in [-3, 3], nudged at least `gap` away from 0: finite differences straddling the
// kink of relu and leaky_relu would give a gradient that is neither side's.
Tensor away_from_zero(const Shape& shape, uint64_t seed, double gap = 0.05) {
  Generator gen(seed);
  Tensor t = Tensor::uniform(shape, -3.0, 3.0, &gen, DType::Float64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::abs(p[i]) < gap) p[i] = p[i] < 0 ? -gap : gap;
  return t;
}

// Runs fn on float64 values [-4, 4] in steps, and compares with a scalar reference.
void expect_matches(const std::function<Tensor(const Tensor&)>& fn, const std::function<double(double)>& ref) {
  Tensor x = Tensor::arange(-4.0, 4.0, 0.25, DType::Float64);
  std::vector<double> y = fn(x).to_vector<double>();
  std::vector<double> xs = x.to_vector<double>();
  for (size_t i = 0; i < xs.size(); ++i) EXPECT_NEAR(y[i], ref(xs[i]), 1e-12) << "at x = " << xs[i];
  // float32 gives the same values to float precision
  std::vector<double> y32 = fn(x.to(DType::Float32)).to_vector<double>();
  for (size_t i = 0; i < xs.size(); ++i) EXPECT_NEAR(y32[i], y[i], 1e-5 * (1 + std::abs(y[i]))) << "at x = " << xs[i];
}

TEST(Relu, KnownValuesAndGradient) {
  Tensor x = Tensor::from_vector(std::vector<double>{-2, -0.5, 0, 0.5, 3}, {5});
  x.requires_grad_();
  Tensor y = relu(x);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 0, 0, 0.5, 3}));
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0, 0, 1, 1}));  // 0 at the kink
  expect_matches([](const Tensor& t) { return relu(t); }, [](double v) { return v > 0 ? v : 0.0; });
}

TEST(Relu, Gradcheck) {
  auto f = [](const std::vector<Tensor>& in) { return relu(in[0]); };
  GradcheckResult r = gradcheck(f, {away_from_zero({4, 6}, 1)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Relu, LargeTensorUsesThreadsAndMatchesLoop) {
  Generator gen(3);
  Tensor x = Tensor::randn({300000}, &gen);  // many parallel_for chunks
  std::vector<float> y = relu(x).to_vector<float>();
  std::vector<float> xs = x.to_vector<float>();
  for (size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(y[i], xs[i] > 0 ? xs[i] : 0.0f) << i;
}

TEST(LeakyRelu, KnownValuesAndGradcheck) {
  expect_matches([](const Tensor& t) { return leaky_relu(t); }, [](double v) { return v > 0 ? v : 0.01 * v; });
  expect_matches([](const Tensor& t) { return leaky_relu(t, 0.2); }, [](double v) { return v > 0 ? v : 0.2 * v; });
  for (double slope : {0.01, 0.2, -0.5}) {
    auto f = [slope](const std::vector<Tensor>& in) { return leaky_relu(in[0], slope); };
    GradcheckResult r = gradcheck(f, {away_from_zero({3, 5}, 2)});
    ASSERT_TRUE(r.ok) << "slope " << slope << ": " << r.message;
  }
}

TEST(Sigmoid, KnownValuesAndGradcheck) {
  expect_matches([](const Tensor& t) { return sigmoid(t); }, [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
  EXPECT_DOUBLE_EQ(sigmoid(Tensor::scalar(0.0, DType::Float64)).item(), 0.5);
  // no overflow at the extremes, in either precision
  for (DType dt : {DType::Float32, DType::Float64}) {
    std::vector<double> y = sigmoid(Tensor::from_vector(std::vector<double>{-1000, 1000}, {2}).to(dt)).to_vector<double>();
    EXPECT_EQ(y[0], 0.0);
    EXPECT_EQ(y[1], 1.0);
  }
  Generator gen(7);
  auto f = [](const std::vector<Tensor>& in) { return sigmoid(in[0]); };
  GradcheckResult r = gradcheck(f, {Tensor::uniform({4, 5}, -6, 6, &gen, DType::Float64)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Tanh, KnownValuesAndGradcheck) {
  expect_matches([](const Tensor& t) { return ember::tanh(t); }, [](double v) { return std::tanh(v); });
  Generator gen(4);
  auto f = [](const std::vector<Tensor>& in) { return ember::tanh(in[0]); };
  GradcheckResult r = gradcheck(f, {Tensor::uniform({2, 3, 4}, -3, 3, &gen, DType::Float64)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Gelu, KnownValues) {
  // gelu(1) = Phi(1) = 0.8413447460685429;  gelu(-1) = -(1 - Phi(1))
  Tensor x = Tensor::from_vector(std::vector<double>{1.0, -1.0, 0.0}, {3});
  std::vector<double> exact = gelu(x).to_vector<double>();
  EXPECT_NEAR(exact[0], 0.8413447460685429, 1e-15);
  EXPECT_NEAR(exact[1], -0.15865525393145707, 1e-15);
  EXPECT_EQ(exact[2], 0.0);
  std::vector<double> approx = gelu(x, /*approximate=*/true).to_vector<double>();
  EXPECT_NEAR(approx[0], 0.8411919906082768, 1e-15);
  EXPECT_NEAR(approx[1], 0.8411919906082768 - 1.0, 1e-15);  // both forms: gelu(x) - gelu(-x) = x
  expect_matches([](const Tensor& t) { return gelu(t); },
                 [](double v) { return v * 0.5 * std::erfc(-v / std::sqrt(2.0)); });
  expect_matches([](const Tensor& t) { return gelu(t, true); }, [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
  });
}

TEST(Gelu, GradcheckBothForms) {
  Generator gen(5);
  Tensor x = Tensor::uniform({5, 6}, -4, 4, &gen, DType::Float64);
  for (bool approximate : {false, true}) {
    auto f = [approximate](const std::vector<Tensor>& in) { return gelu(in[0], approximate); };
    GradcheckResult r = gradcheck(f, {x});
    ASSERT_TRUE(r.ok) << (approximate ? "tanh form: " : "exact: ") << r.message;
  }
}

// fast_erfc: the vectorisable erfc behind the float32 exact GELU (core/ops/fast_erfc.h)
TEST(FastErfc, MatchesStdErfcOnAFineGrid) {
  double worst_abs = 0, worst_rel_4 = 0, worst_rel_9 = 0;
  for (int i = -100000; i <= 100000; ++i) {
    const float x = static_cast<float>(i * 1e-4);  // [-10, 10]
    const double exact = std::erfc(static_cast<double>(x));
    const double err = std::abs(static_cast<double>(fast_erfc(x)) - exact);
    worst_abs = std::max(worst_abs, err);
    if (std::abs(x) <= 4) worst_rel_4 = std::max(worst_rel_4, err / exact);
    if (std::abs(x) <= 9.1f) worst_rel_9 = std::max(worst_rel_9, err / exact);
  }
  EXPECT_LT(worst_abs, 5e-7);
  EXPECT_LT(worst_rel_4, 2e-6);
  EXPECT_LT(worst_rel_9, 1e-5);
  EXPECT_EQ(fast_erfc(std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(fast_erfc(-std::numeric_limits<float>::infinity()), 2.0f);
  EXPECT_TRUE(std::isnan(fast_erfc(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(fast_erfc(0.5), std::erfc(0.5));  // float64 is std::erfc itself
}

TEST(Gelu, Float32ForwardAndBackwardMatchFloat64) {
  // float32 runs fast_erfc / fast_exp, float64 std::erfc / std::exp: the same function
  Generator gen(8);
  Tensor x64 = Tensor::uniform({4096}, -8, 8, &gen, DType::Float64);
  Tensor x32 = x64.to(DType::Float32);
  x64.requires_grad_();
  x32.requires_grad_();
  Tensor y64 = gelu(x64), y32 = gelu(x32);
  (y64 * y64).sum().backward();  // a gradient that differs per element: 2 y
  (y32 * y32).sum().backward();
  std::vector<double> a = y64.to_vector<double>(), b = y32.to_vector<double>();
  std::vector<double> ga = x64.grad().to_vector<double>(), gb = x32.grad().to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(b[i], a[i], 2e-6 * (1 + std::abs(a[i]))) << "forward at x = " << x64.to_vector<double>()[i];
    ASSERT_NEAR(gb[i], ga[i], 1e-5 * (1 + std::abs(ga[i]))) << "backward at x = " << x64.to_vector<double>()[i];
  }
}

TEST(Activations, ChainedGradientFlowsThroughAll) {
  // a small composition, checked as a whole: the backward functions agree with each other
  auto f = [](const std::vector<Tensor>& in) {
    Tensor h = gelu(in[0] * 0.7, true);
    return sigmoid(ember::tanh(h) + leaky_relu(in[0], 0.3));
  };
  GradcheckResult r = gradcheck(f, {away_from_zero({3, 4}, 6)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Activations, ErrorsNameTheOp) {
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 2, 3}, {3});
  struct Case {
    const char* op;
    std::function<void()> call;
  };
  std::vector<Case> cases = {
      {"relu", [&] { relu(ids); }},
      {"leaky_relu", [&] { leaky_relu(ids); }},
      {"sigmoid", [&] { sigmoid(ids); }},
      {"tanh", [&] { ember::tanh(ids); }},
      {"gelu", [&] { gelu(ids); }},
  };
  for (const Case& c : cases) {
    std::string msg = error_of(c.call);
    EXPECT_NE(msg.find(std::string(c.op) + ": expected a float32 or float64 tensor, got int64"), std::string::npos)
        << c.op << ": " << msg;
  }
  EXPECT_NE(error_of([] { relu(Tensor()); }).find("relu: tensor is undefined"), std::string::npos);
}

}  // namespace test_ops_activations
