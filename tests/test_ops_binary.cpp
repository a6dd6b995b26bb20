// Element-wise binary ops (core/ops/binary.cpp): add, sub, mul, div with NumPy broadcasting, the
// scalar overloads, sum_to, add_ and axpy_.
//
// Known values are computed here by a naive loop that finds, for every output element, the input
// elements it reads (right-aligned shapes, a size-1 dimension always reads index 0); the engine's
// stride tricks are not used, so a mistake in them shows up as a mismatch.
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

namespace test_ops_binary {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// Values whose magnitude is in [0.5, 2): safe denominators for div.
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  Tensor t = Tensor::empty(shape, DType::Float64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = (gen.uniform() < 0.5 ? -1 : 1) * gen.uniform(0.5, 2.0);
  return t;
}

// The flat index into an input of shape `in` that output element `flat` (of shape `out`) reads.
int64_t source_index(const Shape& out, int64_t flat, const Shape& in) {
  std::vector<int64_t> idx(out.size());
  for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
    idx[d] = flat % out[d];
    flat /= out[d];
  }
  int64_t src = 0;
  const size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) src = src * in[d] + (in[d] == 1 ? 0 : idx[lead + d]);
  return src;
}

// The reference result of a op b by a plain loop over the output.
std::vector<double> naive_binary(const Tensor& a, const Tensor& b, const Shape& out_shape,
                                 const std::function<double(double, double)>& op) {
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  std::vector<double> out(shape_numel(out_shape));
  for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i)
    out[i] = op(va[source_index(out_shape, i, a.shape())], vb[source_index(out_shape, i, b.shape())]);
  return out;
}

struct NamedOp {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> engine;
  std::function<double(double, double)> reference;
};

std::vector<NamedOp> all_ops() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double x, double y) { return x + y; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double x, double y) { return x - y; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double x, double y) { return x * y; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double x, double y) { return x / y; }},
  };
}

// Pairs of shapes that broadcast, from trivial to both-sides-stretched.
const std::vector<std::pair<Shape, Shape>> kShapePairs = {
    {{2, 3}, {2, 3}},              // same shape (fast path)
    {{3, 1, 4}, {2, 1}},           // both stretched, ranks differ -> [3, 2, 4]
    {{2, 3, 4}, {4}},              // a bias-like row
    {{2, 3, 4}, {}},               // a scalar tensor
    {{}, {2, 3}},                  // a scalar on the left
    {{1}, {5}},                    // one-element on the left
    {{2, 1, 3}, {1, 4, 1}},        // each side stretched in a different dimension
    {{5, 1}, {1, 5}},              // outer product shape
    {{2, 3, 1, 1}, {1, 3, 4, 5}},  // N C 1 1 * 1 C H W
    {{4, 1}, {3, 4, 2}},           // middle dimension from the left operand
};

TEST(OpsBinary, BroadcastShapes) {
  EXPECT_EQ(broadcast_shapes({3, 1, 4}, {2, 1}, "add"), (Shape{3, 2, 4}));
  EXPECT_EQ(broadcast_shapes({64, 10}, {10}, "add"), (Shape{64, 10}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}, "add"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({}, {}, "add"), (Shape{}));
  EXPECT_EQ(broadcast_shapes({8, 1, 6, 1}, {7, 1, 5}, "add"), (Shape{8, 7, 6, 5}));
  EXPECT_EQ(broadcast_shapes({0, 3}, {1, 3}, "add"), (Shape{0, 3}));
  EXPECT_TRUE(throws_with([] { broadcast_shapes({2, 3}, {4}, "mul"); },
                          "mul: shapes [2, 3] and [4] cannot be broadcast together"));
}

