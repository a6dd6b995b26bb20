// softmax, log_softmax, cross_entropy, mse_loss, binary_cross_entropy_with_logits.
// Known values come from hand computations or naive loops written here, independent of the ops.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/ops/fast_exp.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_softmax_loss {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// Softmax along dim d of a float64 tensor, by the definition (no max subtraction), with plain
// index arithmetic: the reference the op is compared with.
std::vector<double> naive_softmax(const Tensor& x, int64_t d, bool log) {
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1, n = s[d];
  for (int64_t i = 0; i < d; ++i) outer *= s[i];
  for (size_t i = d + 1; i < s.size(); ++i) inner *= s[i];
  std::vector<double> v = x.to_vector<double>(), out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double z = 0;
      for (int64_t k = 0; k < n; ++k) z += std::exp(v[(o * n + k) * inner + i]);
      for (int64_t k = 0; k < n; ++k) {
        double e = v[(o * n + k) * inner + i];
        out[(o * n + k) * inner + i] = log ? e - std::log(z) : std::exp(e) / z;
      }
    }
  return out;
}

// ---- fast_exp (the vectorisable exp inside softmax and cross_entropy) ------------------------------

TEST(FastExp, CloseToExpAndSpecialValues) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.00731f) {
    double exact = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(fast_exp(x) - exact) / exact);
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_EQ(fast_exp(-std::numeric_limits<float>::infinity()), 0.0f);  // masked logits
  EXPECT_EQ(fast_exp(-100.0f), 0.0f);
  EXPECT_EQ(fast_exp(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fast_exp(std::numeric_limits<float>::quiet_NaN())));  // a diverged loss stays visible
  EXPECT_EQ(fast_exp(0.5), std::exp(0.5));  // float64 is std::exp itself
}

// ---- softmax / log_softmax -----------------------------------------------------------------------

TEST(Softmax, HandComputedRow) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3}, {1, 3});
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  expect_all_near(softmax(x).to_vector<double>(), {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z}, 1e-15);
  expect_all_near(log_softmax(x).to_vector<double>(), {1 - std::log(z), 2 - std::log(z), 3 - std::log(z)}, 1e-15);
  // 0.09003057, 0.24472847, 0.66524096 to 8 digits
  std::vector<double> y = softmax(x.to(DType::Float32)).to_vector<double>();
  expect_all_near(y, {0.09003057, 0.24472847, 0.66524096}, 1e-7);
}

TEST(Softmax, RowsSumToOneAndMatchLoopAlongEveryDim) {
  Generator gen(1);
  Tensor x = Tensor::randn({3, 4, 5}, &gen, DType::Float64) * 3.0;
  for (int64_t d = 0; d < 3; ++d) {
    expect_all_near(softmax(x, d).to_vector<double>(), naive_softmax(x, d, false), 1e-14);
    expect_all_near(log_softmax(x, d).to_vector<double>(), naive_softmax(x, d, true), 1e-13);
    std::vector<double> sums = sum(softmax(x, d), {d}).to_vector<double>();
    for (double s : sums) EXPECT_NEAR(s, 1.0, 1e-14);
  }
  // negative dims mean the same
  EXPECT_EQ(softmax(x, -2).to_vector<double>(), softmax(x, 1).to_vector<double>());
}

TEST(Softmax, StableForLargeAndMaskedInputs) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor big = Tensor::from_vector(std::vector<double>{1000, 1001, 1002}, {3}).to(dt);
    Tensor small = Tensor::from_vector(std::vector<double>{0, 1, 2}, {3}).to(dt);
    expect_all_near(softmax(big).to_vector<double>(), softmax(small).to_vector<double>(), 1e-7);
    expect_all_near(log_softmax(big).to_vector<double>(), log_softmax(small).to_vector<double>(), 1e-4);
    // -inf (a masked position) gets probability 0, the rest share it
    double inf = std::numeric_limits<double>::infinity();
    Tensor masked = Tensor::from_vector(std::vector<double>{0, -inf, 0}, {3}).to(dt);
    EXPECT_EQ(softmax(masked).to_vector<double>(), (std::vector<double>{0.5, 0, 0.5}));
  }
}

