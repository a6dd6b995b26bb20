// max_pool2d, avg_pool2d and global_avg_pool2d: values against naive loops and by hand, gradients
// against finite differences (overlapping windows, padding), and error messages.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_pool {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

struct PoolCase {
  const char* name;
  int64_t N, C, H, W, kernel, stride, padding;
};

const std::vector<PoolCase> kCases = {
    {"2x2_stride2", 2, 3, 6, 8, 2, 2, 0},
    {"3x3_stride2_pad1_overlapping", 2, 2, 7, 7, 3, 2, 1},
    {"3x3_stride1_pad1", 1, 2, 5, 6, 3, 1, 1},
    {"3x3_stride3_leftover", 1, 1, 8, 10, 3, 3, 0},  // the last row/column of the input is not covered
    {"4x4_stride1_pad2", 2, 1, 4, 5, 4, 1, 2},
};

// Straight from the definition, for one [N, C, H, W] tensor. max: padding never wins; avg: the
// divisor is always kernel*kernel (padding counts as zeros).
std::vector<double> naive_pool(const std::vector<double>& x, const PoolCase& c, bool is_max) {
  const int64_t OH = (c.H + 2 * c.padding - c.kernel) / c.stride + 1;
  const int64_t OW = (c.W + 2 * c.padding - c.kernel) / c.stride + 1;
  std::vector<double> y;
  for (int64_t plane = 0; plane < c.N * c.C; ++plane)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        for (int64_t i = 0; i < c.kernel; ++i)
          for (int64_t j = 0; j < c.kernel; ++j) {
            int64_t h = oh * c.stride - c.padding + i, w = ow * c.stride - c.padding + j;
            if (h < 0 || h >= c.H || w < 0 || w >= c.W) continue;
            double v = x[(plane * c.H + h) * c.W + w];
            best = std::max(best, v);
            sum += v;
          }
        y.push_back(is_max ? best : sum / double(c.kernel * c.kernel));
      }
  return y;
}

TEST(MaxPool2d, HandComputedExample) {
  // 4x4 input, 2x2 windows with stride 2: the max of each quarter.
  Tensor x = Tensor::from_vector(std::vector<float>{1, 5, 2, 0,  //
                                                    3, 4, 8, 1,  //
                                                    0, 0, 7, 6,  //
                                                    9, 2, 3, 7},
                                 {1, 1, 4, 4})
                 .requires_grad_();
  Tensor y = max_pool2d(x, 2);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{5, 8, 9, 7}));
  // The gradient goes to the winners only; on the tie in the last window (7 and 7) to the first.
  y.backward(Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {1, 1, 2, 2}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0, 1, 0, 0,  //
                                                             0, 0, 2, 0,  //
                                                             0, 0, 4, 0,  //
                                                             3, 0, 0, 0}));
}

TEST(MaxPool2d, OverlappingWindowsAddTheirGradients) {
  // 3x3 windows with stride 1 on a 4x4 input: the global maximum at (1, 1) wins all 4 windows.
  std::vector<float> v(16, 0.0f);
  v[1 * 4 + 1] = 10;
  Tensor x = Tensor::from_vector(v, {1, 1, 4, 4}).requires_grad_();
  Tensor y = max_pool2d(x, 3, 1);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{10, 10, 10, 10}));
  y.sum().backward();
  EXPECT_EQ(x.grad().at({0, 0, 1, 1}), 4.0);
  EXPECT_EQ(x.grad().sum().item(), 4.0);
}

TEST(MaxPool2d, PaddingIsMinusInfinity) {
  // All inputs negative: a zero padding would win at the borders; -inf padding never does.
  Tensor x = Tensor::full({1, 1, 2, 2}, -3.0);
  Tensor y = max_pool2d(x, 2, 1, 1);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(y.to_vector<float>(), std::vector<float>(9, -3.0f));
}

