// batch_norm: values against a naive per-channel computation, running statistics over two
// training steps by hand, eval mode, gradients against finite differences, and error messages.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_batch_norm {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// Mean and variance of channel c of x viewed as [N, C, S]; `unbiased` divides by M - 1.
struct Stats {
  double mean, var;
};
Stats channel_stats(const std::vector<double>& x, int64_t N, int64_t C, int64_t S, int64_t c, bool unbiased) {
  double sum = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) sum += x[(n * C + c) * S + s];
  const double M = double(N * S), mean = sum / M;
  double sq = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) sq += (x[(n * C + c) * S + s] - mean) * (x[(n * C + c) * S + s] - mean);
  return {mean, sq / (unbiased ? M - 1 : M)};
}

TEST(BatchNorm, HandComputedExample) {
  // One channel, values 1, 2, 3, 4 (N = 4): mean 2.5, biased var 1.25.
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {4, 1});
  Tensor rm = Tensor::zeros({1}, DType::Float64), rv = Tensor::ones({1}, DType::Float64);
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), /*training=*/true, 0.1, 0.0);
  const double s = std::sqrt(1.25);
  std::vector<double> got = y.to_vector<double>();
  std::vector<double> expected = {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(got[i], expected[i], 1e-12);
  // running_mean = 0.9 * 0 + 0.1 * 2.5; running_var = 0.9 * 1 + 0.1 * (5 / 3), unbiased = 5 / 3
  EXPECT_NEAR(rm.item(), 0.25, 1e-12);
  EXPECT_NEAR(rv.item(), 0.9 + 0.1 * 5.0 / 3.0, 1e-12);
}

TEST(BatchNorm, TrainingMatchesNaive2dAnd4d) {
  Generator gen(1);
  for (Shape shape : {Shape{6, 3}, Shape{3, 4, 5, 7}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t N = shape[0], C = shape[1], S = shape.size() == 4 ? shape[2] * shape[3] : 1;
    Tensor x = Tensor::randn(shape, &gen, DType::Float64) * 2.0 + 1.0;
    Tensor w = Tensor::randn({C}, &gen, DType::Float64), b = Tensor::randn({C}, &gen, DType::Float64);
    Tensor rm = Tensor::zeros({C}, DType::Float64), rv = Tensor::ones({C}, DType::Float64);
    std::vector<double> y = batch_norm(x, rm, rv, w, b, true).to_vector<double>();
    std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
    for (int64_t c = 0; c < C; ++c) {
      Stats st = channel_stats(xv, N, C, S, c, false);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t s = 0; s < S; ++s) {
          int64_t i = (n * C + c) * S + s;
          double expected = (xv[i] - st.mean) / std::sqrt(st.var + 1e-5) * wv[c] + bv[c];
          ASSERT_NEAR(y[i], expected, 1e-10) << "element " << i;
        }
    }
    // float32 agrees too
    Tensor rm32 = Tensor::zeros({C}), rv32 = Tensor::ones({C});
    std::vector<float> y32 =
        batch_norm(x.to(DType::Float32), rm32, rv32, w.to(DType::Float32), b.to(DType::Float32), true).to_vector<float>();
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y32[i], y[i], 1e-4 * (1 + std::abs(y[i])));
  }
}

TEST(BatchNorm, RunningStatisticsAfterTwoSteps) {
  // momentum 0.3: after each step, running = 0.7 running + 0.3 batch (unbiased variance).
  Generator gen(2);
  const int64_t N = 4, C = 3, H = 2, W = 3, S = H * W;
  const double momentum = 0.3;
  Tensor rm = Tensor::zeros({C}), rv = Tensor::ones({C});  // float32 buffers
  std::vector<double> expected_mean(C, 0.0), expected_var(C, 1.0);
  for (int step = 0; step < 2; ++step) {
    Tensor x = Tensor::randn({N, C, H, W}, &gen) * (step + 1.0) + 0.5;
    batch_norm(x, rm, rv, Tensor(), Tensor(), /*training=*/true, momentum);
    std::vector<double> xv = x.to_vector<double>();
    for (int64_t c = 0; c < C; ++c) {
      Stats st = channel_stats(xv, N, C, S, c, /*unbiased=*/true);
      expected_mean[c] = (1 - momentum) * expected_mean[c] + momentum * st.mean;
      expected_var[c] = (1 - momentum) * expected_var[c] + momentum * st.var;
    }
  }
  std::vector<float> got_mean = rm.to_vector<float>(), got_var = rv.to_vector<float>();
  for (int64_t c = 0; c < C; ++c) {
    EXPECT_NEAR(got_mean[c], expected_mean[c], 1e-5) << "channel " << c;
    EXPECT_NEAR(got_var[c], expected_var[c], 1e-5) << "channel " << c;
  }
}