TEST(OpsBinary, KnownValuesWithBroadcasting) {
  for (const NamedOp& op : all_ops()) {
    for (size_t p = 0; p < kShapePairs.size(); ++p) {
      SCOPED_TRACE(std::string(op.name) + " " + shape_str(kShapePairs[p].first) + " and " +
                   shape_str(kShapePairs[p].second));
      Tensor a = randn64(kShapePairs[p].first, 10 + p);
      Tensor b = away_from_zero(kShapePairs[p].second, 20 + p);
      Shape out_shape = broadcast_shapes(a.shape(), b.shape(), op.name);
      std::vector<double> want = naive_binary(a, b, out_shape, op.reference);
      // float64 is exact; float32 within rounding
      Tensor y64 = op.engine(a, b);
      EXPECT_EQ(y64.shape(), out_shape);
      EXPECT_EQ(y64.dtype(), DType::Float64);
      EXPECT_EQ(y64.to_vector<double>(), want);
      Tensor y32 = op.engine(a.to(DType::Float32), b.to(DType::Float32));
      EXPECT_EQ(y32.dtype(), DType::Float32);
      expect_all_near(y32.to_vector<double>(), want, 1e-5);
    }
  }
}

TEST(OpsBinary, HandComputedValues) {
  // [2, 2] + [2] adds the row to each row; [2, 1] * [2] is an outer product
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  Tensor r = Tensor::from_vector(std::vector<float>{10, 20}, {2});
  EXPECT_EQ((a + r).to_vector<float>(), (std::vector<float>{11, 22, 13, 24}));
  EXPECT_EQ((a - r).to_vector<float>(), (std::vector<float>{-9, -18, -7, -16}));
  Tensor c = Tensor::from_vector(std::vector<float>{2, 3}, {2, 1});
  Tensor outer = c * r;
  EXPECT_EQ(outer.shape(), (Shape{2, 2}));
  EXPECT_EQ(outer.to_vector<float>(), (std::vector<float>{20, 40, 30, 60}));
  EXPECT_EQ((r / c).to_vector<float>(), (std::vector<float>{5, 10, 10.0f / 3, 20.0f / 3}));
}

TEST(OpsBinary, ScalarOverloads) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, -2, 4}, {3});
  EXPECT_EQ((x + 2.0).to_vector<double>(), (std::vector<double>{3, 0, 6}));
  EXPECT_EQ((x - 2.0).to_vector<double>(), (std::vector<double>{-1, -4, 2}));
  EXPECT_EQ((x * 3.0).to_vector<double>(), (std::vector<double>{3, -6, 12}));
  EXPECT_EQ((x / 4.0).to_vector<double>(), (std::vector<double>{0.25, -0.5, 1}));
  EXPECT_EQ((2.0 + x).to_vector<double>(), (std::vector<double>{3, 0, 6}));
  EXPECT_EQ((2.0 - x).to_vector<double>(), (std::vector<double>{1, 4, -2}));
  EXPECT_EQ((3.0 * x).to_vector<double>(), (std::vector<double>{3, -6, 12}));
  EXPECT_EQ((-x).to_vector<double>(), (std::vector<double>{-1, 2, -4}));
  // the scalar takes the tensor's dtype
  EXPECT_EQ((x * 3.0).dtype(), DType::Float64);
  EXPECT_EQ((Tensor::ones({2}) * 3.0).dtype(), DType::Float32);
}

TEST(OpsBinary, GradcheckEveryOpAndBroadcast) {
  for (const NamedOp& op : all_ops()) {
    for (size_t p = 0; p < kShapePairs.size(); ++p) {
      SCOPED_TRACE(std::string(op.name) + " " + shape_str(kShapePairs[p].first) + " and " +
                   shape_str(kShapePairs[p].second));
      auto f = [&op](const std::vector<Tensor>& in) { return op.engine(in[0], in[1]); };
      GradcheckResult r = gradcheck(f, {randn64(kShapePairs[p].first, 30 + p), away_from_zero(kShapePairs[p].second, 40 + p)});
      ASSERT_TRUE(r.ok) << r.message;
    }
  }
}