TEST(MaxPool2d, MatchesNaiveAndGradcheck) {
  Generator gen(1);
  for (const PoolCase& c : kCases) {
    SCOPED_TRACE(c.name);
    Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, &gen, DType::Float64);
    std::vector<double> expected = naive_pool(x.to_vector<double>(), c, true);
    EXPECT_EQ(max_pool2d(x, c.kernel, c.stride, c.padding).to_vector<double>(), expected);
    EXPECT_EQ(max_pool2d(x.to(DType::Float32), c.kernel, c.stride, c.padding).to_vector<float>(),
              std::vector<float>(expected.begin(), expected.end()));
    // Random normals have no ties, so the max is differentiable at these points.
    GradcheckResult r = gradcheck(
        [&](const std::vector<Tensor>& in) { return max_pool2d(in[0], c.kernel, c.stride, c.padding); }, {x});
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(AvgPool2d, HandComputedExampleCountsPadding) {
  // x = 1..9 as 3x3, 3x3 windows, stride 2, padding 1 -> 2x2 outputs, each window centred on a
  // corner: it sees 4 pixels and 5 zeros of padding, and divides by 9.
  Tensor x = Tensor::arange(1, 10).reshape({1, 1, 3, 3});
  Tensor y = avg_pool2d(x, 3, 2, 1);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  std::vector<float> got = y.to_vector<float>();
  std::vector<float> expected = {(1 + 2 + 4 + 5) / 9.0f, (2 + 3 + 5 + 6) / 9.0f, (4 + 5 + 7 + 8) / 9.0f,
                                 (5 + 6 + 8 + 9) / 9.0f};
  for (size_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(got[i], expected[i]);
}

TEST(AvgPool2d, MatchesNaiveAndGradcheck) {
  Generator gen(2);
  for (const PoolCase& c : kCases) {
    SCOPED_TRACE(c.name);
    Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, &gen, DType::Float64);
    std::vector<double> expected = naive_pool(x.to_vector<double>(), c, false);
    std::vector<double> got = avg_pool2d(x, c.kernel, c.stride, c.padding).to_vector<double>();
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-12) << "element " << i;
    GradcheckResult r = gradcheck(
        [&](const std::vector<Tensor>& in) { return avg_pool2d(in[0], c.kernel, c.stride, c.padding); }, {x});
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(GlobalAvgPool2d, ValuesAndGradient) {
  Tensor x = Tensor::arange(0, 2 * 3 * 2 * 2).reshape({2, 3, 2, 2});
  Tensor y = global_avg_pool2d(x);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  // plane p holds 4p, 4p+1, 4p+2, 4p+3: the mean is 4p + 1.5
  std::vector<float> expected;
  for (int p = 0; p < 6; ++p) expected.push_back(4 * p + 1.5f);
  EXPECT_EQ(y.to_vector<float>(), expected);

  Generator gen(3);
  GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
                                {Tensor::randn({2, 3, 5, 4}, &gen, DType::Float64)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Pool2d, SameResultOnOneAndTwoThreads) {
  const int saved_threads = get_num_threads();
  Generator gen(4);
  Tensor x = Tensor::randn({8, 16, 28, 28}, &gen);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor xl = x.detach().requires_grad_();
    Tensor y = max_pool2d(xl, 3, 2, 1) + avg_pool2d(xl, 3, 2, 1);
    y.sum().backward();
    return std::pair{y.to_vector<float>(), xl.grad().to_vector<float>()};
  };
  auto one = run(1), two = run(2);
  set_num_threads(saved_threads);
  EXPECT_EQ(one.first, two.first);
  EXPECT_EQ(one.second, two.second);
}

TEST(Pool2d, ErrorsNameTheOpAndShapes) {
  std::string e = error_of([] { max_pool2d(Tensor::zeros({3, 8, 8}), 2); });
  EXPECT_NE(e.find("max_pool2d: input must be [N, C, H, W], got [3, 8, 8]"), std::string::npos) << e;

  e = error_of([] { avg_pool2d(Tensor::zeros({1, 1, 8, 8}), 3, 1, 2); });
  EXPECT_NE(e.find("avg_pool2d: padding 2 is more than half the kernel 3"), std::string::npos) << e;

  e = error_of([] { max_pool2d(Tensor::zeros({1, 2, 2, 2}), 3); });
  EXPECT_NE(e.find("max_pool2d: a 3x3 window with padding 0 does not fit input [1, 2, 2, 2]"), std::string::npos) << e;

  e = error_of([] { avg_pool2d(Tensor::zeros({1, 1, 4, 4}), 0); });
  EXPECT_NE(e.find("avg_pool2d: need kernel >= 1"), std::string::npos) << e;

  e = error_of([] { global_avg_pool2d(Tensor::zeros({2, 3})); });
  EXPECT_NE(e.find("global_avg_pool2d: input must be [N, C, H, W], got [2, 3]"), std::string::npos) << e;

  e = error_of([] { max_pool2d(Tensor::zeros({1, 1, 4, 4}, DType::Int64), 2); });
  EXPECT_NE(e.find("max_pool2d: expected a float32 or float64 tensor, got int64"), std::string::npos) << e;
}

}  // namespace test_ops_pool
