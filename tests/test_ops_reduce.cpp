// Reductions (core/ops/reduce.cpp): sum, mean, var, max, argmax over one, several, negative or all
// dimensions, with and without keepdim.
//
// The reference here groups x's elements by the output element they reduce into (a plain loop over
// every index of x) and reduces each group with a plain loop; it shares no code with the engine.
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

namespace test_ops_reduce {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// A reduction as the test sees it: which dims are reduced (already non-negative), the output shape.
struct Reduced {
  std::vector<bool> is_reduced;  // per dimension of x
  Shape shape;                   // with keepdim as asked
  std::vector<std::vector<double>> groups;  // per output element, the values reduced into it, in x's order
};

Reduced group_by_output(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Shape& s = x.shape();
  const int64_t rank = x.dim();
  Reduced r;
  r.is_reduced.assign(rank, dims.empty());
  for (int64_t d : dims) r.is_reduced[d < 0 ? d + rank : d] = true;
  for (int64_t d = 0; d < rank; ++d) {
    if (!r.is_reduced[d]) r.shape.push_back(s[d]);
    else if (keepdim) r.shape.push_back(1);
  }
  r.groups.resize(shape_numel(r.shape));
  std::vector<double> v = x.to_vector<double>();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t flat = 0; flat < x.numel(); ++flat) {
    int64_t out = 0;
    for (int64_t d = 0; d < rank; ++d)
      if (!r.is_reduced[d]) out = out * s[d] + idx[d];
    r.groups[out].push_back(v[flat]);
    for (int64_t d = rank - 1; d >= 0; --d) {  // next index, last dimension fastest
      if (++idx[d] < s[d]) break;
      idx[d] = 0;
    }
  }
  return r;
}

double group_sum(const std::vector<double>& g) {
  double s = 0;
  for (double v : g) s += v;
  return s;
}

double group_var(const std::vector<double>& g, bool unbiased) {
  double m = group_sum(g) / g.size(), s = 0;
  for (double v : g) s += (v - m) * (v - m);
  return s / (g.size() - (unbiased ? 1 : 0));
}

void expect_values(const Tensor& got, const Shape& shape, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.shape(), shape);
  std::vector<double> g = got.to_vector<double>();
  ASSERT_EQ(g.size(), want.size());
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], want[i], tol) << "at flat index " << i;
}

const std::vector<std::vector<int64_t>> kDimSets = {
    {}, {0}, {1}, {2}, {-1}, {-2}, {0, 2}, {2, 0}, {-1, -3}, {0, 1}, {1, 2}, {0, 1, 2}, {1, -2}};

std::string dims_str(const std::vector<int64_t>& dims, bool keepdim) {
  return "dims " + shape_str(dims) + (keepdim ? " keepdim" : "");
}

TEST(OpsReduce, SumMeanVarKnownValues) {
  Tensor x = randn64({3, 4, 5}, 1);
  for (const auto& dims : kDimSets) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE(dims_str(dims, keepdim));
      Reduced r = group_by_output(x, dims, keepdim);
      std::vector<double> sums, means, vars, vars_unbiased;
      for (const auto& g : r.groups) {
        sums.push_back(group_sum(g));
        means.push_back(group_sum(g) / g.size());
        vars.push_back(group_var(g, false));
        vars_unbiased.push_back(group_var(g, true));
      }
      expect_values(sum(x, dims, keepdim), r.shape, sums, 1e-12);
      expect_values(mean(x, dims, keepdim), r.shape, means, 1e-12);
      expect_values(var(x, dims, /*unbiased=*/false, keepdim), r.shape, vars, 1e-12);
      expect_values(var(x, dims, /*unbiased=*/true, keepdim), r.shape, vars_unbiased, 1e-12);
      // float32 too
      expect_values(sum(x.to(DType::Float32), dims, keepdim), r.shape, sums, 1e-4);
      expect_values(mean(x.to(DType::Float32), dims, keepdim), r.shape, means, 1e-5);
    }
  }
}