TEST(OpsBinary, GradcheckScalarOverloadsAndChains) {
  auto f = [](const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    const Tensor& y = in[1];
    return (2.0 - x * 3.0) / (y * y + 1.0) + 0.5 * x - y / 4.0 + (-x) * y;
  };
  GradcheckResult r = gradcheck(f, {randn64({3, 4}, 1), randn64({4}, 2)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsBinary, GradientOfBroadcastInputIsSummed) {
  // x [3] is added to each of the 4 rows of y [4, 3]: each x element is used 4 times
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}).requires_grad_();
  Tensor y = Tensor::ones({4, 3}, DType::Float64).requires_grad_();
  (x + y).sum().backward();
  EXPECT_EQ(x.grad().shape(), (Shape{3}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{4, 4, 4}));
  EXPECT_EQ(y.grad().to_vector<double>(), std::vector<double>(12, 1.0));

  // mul: d(sum(x * w))/dx = sum of w over the broadcast dimension
  Tensor w = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  x.zero_grad();
  (x * w).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 7, 9}));
  EXPECT_FALSE(w.grad().defined());  // w does not require grad
}

TEST(OpsBinary, SumTo) {
  Tensor g = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum_to(g, {3}).to_vector<double>(), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(sum_to(g, {2, 1}).to_vector<double>(), (std::vector<double>{6, 15}));
  EXPECT_EQ(sum_to(g, {1, 1}).to_vector<double>(), (std::vector<double>{21}));
  EXPECT_EQ(sum_to(g, {}).shape(), (Shape{}));
  EXPECT_EQ(sum_to(g, {}).item(), 21);
  EXPECT_EQ(sum_to(g, {2, 3}).to_vector<double>(), g.to_vector<double>());
  EXPECT_TRUE(throws_with([&] { sum_to(g, {1, 2, 3}); }, "sum_to: cannot reduce shape [2, 3] to [1, 2, 3]"));
}

TEST(OpsBinary, InPlaceAddAndAxpy) {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  add_(a, Tensor::from_vector(std::vector<float>{10, 20, 30}, {3}));
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  add_(a, Tensor::from_vector(std::vector<float>{100, 200}, {2, 1}));
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{111, 122, 133, 214, 225, 236}));
  add_(a, Tensor::scalar(1));
  EXPECT_EQ(a.at({0, 0}), 112);
  Tensor col = Tensor::zeros({2, 1});
  EXPECT_TRUE(throws_with([&] { add_(col, Tensor::ones({3})); }, "add_: cannot add shape [3] into [2, 1] in place"));
  EXPECT_TRUE(throws_with([&] { add_(col, Tensor::ones({2, 1}, DType::Float64)); },
                          "add_: dtypes differ (float32 and float64)"));

  Tensor p = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3});
  axpy_(p, -0.5, Tensor::from_vector(std::vector<double>{2, 4, 8}, {3}));
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{0, 0, -1}));
  EXPECT_TRUE(throws_with([&] { axpy_(p, 1.0, Tensor::ones({4}, DType::Float64)); },
                          "axpy_: shapes/dtypes differ: [3] float64 and [4] float64"));
}

TEST(OpsBinary, ErrorsNameOpAndShapes) {
  Tensor a = Tensor::ones({2, 3}), b = Tensor::ones({4});
  EXPECT_TRUE(throws_with([&] { add(a, b); }, "add: shapes [2, 3] and [4] cannot be broadcast together"));
  EXPECT_TRUE(throws_with([&] { a - b; }, "sub: shapes [2, 3] and [4] cannot be broadcast together"));
  EXPECT_TRUE(throws_with([&] { a * Tensor::ones({3, 2}); }, "mul: shapes [2, 3] and [3, 2] cannot be broadcast"));
  // in a chain, the op that fails is named, with the shapes it saw
  EXPECT_TRUE(throws_with([&] { (a / Tensor::ones({5, 1, 1})) * Tensor::ones({7}); },
                          "mul: shapes [5, 2, 3] and [7] cannot be broadcast"));
  EXPECT_TRUE(throws_with([&] { a + Tensor::ones({2, 3}, DType::Float64); }, "add: dtypes differ (float32 and float64)"));
  EXPECT_TRUE(throws_with([&] { add(a, Tensor()); }, "add: tensor is undefined"));
}

