// Element-wise math (core/ops/unary.cpp): neg, exp, log, sqrt, pow, abs, clamp.
//
// Known values come from the C library applied element by element in the test; gradients are
// checked by gradcheck on inputs kept inside each function's domain and away from kinks (abs at 0,
// clamp at its bounds), where finite differences are not meaningful.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_unary {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// Uniform values in [lo, hi), float64.
Tensor uniform64(const Shape& shape, double lo, double hi, uint64_t seed) {
  Generator gen(seed);
  return Tensor::uniform(shape, lo, hi, &gen, DType::Float64);
}

// Values in [-2, 2) that keep at least `gap` away from each of the points in `avoid`.
Tensor avoiding(const Shape& shape, std::vector<double> avoid, double gap, uint64_t seed) {
  Generator gen(seed);
  Tensor t = Tensor::empty(shape, DType::Float64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    bool ok = false;
    while (!ok) {
      p[i] = gen.uniform(-2.0, 2.0);
      ok = true;
      for (double a : avoid) ok = ok && std::abs(p[i] - a) > gap;
    }
  }
  return t;
}

struct UnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> engine;
  std::function<double(double)> reference;
  double lo, hi;  // the input range to test on
};

std::vector<UnaryCase> smooth_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double v) { return -v; }, -3, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); }, -3, 3},
      {"log", [](const Tensor& x) { return log(x); }, [](double v) { return std::log(v); }, 0.1, 5},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double v) { return std::sqrt(v); }, 0.1, 5},
      {"pow 2", [](const Tensor& x) { return pow(x, 2.0); }, [](double v) { return v * v; }, -3, 3},
      {"pow 3", [](const Tensor& x) { return pow(x, 3.0); }, [](double v) { return v * v * v; }, -3, 3},
      {"pow 0.5", [](const Tensor& x) { return pow(x, 0.5); }, [](double v) { return std::sqrt(v); }, 0.1, 5},
      {"pow -1", [](const Tensor& x) { return pow(x, -1.0); }, [](double v) { return 1.0 / v; }, 0.2, 5},
      {"pow -1.5", [](const Tensor& x) { return pow(x, -1.5); }, [](double v) { return std::pow(v, -1.5); }, 0.2, 5},
  };
}

TEST(OpsUnary, KnownValues) {
  for (const UnaryCase& c : smooth_cases()) {
    SCOPED_TRACE(c.name);
    Tensor x = uniform64({3, 7}, c.lo, c.hi, 1);
    std::vector<double> xs = x.to_vector<double>();
    Tensor y = c.engine(x);
    EXPECT_EQ(y.shape(), x.shape());
    EXPECT_EQ(y.dtype(), DType::Float64);
    std::vector<double> ys = y.to_vector<double>();
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_NEAR(ys[i], c.reference(xs[i]), 1e-12 * (1 + std::abs(ys[i])));
    // float32 within float rounding
    std::vector<float> y32 = c.engine(x.to(DType::Float32)).to_vector<float>();
    for (size_t i = 0; i < xs.size(); ++i)
      EXPECT_NEAR(y32[i], c.reference(static_cast<float>(xs[i])), 1e-5 * (1 + std::abs(ys[i])));
  }
}