TEST(Softmax, GradcheckAlongEveryDim) {
  Generator gen(2);
  Tensor x = Tensor::randn({3, 4, 5}, &gen, DType::Float64);
  for (int64_t d : {-1, 0, 1}) {
    for (bool log : {false, true}) {
      auto f = [d, log](const std::vector<Tensor>& in) { return log ? log_softmax(in[0], d) : softmax(in[0], d); };
      GradcheckResult r = gradcheck(f, {x});
      ASSERT_TRUE(r.ok) << (log ? "log_softmax" : "softmax") << " dim " << d << ": " << r.message;
    }
  }
}

TEST(Softmax, ManyRowsInParallelMatchOneThread) {
  ThreadsGuard guard;
  Generator gen(3);
  Tensor x = Tensor::randn({300, 129}, &gen);
  set_num_threads(1);
  std::vector<float> one = softmax(x).to_vector<float>();
  set_num_threads(2);
  EXPECT_EQ(softmax(x).to_vector<float>(), one);
  expect_all_near(std::vector<double>(one.begin(), one.end()), naive_softmax(x.to(DType::Float64), 1, false), 1e-6);
}

TEST(Softmax, Errors) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_ERROR(softmax(x, 2), "softmax: dimension 2 is out of range for a tensor with 2 dimensions");
  EXPECT_ERROR(log_softmax(x, -3), "log_softmax: dimension -3 is out of range for a tensor with 2 dimensions");
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 2}, {2});
  EXPECT_ERROR(softmax(ids), "softmax: expected a float32 or float64 tensor, got int64");
}

// ---- cross_entropy -------------------------------------------------------------------------------

// The per-position losses of cross_entropy by the definition: -log(softmax(x)_t), with the class
// dimension at 1 of [N, K, inner...]; ignored positions give NaN here (the caller skips them).
std::vector<double> naive_cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  Tensor logp = Tensor::from_vector(naive_softmax(logits.to(DType::Float64), 1, true), logits.shape());
  const int64_t K = logits.shape()[1], inner = target.numel() / logits.shape()[0];
  std::vector<int64_t> t = target.to_vector<int64_t>();
  std::vector<double> lp = logp.to_vector<double>(), out(t.size());
  for (size_t p = 0; p < t.size(); ++p) {
    int64_t n = p / inner, j = p % inner;
    out[p] = t[p] == ignore_index ? NAN : -lp[(n * K + t[p]) * inner + j];
  }
  return out;
}

TEST(CrossEntropy, HandComputedExample) {
  // logits [[1, 2, 3]], target 2: log(e^1 + e^2 + e^3) - 3 = 0.40760596444438...
  Tensor logits = Tensor::from_vector(std::vector<double>{1, 2, 3}, {1, 3});
  Tensor target = Tensor::from_vector(std::vector<int64_t>{2}, {1});
  double expected = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3;
  EXPECT_NEAR(expected, 0.4076059644443806, 1e-15);
  EXPECT_NEAR(cross_entropy(logits, target).item(), expected, 1e-15);
  EXPECT_NEAR(cross_entropy(logits.to(DType::Float32), target).item(), expected, 1e-6);
  // gradient: softmax - onehot
  logits.requires_grad_();
  cross_entropy(logits, target).backward();
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  expect_all_near(logits.grad().to_vector<double>(), {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z - 1},
                  1e-15);
}

TEST(CrossEntropy, ReductionsMatchLoop) {
  Generator gen(4);
  Tensor logits = Tensor::randn({6, 5}, &gen, DType::Float64) * 2.0;
  Tensor target = Tensor::from_vector(std::vector<int64_t>{0, 4, 2, 2, 1, 3}, {6});
  std::vector<double> per = naive_cross_entropy(logits, target, -100);
  double total = 0;
  for (double l : per) total += l;
  expect_all_near(cross_entropy(logits, target, Reduction::None).to_vector<double>(), per, 1e-13);
  EXPECT_EQ(cross_entropy(logits, target, Reduction::None).shape(), (Shape{6}));
  EXPECT_NEAR(cross_entropy(logits, target, Reduction::Sum).item(), total, 1e-13);
  EXPECT_NEAR(cross_entropy(logits, target, Reduction::Mean).item(), total / 6, 1e-13);
  EXPECT_EQ(cross_entropy(logits, target).shape(), Shape{});
}