TEST(OpsBinary, Int64) {
  // int64 arithmetic is exact beyond float precision (2^53 + 1 is not a double)
  const int64_t big = (int64_t{1} << 53) + 1;
  Tensor a = Tensor::from_vector(std::vector<int64_t>{big, -3, 7, 0, 5, -8}, {2, 3});
  Tensor r = Tensor::from_vector(std::vector<int64_t>{1, 2, 3}, {3});
  Tensor s = a + r;
  EXPECT_EQ(s.dtype(), DType::Int64);
  EXPECT_EQ(s.to_vector<int64_t>(), (std::vector<int64_t>{big + 1, -1, 10, 1, 7, -5}));
  EXPECT_EQ((a - r).to_vector<int64_t>(), (std::vector<int64_t>{big - 1, -5, 4, -1, 3, -11}));
  EXPECT_EQ((a * r).to_vector<int64_t>(), (std::vector<int64_t>{big, -6, 21, 0, 10, -24}));
  EXPECT_EQ((a * 2.0).to_vector<int64_t>(), (std::vector<int64_t>{2 * big, -6, 14, 0, 10, -16}));
  EXPECT_FALSE(s.requires_grad());
  EXPECT_TRUE(throws_with([&] { a / r; }, "div: int64 tensors are not supported"));
  EXPECT_TRUE(throws_with([&] { a + Tensor::ones({3}); }, "add: dtypes differ (int64 and float32)"));
  // neg works on floats only; say so by name
  EXPECT_TRUE(throws_with([&] { -a; }, "neg: expected a float32 or float64 tensor, got int64"));
}

TEST(OpsBinary, EmptyTensors) {
  Tensor a = Tensor::zeros({0, 3}), b = Tensor::ones({3});
  Tensor y = a + b;
  EXPECT_EQ(y.shape(), (Shape{0, 3}));
  EXPECT_EQ(y.numel(), 0);
}

TEST(OpsBinary, SameResultOnOneAndTwoThreads) {
  // large enough for every path to split across threads: same shape, scalar, general broadcast
  Generator gen(5);
  Tensor a = Tensor::randn({32, 33, 64}, &gen);
  Tensor b = Tensor::randn({32, 33, 64}, &gen);
  Tensor row = Tensor::randn({64}, &gen);
  Tensor col = Tensor::randn({32, 1, 1}, &gen);
  Tensor s = Tensor::scalar(0.37);
  std::vector<std::vector<float>> one, two;
  for (int threads : {1, 2}) {
    ThreadsGuard guard(threads);
    auto& out = threads == 1 ? one : two;
    out.push_back((a + b).to_vector<float>());
    out.push_back((a * s).to_vector<float>());
    out.push_back((s / b).to_vector<float>());
    out.push_back((a - row).to_vector<float>());
    out.push_back((col * a).to_vector<float>());
    out.push_back((row.reshape({1, 64}) + col).to_vector<float>());
  }
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i], two[i]) << "result " << i;

  // and the threaded general path matches the naive loop
  Tensor y = a - row;
  std::vector<double> want = naive_binary(a, row, a.shape(), [](double x, double z) { return x - z; });
  expect_all_near(y.to_vector<double>(), want, 1e-6);
  Tensor z = row.reshape({1, 64}) + col;
  want = naive_binary(row.reshape({1, 64}), col, z.shape(), [](double x, double w) { return x + w; });
  expect_all_near(z.to_vector<double>(), want, 1e-6);
}

}  // namespace test_ops_binary
