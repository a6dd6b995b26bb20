// gradcheck itself (core/gradcheck.cpp): a test that only ever sees correct ops would pass a
// gradcheck that checks nothing. So here ops are built by hand with ember::record, with a backward
// that is right, or wrong on purpose in one known element, and gradcheck must tell which.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"

using namespace ember;

namespace test_gradcheck {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// dx given the incoming gradient g and the saved input x
using SquareBackward = std::function<Tensor(const Tensor& g, const Tensor& x)>;

// y = x^2 element-wise, computed without history, with the backward supplied by the test.
Tensor square(const Tensor& x, SquareBackward backward) {
  Tensor x_saved = x.detach();
  Tensor y = x_saved * x_saved;
  record(y, "square", {x}, [x_saved, backward](const Tensor& g) { return std::vector<Tensor>{backward(g, x_saved)}; });
  return y;
}

Tensor right_square_backward(const Tensor& g, const Tensor& x) { return g * x * 2.0; }

// The right gradient plus `delta` at one flat index.
SquareBackward off_at(int64_t index, double delta) {
  return [index, delta](const Tensor& g, const Tensor& x) {
    Tensor dx = (g * x * 2.0).clone();
    dx.data<double>()[index] += delta;
    return dx;
  };
}

// y = a * b (same shapes), backward chosen by the test for each input.
Tensor product(const Tensor& a, const Tensor& b, SquareBackward da_wrong_by, SquareBackward db_wrong_by) {
  Tensor a_saved = a.detach(), b_saved = b.detach();
  Tensor y = a_saved * b_saved;
  record(y, "product", {a, b}, [=](const Tensor& g) {
    return std::vector<Tensor>{da_wrong_by(g, b_saved), db_wrong_by(g, a_saved)};
  });
  return y;
}

TEST(Gradcheck, PassesForARightBackward) {
  auto f = [](const std::vector<Tensor>& in) { return square(in[0], right_square_backward); };
  GradcheckResult r = gradcheck(f, {randn64({3, 4}, 1)});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_NE(r.message.find("gradcheck passed"), std::string::npos) << r.message;
  EXPECT_LE(r.error, 1e-5);
}

TEST(Gradcheck, NamesTheWorstElementOfAWrongBackward) {
  // right everywhere except input 0, flat index 5, which is 0.5 too large
  auto f = [](const std::vector<Tensor>& in) { return square(in[0], off_at(5, 0.5)); };
  Tensor x = randn64({3, 4}, 2);
  GradcheckResult r = gradcheck(f, {x});
  ASSERT_FALSE(r.ok) << r.message;
  EXPECT_EQ(r.input, 0);
  EXPECT_EQ(r.index, 5);
  EXPECT_NEAR(r.analytic - r.numeric, 0.5, 1e-6);
  EXPECT_NEAR(r.error, 0.5, 1e-6);
  EXPECT_NE(r.message.find("gradcheck FAILED: worst element is input 0 index 5 (shape [3, 4])"), std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("analytic"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("numeric"), std::string::npos) << r.message;
}

TEST(Gradcheck, NamesTheRightInput) {
  // input 0's gradient is right, input 1's is wrong at index 2
  SquareBackward right = [](const Tensor& g, const Tensor& other) { return g * other; };
  SquareBackward wrong = [](const Tensor& g, const Tensor& other) {
    Tensor d = (g * other).clone();
    d.data<double>()[2] -= 1.0;
    return d;
  };
  auto f = [&](const std::vector<Tensor>& in) { return product(in[0], in[1], right, wrong); };
  GradcheckResult r = gradcheck(f, {randn64({2, 3}, 3), randn64({2, 3}, 4)});
  ASSERT_FALSE(r.ok) << r.message;
  EXPECT_EQ(r.input, 1);
  EXPECT_EQ(r.index, 2);
  EXPECT_NE(r.message.find("input 1 index 2 (shape [2, 3])"), std::string::npos) << r.message;
  // and with both right it passes
  auto g = [&](const std::vector<Tensor>& in) { return product(in[0], in[1], right, right); };
  r = gradcheck(g, {randn64({2, 3}, 3), randn64({2, 3}, 4)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, CatchesAWrongFactorEverywhere) {
  // a classic mistake: forgetting the 2 in d(x^2)/dx
  auto f = [](const std::vector<Tensor>& in) {
    return square(in[0], [](const Tensor& g, const Tensor& x) { return g * x; });
  };
  GradcheckResult r = gradcheck(f, {randn64({5}, 5)});
  ASSERT_FALSE(r.ok) << r.message;
  EXPECT_NEAR(r.analytic, r.numeric / 2, 1e-6);
}

TEST(Gradcheck, CatchesAMissingGradient) {
  // a backward that forgets an input it depends on: the analytic gradient is taken as 0
  auto f = [](const std::vector<Tensor>& in) {
    return square(in[0], [](const Tensor&, const Tensor&) { return Tensor(); });
  };
  GradcheckResult r = gradcheck(f, {randn64({4}, 6)});
  ASSERT_FALSE(r.ok) << r.message;
  EXPECT_EQ(r.analytic, 0.0);
}

TEST(Gradcheck, CatchesAWrongOutputElementThroughTheProbe) {
  // y = x (shape [4]) but the backward drops the gradient of output element 3: visible because the
  // loss weights every output element by a random factor
  auto f = [](const std::vector<Tensor>& in) {
    Tensor y = in[0].detach().clone();
    record(y, "leaky_identity", {in[0]}, [](const Tensor& g) {
      Tensor d = g.clone();
      d.data<double>()[3] = 0;
      return std::vector<Tensor>{d};
    });
    return y;
  };
  GradcheckResult r = gradcheck(f, {randn64({4}, 7)});
  ASSERT_FALSE(r.ok) << r.message;
  EXPECT_EQ(r.index, 3);
}

TEST(Gradcheck, ToleranceIsRespected) {
  // an error of 1e-7 passes the default atol 1e-5; with atol = rtol = 0 (almost) it fails
  auto f = [](const std::vector<Tensor>& in) { return square(in[0], off_at(1, 1e-7)); };
  Tensor x = randn64({3}, 8);
  GradcheckResult r = gradcheck(f, {x});
  ASSERT_TRUE(r.ok) << r.message;
  GradcheckOptions strict;
  strict.atol = 1e-12;
  strict.rtol = 1e-12;
  r = gradcheck(f, {x}, strict);
  ASSERT_FALSE(r.ok) << r.message;
  EXPECT_EQ(r.index, 1);
}

TEST(Gradcheck, LargeInputsAreSampledButStillCaught) {
  // 2000 elements, 400 checked: a backward wrong everywhere is still caught, quickly
  auto f = [](const std::vector<Tensor>& in) {
    return square(in[0], [](const Tensor& g, const Tensor& x) { return g * x * 2.1; });
  };
  Tensor x = randn64({2000}, 9);
  GradcheckResult r = gradcheck(f, {x});
  ASSERT_FALSE(r.ok) << r.message;
  EXPECT_GE(r.index, 0);
  EXPECT_LT(r.index, 2000);
  // the same seed gives the same verdict and the same worst element
  GradcheckResult again = gradcheck(f, {x});
  EXPECT_EQ(again.index, r.index);
  EXPECT_EQ(again.analytic, r.analytic);
  EXPECT_EQ(again.numeric, r.numeric);
  // a right backward on the same large input passes
  auto g = [](const std::vector<Tensor>& in) { return square(in[0], right_square_backward); };
  r = gradcheck(g, {x});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, LeavesTheCallersInputsAlone) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
  auto f = [](const std::vector<Tensor>& in) {
    EXPECT_EQ(in[0].dtype(), DType::Float64);  // float32 inputs arrive as float64 copies
    return square(in[0], right_square_backward);
  };
  GradcheckResult r = gradcheck(f, {x});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{1, 2, 3}));
  EXPECT_FALSE(x.requires_grad());
  EXPECT_FALSE(x.grad().defined());
}

TEST(Gradcheck, Int64InputsPassThrough) {
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{1, 1, 0}, {3});
  auto f = [](const std::vector<Tensor>& in) {
    EXPECT_EQ(in[1].dtype(), DType::Int64);
    EXPECT_FALSE(in[1].requires_grad());
    return index_select(in[0], in[1]);
  };
  GradcheckResult r = gradcheck(f, {randn64({2, 3}, 10), idx});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.input, 0);
}