TEST(CrossEntropy, SpatialTargetsMatchLoop) {
  // [N, K, H, W] scores with a class per pixel [N, H, W]
  Generator gen(5);
  Tensor logits = Tensor::randn({2, 4, 3, 2}, &gen, DType::Float64);
  Tensor target = Tensor::randint(0, 4, {2, 3, 2}, &gen);
  std::vector<double> per = naive_cross_entropy(logits, target, -100);
  Tensor none = cross_entropy(logits, target, Reduction::None);
  EXPECT_EQ(none.shape(), (Shape{2, 3, 2}));
  expect_all_near(none.to_vector<double>(), per, 1e-13);
  double total = 0;
  for (double l : per) total += l;
  EXPECT_NEAR(cross_entropy(logits, target).item(), total / 12, 1e-13);
}

TEST(CrossEntropy, IgnoreIndex) {
  Tensor logits = Tensor::from_vector(std::vector<double>{1, 2, 3, 0.5, -1, 2, 4, 0, 0}, {3, 3});
  Tensor target = Tensor::from_vector(std::vector<int64_t>{2, -100, 0}, {3});
  std::vector<double> per = naive_cross_entropy(logits, target, -100);
  double mean = (per[0] + per[2]) / 2;  // over the 2 targets that count, not 3
  EXPECT_NEAR(cross_entropy(logits, target).item(), mean, 1e-14);
  EXPECT_NEAR(cross_entropy(logits, target, Reduction::Sum).item(), per[0] + per[2], 1e-14);
  std::vector<double> none = cross_entropy(logits, target, Reduction::None).to_vector<double>();
  EXPECT_EQ(none[1], 0.0);
  // the ignored row gets no gradient
  logits.requires_grad_();
  cross_entropy(logits, target).backward();
  std::vector<double> g = logits.grad().to_vector<double>();
  EXPECT_EQ(g[3], 0.0);
  EXPECT_EQ(g[4], 0.0);
  EXPECT_EQ(g[5], 0.0);
  EXPECT_NE(g[0], 0.0);
  // another ignore_index value: class 0 ignored
  Tensor t2 = Tensor::from_vector(std::vector<int64_t>{2, 1, 0}, {3});
  EXPECT_NEAR(cross_entropy(logits.detach(), t2, Reduction::Mean, 0).item(),
              (naive_cross_entropy(logits, t2, 0)[0] + naive_cross_entropy(logits, t2, 0)[1]) / 2, 1e-14);
}