TEST(OpsUnary, HandComputedValues) {
  Tensor x = Tensor::from_vector(std::vector<double>{-2, -0.5, 0, 0.5, 3}, {5});
  EXPECT_EQ(abs(x).to_vector<double>(), (std::vector<double>{2, 0.5, 0, 0.5, 3}));
  EXPECT_EQ(clamp(x, -1.0, 1.0).to_vector<double>(), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  EXPECT_EQ(clamp(x, 0.0, std::nullopt).to_vector<double>(), (std::vector<double>{0, 0, 0, 0.5, 3}));
  EXPECT_EQ(clamp(x, std::nullopt, 0.0).to_vector<double>(), (std::vector<double>{-2, -0.5, 0, 0, 0}));
  EXPECT_EQ(clamp(x, std::nullopt, std::nullopt).to_vector<double>(), x.to_vector<double>());
  EXPECT_EQ(pow(x, 2.0).to_vector<double>(), (std::vector<double>{4, 0.25, 0, 0.25, 9}));
  EXPECT_EQ(exp(Tensor::zeros({2})).to_vector<float>(), (std::vector<float>{1, 1}));
  EXPECT_EQ(log(Tensor::ones({2})).to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_EQ(sqrt(Tensor::full({1}, 16.0)).item(), 4.0);
  // float32 clamp keeps float32
  Tensor c32 = clamp(Tensor::from_vector(std::vector<float>{-5, 0.25f, 5}, {3}), -1.0, 1.0);
  EXPECT_EQ(c32.dtype(), DType::Float32);
  EXPECT_EQ(c32.to_vector<float>(), (std::vector<float>{-1, 0.25f, 1}));
}

TEST(OpsUnary, GradcheckSmooth) {
  for (const UnaryCase& c : smooth_cases()) {
    SCOPED_TRACE(c.name);
    auto f = [&c](const std::vector<Tensor>& in) { return c.engine(in[0]); };
    GradcheckResult r = gradcheck(f, {uniform64({2, 3, 4}, c.lo, c.hi, 2)});
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(OpsUnary, GradcheckKinkedAwayFromKinks) {
  auto f_abs = [](const std::vector<Tensor>& in) { return abs(in[0]); };
  GradcheckResult r = gradcheck(f_abs, {avoiding({4, 5}, {0.0}, 0.01, 3)});
  ASSERT_TRUE(r.ok) << r.message;

  auto f_clamp = [](const std::vector<Tensor>& in) { return clamp(in[0], -0.5, 1.0); };
  r = gradcheck(f_clamp, {avoiding({4, 5}, {-0.5, 1.0}, 0.01, 4)});
  ASSERT_TRUE(r.ok) << r.message;

  auto f_clamp_min = [](const std::vector<Tensor>& in) { return clamp(in[0], 0.25, std::nullopt); };
  r = gradcheck(f_clamp_min, {avoiding({4, 5}, {0.25}, 0.01, 5)});
  ASSERT_TRUE(r.ok) << r.message;

  auto f_clamp_max = [](const std::vector<Tensor>& in) { return clamp(in[0], std::nullopt, -0.25); };
  r = gradcheck(f_clamp_max, {avoiding({4, 5}, {-0.25}, 0.01, 6)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsUnary, GradcheckComposition) {
  // a small formula mixing every op, on inputs of different shapes (broadcast in between)
  auto f = [](const std::vector<Tensor>& in) {
    Tensor x = in[0], y = in[1];
    return exp(-x) * log(y) + sqrt(y) / pow(x + 3.0, 1.5) - abs(x) * clamp(y, 0.5, 2.5);
  };
  Tensor x = avoiding({3, 4}, {0.0}, 0.05, 7);
  Tensor y = uniform64({4}, 0.2, 3.0, 8);
  // keep y away from clamp's bounds
  double* py = y.data<double>();
  for (int64_t i = 0; i < 4; ++i)
    if (std::abs(py[i] - 0.5) < 0.05 || std::abs(py[i] - 2.5) < 0.05) py[i] += 0.1;
  GradcheckResult r = gradcheck(f, {x, y});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsUnary, GradientAtKinks) {
  // abs: 0 at 0 (a subgradient, as PyTorch); clamp: 1 on the bounds (inclusive), 0 outside
  Tensor x = Tensor::from_vector(std::vector<double>{-1, 0, 2}, {3}).requires_grad_();
  abs(x).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{-1, 0, 1}));

  Tensor z = Tensor::from_vector(std::vector<double>{-2, -1, 0, 1, 2}, {5}).requires_grad_();
  clamp(z, -1.0, 1.0).sum().backward();
  EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{0, 1, 1, 1, 0}));
}

TEST(OpsUnary, BackwardValuesByHand) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 4}, {2}).requires_grad_();
  sqrt(x).sum().backward();  // 1 / (2 sqrt x)
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0.5, 0.25}));
  x.zero_grad();
  log(x).sum().backward();  // 1 / x
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 0.25}));
  x.zero_grad();
  pow(x, 3.0).sum().backward();  // 3 x^2
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 48}));
  x.zero_grad();
  neg(x).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{-1, -1}));
}

TEST(OpsUnary, Errors) {
  Tensor i = Tensor::from_vector(std::vector<int64_t>{1, 2}, {2});
  EXPECT_TRUE(throws_with([&] { exp(i); }, "exp: expected a float32 or float64 tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { log(i); }, "log: expected a float32 or float64 tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { sqrt(i); }, "sqrt: expected a float32 or float64 tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { pow(i, 2.0); }, "pow: expected a float32 or float64 tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { abs(i); }, "abs: expected a float32 or float64 tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { clamp(i, 0.0, 1.0); }, "clamp: expected a float32 or float64 tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { clamp(Tensor::ones({2}), 2.0, 1.0); }, "clamp: min 2 is larger than max 1"));
  EXPECT_TRUE(throws_with([&] { exp(Tensor()); }, "exp: tensor is undefined"));
}

TEST(OpsUnary, OutsideTheDomainGivesNaNOrInf) {
  // no error: like the C library and PyTorch, log(-1) is NaN and log(0) is -inf
  Tensor x = Tensor::from_vector(std::vector<double>{-1, 0}, {2});
  std::vector<double> y = log(x).to_vector<double>();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isinf(y[1]) && y[1] < 0);
  EXPECT_TRUE(std::isnan(sqrt(x).to_vector<double>()[0]));
}

TEST(OpsUnary, SameResultOnOneAndTwoThreads) {
  Generator gen(9);
  Tensor x = Tensor::uniform({1 << 17}, 0.1, 4.0, &gen);
  std::vector<std::vector<float>> one, two;
  for (int threads : {1, 2}) {
    ThreadsGuard guard(threads);
    auto& out = threads == 1 ? one : two;
    out.push_back(exp(x).to_vector<float>());
    out.push_back(log(x).to_vector<float>());
    out.push_back(pow(x, 1.7).to_vector<float>());
    out.push_back(clamp(x, 1.0, 2.0).to_vector<float>());
  }
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i], two[i]) << "result " << i;
  // the split does not lose or repeat elements: compare against the C library
  std::vector<float> xs = x.to_vector<float>();
  for (size_t i = 0; i < xs.size(); i += 997) ASSERT_FLOAT_EQ(one[0][i], std::exp(xs[i])) << i;
  ASSERT_FLOAT_EQ(one[0].back(), std::exp(xs.back()));
}

}  // namespace test_ops_unary