TEST(BatchNorm, EvalUsesRunningStatistics) {
  Generator gen(3);
  Tensor x = Tensor::randn({5, 2, 3, 3}, &gen, DType::Float64);
  Tensor rm = Tensor::from_vector(std::vector<double>{0.5, -1.0}, {2});
  Tensor rv = Tensor::from_vector(std::vector<double>{4.0, 0.25}, {2});
  Tensor w = Tensor::from_vector(std::vector<double>{2.0, 3.0}, {2});
  Tensor b = Tensor::from_vector(std::vector<double>{0.1, -0.2}, {2});
  std::vector<double> y = batch_norm(x, rm, rv, w, b, /*training=*/false, 0.1, 0.0).to_vector<double>();
  std::vector<double> xv = x.to_vector<double>();
  const double mean[2] = {0.5, -1.0}, stdev[2] = {2.0, 0.5}, weight[2] = {2.0, 3.0}, bias[2] = {0.1, -0.2};
  for (size_t i = 0; i < xv.size(); ++i) {
    int64_t c = (i / 9) % 2;
    EXPECT_NEAR(y[i], (xv[i] - mean[c]) / stdev[c] * weight[c] + bias[c], 1e-12) << "element " << i;
  }
  // eval does not touch the running statistics
  EXPECT_EQ(rm.to_vector<double>(), (std::vector<double>{0.5, -1.0}));
  EXPECT_EQ(rv.to_vector<double>(), (std::vector<double>{4.0, 0.25}));
}

TEST(BatchNorm, GradcheckTraining) {
  Generator gen(4);
  for (Shape shape : {Shape{5, 3}, Shape{3, 4, 3, 5}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t C = shape[1];
    Tensor rm = Tensor::zeros({C}, DType::Float64), rv = Tensor::ones({C}, DType::Float64);
    Tensor x = Tensor::randn(shape, &gen, DType::Float64) * 1.5 + 0.3;
    Tensor w = Tensor::randn({C}, &gen, DType::Float64), b = Tensor::randn({C}, &gen, DType::Float64);
    // with weight and bias
    GradcheckResult r = gradcheck(
        [&](const std::vector<Tensor>& in) { return batch_norm(in[0], rm, rv, in[1], in[2], true); }, {x, w, b});
    ASSERT_TRUE(r.ok) << r.message;
    // without weight and bias (affine=False)
    r = gradcheck([&](const std::vector<Tensor>& in) { return batch_norm(in[0], rm, rv, Tensor(), Tensor(), true); },
                  {x});
    ASSERT_TRUE(r.ok) << r.message;
    // without running statistics (track_running_stats=False)
    r = gradcheck(
        [&](const std::vector<Tensor>& in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], Tensor(), true); },
        {x, w});
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(BatchNorm, GradcheckEval) {
  Generator gen(5);
  Tensor rm = Tensor::from_vector(std::vector<double>{0.2, -0.4, 1.0}, {3});
  Tensor rv = Tensor::from_vector(std::vector<double>{1.5, 0.5, 2.0}, {3});
  Tensor x = Tensor::randn({4, 3, 2, 3}, &gen, DType::Float64);
  Tensor w = Tensor::randn({3}, &gen, DType::Float64), b = Tensor::randn({3}, &gen, DType::Float64);
  GradcheckResult r = gradcheck(
      [&](const std::vector<Tensor>& in) { return batch_norm(in[0], rm, rv, in[1], in[2], false); }, {x, w, b});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(BatchNorm, SameResultOnOneAndTwoThreads) {
  const int saved_threads = get_num_threads();
  Generator gen(6);
  // Large enough (16K values per channel) for the channels to be split across threads.
  Tensor x = Tensor::randn({16, 6, 32, 32}, &gen);
  Tensor g = Tensor::randn({16, 6, 32, 32}, &gen);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor xl = x.detach().requires_grad_(), w = Tensor::ones({6}).requires_grad_();
    Tensor rm = Tensor::zeros({6}), rv = Tensor::ones({6});
    Tensor y = batch_norm(xl, rm, rv, w, Tensor(), true);
    y.backward(g);
    return std::vector<std::vector<float>>{y.to_vector<float>(), xl.grad().to_vector<float>(),
                                           w.grad().to_vector<float>(), rv.to_vector<float>()};
  };
  auto one = run(1), two = run(2);
  set_num_threads(saved_threads);
  EXPECT_EQ(one, two);
}

TEST(BatchNorm, ErrorsNameTheOpAndShapes) {
  Tensor x = Tensor::zeros({4, 3, 5, 5});
  std::string e = error_of([&] { batch_norm(x, Tensor(), Tensor(), Tensor::ones({4}), Tensor(), true); });
  EXPECT_NE(e.find("batch_norm: weight must be a float [3] (one per channel of input [4, 3, 5, 5]), got [4] float32"),
            std::string::npos)
      << e;

  e = error_of([&] { batch_norm(x, Tensor::zeros({5}), Tensor::ones({5}), Tensor(), Tensor(), true); });
  EXPECT_NE(e.find("batch_norm: running_mean must be a float [3]"), std::string::npos) << e;

  e = error_of([] { batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true); });
  EXPECT_NE(e.find("batch_norm: training needs more than one value per channel (input [1, 3])"), std::string::npos)
      << e;

  e = error_of([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); });
  EXPECT_NE(e.find("batch_norm: eval mode needs running_mean and running_var (input [4, 3, 5, 5])"),
            std::string::npos)
      << e;

  e = error_of([] { batch_norm(Tensor::zeros({4}), Tensor(), Tensor(), Tensor(), Tensor(), true); });
  EXPECT_NE(e.find("batch_norm: input must be [N, C], [N, C, L] or [N, C, H, W], got [4]"), std::string::npos) << e;
}

}  // namespace test_ops_batch_norm