TEST(CrossEntropy, AllIgnoredGivesZeroAndZeroGradient) {
  Tensor logits = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  logits.requires_grad_();
  Tensor target = Tensor::from_vector(std::vector<int64_t>{-100, -100}, {2});
  Tensor loss = cross_entropy(logits, target);  // documented choice: 0, not NaN
  EXPECT_EQ(loss.item(), 0.0);
  loss.backward();
  EXPECT_EQ(logits.grad().to_vector<double>(), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(cross_entropy(logits, target, Reduction::Sum).item(), 0.0);
}

TEST(CrossEntropy, Gradcheck) {
  Generator gen(6);
  struct Case {
    Shape logits;
    Reduction reduction;
    bool with_ignored;
  };
  std::vector<Case> cases = {
      {{4, 5}, Reduction::Mean, false}, {{4, 5}, Reduction::Sum, false},   {{4, 5}, Reduction::None, false},
      {{5, 3}, Reduction::Mean, true},  {{2, 3, 4}, Reduction::Mean, true}, {{2, 3, 2, 3}, Reduction::None, true},
  };
  for (const Case& c : cases) {
    Tensor logits = Tensor::randn(c.logits, &gen, DType::Float64) * 2.0;
    Shape ts = c.logits;
    ts.erase(ts.begin() + 1);
    Tensor target = Tensor::randint(0, c.logits[1], ts, &gen);
    if (c.with_ignored) target.data<int64_t>()[1] = -100;
    Reduction red = c.reduction;
    auto f = [red](const std::vector<Tensor>& in) { return cross_entropy(in[0], in[1], red); };
    GradcheckResult r = gradcheck(f, {logits, target});
    ASSERT_TRUE(r.ok) << shape_str(c.logits) << ": " << r.message;
  }
}

TEST(CrossEntropy, SameBitsForAnyThreadCount) {
  ThreadsGuard guard;
  Generator gen(7);
  Tensor logits = Tensor::randn({512, 37}, &gen);
  Tensor target = Tensor::randint(0, 37, {512}, &gen);
  std::vector<float> loss, grad;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Tensor x = logits.detach().clone();
    x.requires_grad_();
    Tensor l = cross_entropy(x, target);
    l.backward();
    if (threads == 1) {
      loss = l.to_vector<float>();
      grad = x.grad().to_vector<float>();
    } else {
      EXPECT_EQ(l.to_vector<float>(), loss);
      EXPECT_EQ(x.grad().to_vector<float>(), grad);
    }
  }
}

TEST(CrossEntropy, Float32MatchesFloat64) {
  Generator gen(10);
  Tensor logits64 = Tensor::randn({64, 100}, &gen, DType::Float64) * 5.0;
  Tensor target = Tensor::randint(0, 100, {64}, &gen);
  Tensor logits32 = logits64.to(DType::Float32);
  logits64.requires_grad_();
  logits32.requires_grad_();
  Tensor l64 = cross_entropy(logits64, target), l32 = cross_entropy(logits32, target);
  EXPECT_NEAR(l32.item(), l64.item(), 1e-6 * l64.item());
  l64.backward();
  l32.backward();
  // gradients are at most 1/64 here; float32 keeps about 6 digits of them
  expect_all_near(logits32.grad().to_vector<double>(), logits64.grad().to_vector<double>(), 1e-7);
}

TEST(CrossEntropy, Errors) {
  Tensor logits = Tensor::zeros({4, 5});
  Tensor bad = Tensor::from_vector(std::vector<int64_t>{0, 7, 1, 2}, {4});
  EXPECT_ERROR(cross_entropy(logits, bad), "cross_entropy: target[1] = 7 is out of range for 5 classes");
  EXPECT_ERROR(cross_entropy(logits, bad), "logits [4, 5], target [4]");
  Tensor negative = Tensor::from_vector(std::vector<int64_t>{0, 1, 2, -1}, {4});
  EXPECT_ERROR(cross_entropy(logits, negative), "target[3] = -1 is out of range");
  Tensor one_past = Tensor::from_vector(std::vector<int64_t>{4, 5, 0, 0}, {4});
  EXPECT_ERROR(cross_entropy(logits, one_past), "target[1] = 5 is out of range for 5 classes");
  // the position of a bad pixel label is its full index
  Tensor spatial = Tensor::zeros({2, 3, 2});
  Tensor pix = Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 3}, {2, 2});
  EXPECT_ERROR(cross_entropy(spatial, pix), "cross_entropy: target[1, 1] = 3 is out of range for 3 classes");
  EXPECT_ERROR(cross_entropy(logits, Tensor::zeros({3}, DType::Int64)),
               "cross_entropy: logits [4, 5] need a target of shape [4], got [3]");
  EXPECT_ERROR(cross_entropy(logits, Tensor::zeros({4})), "cross_entropy: target must hold int64 class indices, got float32 [4]");
  EXPECT_ERROR(cross_entropy(Tensor::zeros({5}), Tensor::zeros({}, DType::Int64)),
               "cross_entropy: logits must be [N, K] or [N, K, d1, ...], got [5]");
}

// ---- mse_loss and binary_cross_entropy_with_logits ---------------------------------------------------