TEST(OpsReduce, HandComputedValues) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum(x).item(), 21);
  EXPECT_EQ(sum(x).shape(), (Shape{}));
  EXPECT_EQ(x.sum().item(), 21);
  EXPECT_EQ(x.mean().item(), 3.5);
  EXPECT_EQ(sum(x, {0}).to_vector<float>(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(sum(x, {1}).to_vector<float>(), (std::vector<float>{6, 15}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(sum(x, {}, true).shape(), (Shape{1, 1}));
  EXPECT_EQ(mean(x, {0}).to_vector<float>(), (std::vector<float>{2.5, 3.5, 4.5}));
  // population variance of {1, 2, 3} is 2/3, the unbiased one 1
  EXPECT_FLOAT_EQ(static_cast<float>(var(x, {1}).at({0})), 2.0f / 3.0f);
  EXPECT_EQ(var(x, {1}, true).to_vector<float>(), (std::vector<float>{1, 1}));
  EXPECT_EQ(max(x, 0).to_vector<float>(), (std::vector<float>{4, 5, 6}));
  EXPECT_EQ(max(x, 1).to_vector<float>(), (std::vector<float>{3, 6}));
  EXPECT_EQ(max(x).item(), 6);
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(argmax(x, 1).dtype(), DType::Int64);
  // a 0-d tensor reduces to itself
  EXPECT_EQ(sum(Tensor::scalar(2.5)).item(), 2.5);
  EXPECT_EQ(max(Tensor::scalar(-1.5)).item(), -1.5);
}

TEST(OpsReduce, MaxAndArgmaxKnownValues) {
  Tensor x = randn64({3, 4, 5}, 2);
  for (int64_t dim : {0, 1, 2, -1, -3}) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + (keepdim ? " keepdim" : ""));
      Reduced r = group_by_output(x, {dim}, keepdim);
      std::vector<double> maxes, args;
      for (const auto& g : r.groups) {
        auto it = std::max_element(g.begin(), g.end());  // the first of equal maxima
        maxes.push_back(*it);
        args.push_back(static_cast<double>(it - g.begin()));
      }
      expect_values(max(x, dim, keepdim), r.shape, maxes, 0);
      expect_values(argmax(x, dim, keepdim), r.shape, args, 0);
    }
  }
}

TEST(OpsReduce, MaxTiesAndNaN) {
  // ties: argmax and the gradient go to the first maximum only
  Tensor x = Tensor::from_vector(std::vector<double>{1, 3, 3, 0, 2, 2}, {2, 3}).requires_grad_();
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 1}));
  max(x, 1).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 0, 1, 0}));
  // NaN wins, so it shows up instead of hiding
  Tensor n = Tensor::from_vector(std::vector<double>{1, NAN, 5, 2}, {4});
  EXPECT_TRUE(std::isnan(max(n).item()));
  EXPECT_EQ(argmax(n, 0).item(), 1);
}

TEST(OpsReduce, GradcheckSumMeanVar) {
  Tensor x = randn64({2, 3, 4}, 3);
  // all, one, negative, several (unsorted and negative), and a repeated dimension
  for (const auto& dims : std::vector<std::vector<int64_t>>{{}, {1}, {-1}, {2, 0}, {-1, -3}, {1, -2}}) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE(dims_str(dims, keepdim));
      auto f_sum = [&](const std::vector<Tensor>& in) { return sum(in[0], dims, keepdim); };
      GradcheckResult r = gradcheck(f_sum, {x});
      ASSERT_TRUE(r.ok) << "sum: " << r.message;
      auto f_mean = [&](const std::vector<Tensor>& in) { return mean(in[0], dims, keepdim); };
      r = gradcheck(f_mean, {x});
      ASSERT_TRUE(r.ok) << "mean: " << r.message;
      for (bool unbiased : {false, true}) {
        auto f_var = [&](const std::vector<Tensor>& in) { return var(in[0], dims, unbiased, keepdim); };
        r = gradcheck(f_var, {x});
        ASSERT_TRUE(r.ok) << "var unbiased=" << unbiased << ": " << r.message;
      }
    }
  }
}