TEST(Gradcheck, ReportsWhatItCannotCheck) {
  // only integer inputs: nothing to check, and it says so rather than passing
  auto f = [](const std::vector<Tensor>& in) { return in[0].to(DType::Float64) * 2.0; };
  GradcheckResult r = gradcheck(f, {Tensor::from_vector(std::vector<int64_t>{1, 2}, {2})});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("gradcheck: no input requires a gradient"), std::string::npos) << r.message;
  // a function that does not depend on its input has gradient zero, and that is right
  auto constant = [](const std::vector<Tensor>&) { return Tensor::ones({2}, DType::Float64); };
  r = gradcheck(constant, {randn64({2}, 11)});
  EXPECT_TRUE(r.ok) << r.message;
  // the function must keep float64: float32 finite differences would be noise
  auto to32 = [](const std::vector<Tensor>& in) { return in[0].to(DType::Float32); };
  EXPECT_TRUE(throws_with([&] { gradcheck(to32, {randn64({2}, 12)}); },
                          "gradcheck: the function returned float32 for float64 inputs"));
  auto to_int = [](const std::vector<Tensor>& in) { return argmax(in[0], 0); };
  EXPECT_TRUE(throws_with([&] { gradcheck(to_int, {randn64({2}, 13)}); },
                          "gradcheck: the function must return a float tensor"));
}

}  // namespace test_gradcheck