TEST(MseLoss, KnownValuesAndGradcheck) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3});
  Tensor y = Tensor::from_vector(std::vector<double>{1, 0, 5}, {3});
  EXPECT_NEAR(mse_loss(x, y).item(), 8.0 / 3.0, 1e-15);  // (0 + 4 + 4) / 3
  EXPECT_EQ(mse_loss(x, y, Reduction::Sum).item(), 8.0);
  EXPECT_EQ(mse_loss(x, y, Reduction::None).to_vector<double>(), (std::vector<double>{0, 4, 4}));
  x.requires_grad_();
  mse_loss(x, y).backward();
  expect_all_near(x.grad().to_vector<double>(), {0, 4.0 / 3, -4.0 / 3}, 1e-15);  // 2 (x - y) / 3

  Generator gen(8);
  Tensor a = Tensor::randn({3, 4}, &gen, DType::Float64), b = Tensor::randn({3, 4}, &gen, DType::Float64);
  for (Reduction red : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    auto f = [red](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], red); };
    GradcheckResult r = gradcheck(f, {a, b});  // both input and target get gradients
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(BceWithLogits, KnownValuesAndStability) {
  // by the definition -(y log p + (1 - y) log(1 - p)), p = sigmoid(x), for moderate x
  std::vector<double> xs = {-3, -0.5, 0, 0.7, 2.5}, ys = {0, 1, 0.3, 1, 0.8};
  Tensor x = Tensor::from_vector(xs, {5}), y = Tensor::from_vector(ys, {5});
  std::vector<double> per = binary_cross_entropy_with_logits(x, y, Reduction::None).to_vector<double>();
  double total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    double p = 1 / (1 + std::exp(-xs[i]));
    double ref = -(ys[i] * std::log(p) + (1 - ys[i]) * std::log(1 - p));
    EXPECT_NEAR(per[i], ref, 1e-14) << i;
    total += ref;
  }
  EXPECT_NEAR(binary_cross_entropy_with_logits(x, y).item(), total / 5, 1e-14);
  EXPECT_NEAR(binary_cross_entropy_with_logits(x, y, Reduction::Sum).item(), total, 1e-14);
  EXPECT_NEAR(per[2], std::log(2.0), 1e-15);
  // where log(1 - sigmoid(x)) would be log(0) = -inf: the stable form is finite and exact
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor far = Tensor::from_vector(std::vector<double>{100, -100}, {2}).to(dt);
    Tensor wrong = Tensor::from_vector(std::vector<double>{0, 1}, {2}).to(dt);
    std::vector<double> l = binary_cross_entropy_with_logits(far, wrong, Reduction::None).to_vector<double>();
    EXPECT_NEAR(l[0], 100.0, 1e-5);
    EXPECT_NEAR(l[1], 100.0, 1e-5);
  }
}

TEST(BceWithLogits, Gradcheck) {
  Generator gen(9);
  Tensor x = Tensor::randn({2, 3, 4}, &gen, DType::Float64) * 3.0;
  Tensor y = Tensor::rand({2, 3, 4}, &gen, DType::Float64);
  for (Reduction red : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    auto f = [red](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], in[1], red); };
    GradcheckResult r = gradcheck(f, {x, y});
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(PointwiseLosses, ErrorsNameBothShapes) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  EXPECT_ERROR(mse_loss(a, b), "mse_loss: input [2, 3] and target [3, 2] must have the same shape");
  EXPECT_ERROR(binary_cross_entropy_with_logits(a, Tensor::zeros({2, 1})),
               "binary_cross_entropy_with_logits: input [2, 3] and target [2, 1] must have the same shape");
  EXPECT_ERROR(mse_loss(a, Tensor::zeros({2, 3}, DType::Float64)), "mse_loss: input is float32, target is float64");
  EXPECT_ERROR(mse_loss(Tensor::zeros({2}, DType::Int64), Tensor::zeros({2}, DType::Int64)),
               "mse_loss: expected a float32 or float64 tensor, got int64");
}

}  // namespace test_ops_softmax_loss