TEST(OpsReduce, GradcheckMax) {
  // random normals have no ties, so max is differentiable at these points
  Tensor x = randn64({3, 4, 5}, 4);
  for (int64_t dim : {0, 1, 2, -1}) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + (keepdim ? " keepdim" : ""));
      auto f = [&](const std::vector<Tensor>& in) { return max(in[0], dim, keepdim); };
      GradcheckResult r = gradcheck(f, {x});
      ASSERT_TRUE(r.ok) << r.message;
    }
  }
  auto f_all = [](const std::vector<Tensor>& in) { return max(in[0]); };
  GradcheckResult r = gradcheck(f_all, {x});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsReduce, GradcheckInAFormula) {
  // a normalisation written with reductions, as layer_norm could be: (x - mean) / sqrt(var + eps)
  auto f = [](const std::vector<Tensor>& in) {
    Tensor x = in[0];
    return (x - mean(x, {-1}, true)) / sqrt(var(x, {-1}, false, true) + 1e-5) + max(x, 0, true);
  };
  GradcheckResult r = gradcheck(f, {randn64({4, 6}, 5)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsReduce, Errors) {
  Tensor x = Tensor::ones({2, 3, 4});
  EXPECT_TRUE(throws_with([&] { sum(x, {3}); }, "sum: dimension 3 is out of range for a tensor with 3 dimensions"));
  EXPECT_TRUE(throws_with([&] { sum(x, {-4}); }, "sum: dimension -4 is out of range for a tensor with 3 dimensions"));
  EXPECT_TRUE(throws_with([&] { mean(x, {5}); }, "mean: dimension 5 is out of range"));
  EXPECT_TRUE(throws_with([&] { var(x, {0, 7}); }, "var: dimension 7 is out of range"));
  EXPECT_TRUE(throws_with([&] { max(x, 3); }, "max: dimension 3 is out of range"));
  EXPECT_TRUE(throws_with([&] { argmax(x, -5); }, "argmax: dimension -5 is out of range"));
  EXPECT_TRUE(throws_with([&] { var(Tensor::ones({1, 3}), {0}, true); }, "var: not enough elements (1) in shape [1, 3]"));
  EXPECT_TRUE(throws_with([&] { mean(Tensor::ones({0, 3}), {0}); }, "mean: reducing over zero elements (shape [0, 3])"));
  EXPECT_TRUE(throws_with([&] { max(Tensor::ones({2, 0}), 1); }, "max: dimension 1 of shape [2, 0] is empty"));
  EXPECT_TRUE(throws_with([&] { max(Tensor::ones({0})); }, "max: tensor is empty"));
  Tensor i = Tensor::from_vector(std::vector<int64_t>{1, 2}, {2});
  EXPECT_TRUE(throws_with([&] { sum(i); }, "sum: expected a float tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { mean(i); }, "sum: expected a float tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { max(i, 0); }, "max: expected a float32 or float64 tensor, got int64"));
  EXPECT_TRUE(throws_with([&] { argmax(i, 0); }, "max: expected a float32 or float64 tensor, got int64"));
}

TEST(OpsReduce, EmptyInputs) {
  // a sum over zero elements is 0, with the reduced shape
  Tensor s = sum(Tensor::ones({0, 3}), {0});
  EXPECT_EQ(s.shape(), (Shape{3}));
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(sum(Tensor::ones({0})).item(), 0);
  EXPECT_EQ(sum(Tensor::ones({3, 0}), {1}).to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(OpsReduce, Float32SumAccumulatesInDouble) {
  // 2^20 copies of 0.1f: a float accumulator drifts by whole units; the engine's stays close
  const int64_t n = 1 << 20;
  Tensor x = Tensor::full({n}, 0.1);
  const double exact = n * static_cast<double>(0.1f);
  EXPECT_NEAR(sum(x).item(), exact, exact * 1e-6);
  EXPECT_NEAR(sum(x.reshape({1024, 1024}), {1}).to_vector<double>()[5], 1024 * static_cast<double>(0.1f), 1e-3);
}

TEST(OpsReduce, SameResultOnOneAndTwoThreads) {
  Generator gen(6);
  Tensor x = Tensor::randn({1 << 18}, &gen);
  Tensor rows = x.reshape({64, 4096});     // sum over the last dimension: one row per output
  Tensor cols = x.reshape({32, 32, 256});  // sum over the middle: whole rows added up
  std::vector<std::vector<float>> one, two;
  for (int threads : {1, 2}) {
    ThreadsGuard guard(threads);
    auto& out = threads == 1 ? one : two;
    out.push_back(sum(x).to_vector<float>());
    out.push_back(sum(rows, {1}).to_vector<float>());
    out.push_back(sum(cols, {1}).to_vector<float>());
    out.push_back(sum(cols, {0, 2}).to_vector<float>());
    out.push_back(mean(cols, {-1}, true).to_vector<float>());
    out.push_back(max(cols, 1).to_vector<float>());
    out.push_back(max(rows, 0).to_vector<float>());
  }
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i], two[i]) << "result " << i;
  // and the split covers everything: the column sum matches the reference
  Reduced r = group_by_output(cols, {1}, false);
  std::vector<double> want;
  for (const auto& g : r.groups) want.push_back(group_sum(g));
  expect_values(sum(cols, {1}), r.shape, want, 1e-3);
}

}  // namespace test_ops_reduce
