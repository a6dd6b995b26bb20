// Matrix multiply (core/ops/matmul.cpp) and linear (core/ops/linear.cpp).
//
// The reference is the schoolbook triple loop in double, with the batch broadcast worked out
// per output matrix (a batch dimension of size 1 always reads entry 0), so it shares nothing with
// the engine's folding of batches into one GEMM or its transposed-operand flags.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_matmul {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// The batch shape (all but the last two dimensions).
Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

// Which matrix of an operand with batch shape `in` the output batch entry `flat` reads.
int64_t source_matrix(const Shape& out_batch, int64_t flat, const Shape& in) {
  std::vector<int64_t> idx(out_batch.size());
  for (int64_t d = static_cast<int64_t>(out_batch.size()) - 1; d >= 0; --d) {
    idx[d] = flat % out_batch[d];
    flat /= out_batch[d];
  }
  int64_t m = 0;
  const size_t lead = out_batch.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) m = m * in[d] + (in[d] == 1 ? 0 : idx[lead + d]);
  return m;
}

// a [..., M, K] @ b [..., K, N] by three nested loops per output matrix.
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b, Shape* out_shape) {
  const Shape sa = a.shape(), sb = b.shape();
  const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  // the output batch: right-aligned, the larger of each pair of sizes
  Shape ba = batch_of(sa), bb = batch_of(sb);
  Shape batch(std::max(ba.size(), bb.size()), 1);
  for (size_t i = 0; i < batch.size(); ++i) {
    int64_t x = i < batch.size() - ba.size() ? 1 : ba[i - (batch.size() - ba.size())];
    int64_t y = i < batch.size() - bb.size() ? 1 : bb[i - (batch.size() - bb.size())];
    batch[i] = std::max(x, y);
  }
  *out_shape = batch;
  out_shape->push_back(M);
  out_shape->push_back(N);
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  std::vector<double> out(shape_numel(*out_shape), 0.0);
  for (int64_t e = 0; e < shape_numel(batch); ++e) {
    const double* A = va.data() + source_matrix(batch, e, ba) * M * K;
    const double* B = vb.data() + source_matrix(batch, e, bb) * K * N;
    double* C = out.data() + e * M * N;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += A[i * K + k] * B[k * N + j];
        C[i * N + j] = s;
      }
  }
  return out;
}

// Operand shapes covering every path of matmul: plain 2-D, a shared 2-D weight (folded into one
// GEMM), equal batches, broadcast batches on either or both sides, M = 1 or N = 1, many small
// matrices (one per thread) and a few large ones (one threaded GEMM each).
const std::vector<std::pair<Shape, Shape>> kMatmulShapes = {
    {{7, 5}, {5, 3}},
    {{2, 3, 4, 5}, {5, 6}},
    {{2, 1, 4, 5}, {3, 5, 2}},
    {{4, 5}, {3, 5, 2}},
    {{3, 4, 5}, {3, 5, 2}},
    {{1, 4, 5}, {3, 5, 2}},
    {{3, 4, 5}, {1, 5, 2}},
    {{2, 3, 1, 5}, {5, 1}},
    {{1, 5}, {2, 5, 1}},
    {{8, 4, 5}, {8, 5, 3}},
};

TEST(OpsMatmul, KnownValuesEveryPath) {
  for (size_t p = 0; p < kMatmulShapes.size(); ++p) {
    SCOPED_TRACE(shape_str(kMatmulShapes[p].first) + " @ " + shape_str(kMatmulShapes[p].second));
    Tensor a = randn64(kMatmulShapes[p].first, 10 + p), b = randn64(kMatmulShapes[p].second, 20 + p);
    Shape want_shape;
    std::vector<double> want = naive_matmul(a, b, &want_shape);
    Tensor y = matmul(a, b);
    EXPECT_EQ(y.shape(), want_shape);
    expect_all_near(y.to_vector<double>(), want, 1e-12);
    Tensor y32 = a.to(DType::Float32).matmul(b.to(DType::Float32));
    EXPECT_EQ(y32.dtype(), DType::Float32);
    expect_all_near(y32.to_vector<double>(), want, 1e-4);
  }
}

TEST(OpsMatmul, HandComputed) {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector(std::vector<float>{7, 8, 9, 10, 11, 12}, {3, 2});
  // [1 2 3] . [7 9 11] = 58, [1 2 3] . [8 10 12] = 64, [4 5 6] . [7 9 11] = 139, ... = 154
  EXPECT_EQ(matmul(a, b).to_vector<float>(), (std::vector<float>{58, 64, 139, 154}));
}

TEST(OpsMatmul, LargeBatchedMatricesUseThreadedGemm) {
  // 130 x 128 x 130 per matrix is past the "many small" limit: one threaded GEMM per batch entry
  Tensor a = randn64({2, 130, 128}, 1), b = randn64({1, 128, 130}, 2);
  Shape want_shape;
  std::vector<double> want = naive_matmul(a, b, &want_shape);
  Tensor y = matmul(a, b);
  EXPECT_EQ(y.shape(), want_shape);
  expect_all_near(y.to_vector<double>(), want, 1e-10);
}

TEST(OpsMatmul, GradcheckEveryPath) {
  for (size_t p = 0; p < kMatmulShapes.size(); ++p) {
    SCOPED_TRACE(shape_str(kMatmulShapes[p].first) + " @ " + shape_str(kMatmulShapes[p].second));
    auto f = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
    GradcheckResult r = gradcheck(f, {randn64(kMatmulShapes[p].first, 30 + p), randn64(kMatmulShapes[p].second, 40 + p)});
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(OpsMatmul, GradcheckChainsAndSharedOperand) {
  // (x @ w1) @ w2 with the weight reused, and a @ a^T (one tensor on both sides)
  auto f = [](const std::vector<Tensor>& in) {
    Tensor h = matmul(in[0], in[1]);
    return matmul(h, in[1].transpose(0, 1)) + matmul(in[0], in[0].transpose(-1, -2));
  };
  GradcheckResult r = gradcheck(f, {randn64({2, 4, 4}, 50), randn64({4, 3}, 51)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsMatmul, GradientsByHand) {
  // y = a @ b, L = sum(y): dL/da = 1 @ b^T (row sums of b), dL/db = a^T @ 1 (column sums of a)
  Tensor a = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  Tensor b = Tensor::from_vector(std::vector<double>{1, 0, 2, 1, 0, 3}, {3, 2}).requires_grad_();
  matmul(a, b).sum().backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{1, 3, 3, 1, 3, 3}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{5, 5, 7, 7, 9, 9}));
}

TEST(OpsMatmul, EmptyOperands) {
  // an inner dimension of 0 is a sum of nothing: zeros, as in NumPy and PyTorch
  Tensor z = matmul(Tensor::ones({3, 0}), Tensor::ones({0, 4}));
  EXPECT_EQ(z.shape(), (Shape{3, 4}));
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(12, 0.0f));
  EXPECT_EQ(matmul(Tensor::ones({2, 3, 0}), Tensor::ones({2, 0, 4})).to_vector<float>(), std::vector<float>(24, 0.0f));
  EXPECT_EQ(matmul(Tensor::ones({0, 5}), Tensor::ones({5, 3})).shape(), (Shape{0, 3}));
  EXPECT_EQ(matmul(Tensor::ones({2, 0, 4, 5}), Tensor::ones({5, 3})).shape(), (Shape{2, 0, 4, 3}));
  EXPECT_EQ(matmul(Tensor::ones({4, 5}), Tensor::ones({5, 0})).shape(), (Shape{4, 0}));
}

TEST(OpsMatmul, Errors) {
  EXPECT_TRUE(throws_with([] { matmul(Tensor::ones({64, 784}), Tensor::ones({100, 10})); },
                          "matmul: shapes [64, 784] and [100, 10] cannot be multiplied"));
  EXPECT_TRUE(throws_with([] { matmul(Tensor::ones({2, 3, 4}), Tensor::ones({2, 5, 6})); },
                          "matmul: shapes [2, 3, 4] and [2, 5, 6] cannot be multiplied (4 != 5)"));
  EXPECT_TRUE(throws_with([] { matmul(Tensor::ones({3}), Tensor::ones({3, 4})); },
                          "matmul: both operands need at least 2 dimensions, got shapes [3] and [3, 4]"));
  // batch dimensions that do not broadcast: the message shows the whole shapes
  EXPECT_TRUE(throws_with([] { matmul(Tensor::ones({2, 4, 5}), Tensor::ones({3, 5, 6})); },
                          "matmul: shapes [2, 4, 5] and [3, 5, 6] cannot be multiplied"));
  EXPECT_TRUE(throws_with([] { matmul(Tensor::ones({4, 5}), Tensor::ones({4, 5}, DType::Float64).transpose(0, 1)); },
                          "matmul: dtypes differ (float32 and float64)"));
  Tensor i = Tensor::zeros({2, 2}, DType::Int64);
  EXPECT_TRUE(throws_with([&] { matmul(i, i); }, "matmul: expected a float32 or float64 tensor, got int64"));
  EXPECT_TRUE(throws_with([] { matmul(Tensor(), Tensor::ones({2, 2})); }, "matmul: tensor is undefined"));
}

// The determinism promise for GEMMs (README, "Determinism"): the same inputs and thread count give
// the same bits; one and two threads agree to rounding only, because OpenBLAS may split a GEMM's
// sums differently for another thread count (it does with OPENBLAS_CORETYPE=Haswell).
static std::vector<std::vector<float>> matmul_results(int threads) {
  ThreadsGuard guard(threads);
  Generator gen(60);
  Tensor a = Tensor::randn({300, 200}, &gen), b = Tensor::randn({200, 100}, &gen);
  Tensor heads_q = Tensor::randn({16, 32, 24}, &gen), heads_k = Tensor::randn({16, 24, 32}, &gen);
  Tensor batch = Tensor::randn({4, 64, 200}, &gen);
  return {matmul(a, b).to_vector<float>(),
          matmul(heads_q, heads_k).to_vector<float>(),  // many small: one matrix per thread
          matmul(batch, b).to_vector<float>()};         // shared weight: one folded GEMM
}

// |x - y| <= tol * max|y| for every element: a float32 sum of K products is off by about
// sqrt(K) * 1.2e-7 times its terms' size, which the largest result bounds better than the element
// itself (an element near 0 may be the difference of large terms).
static void expect_close_elementwise(const std::vector<float>& x, const std::vector<float>& y, double tol, const char* what) {
  ASSERT_EQ(x.size(), y.size()) << what;
  double scale = 0;
  for (float v : y) scale = std::max(scale, std::abs(double(v)));
  size_t bad = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::abs(double(x[i]) - double(y[i])) > tol * scale) ++bad;
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << x.size() << " elements differ by more than " << tol
                     << " x " << scale;
}

TEST(OpsMatmul, SameBitsForTheSameThreadCount) {
  for (int threads : {1, 2}) EXPECT_EQ(matmul_results(threads), matmul_results(threads)) << threads << " threads";
}

TEST(OpsMatmul, OneAndTwoThreadsAgreeToRounding) {
  auto one = matmul_results(1), two = matmul_results(2);
  for (size_t i = 0; i < one.size(); ++i) expect_close_elementwise(one[i], two[i], 1e-5, "matmul result");
}

// ---- linear ------------------------------------------------------------------------------------

TEST(OpsLinear, KnownValues) {
  // y[r, o] = sum_i x[r, i] W[o, i] + b[o], by loops
  Tensor x = randn64({5, 7}, 70), w = randn64({3, 7}, 71), b = randn64({3}, 72);
  std::vector<double> vx = x.to_vector<double>(), vw = w.to_vector<double>(), vb = b.to_vector<double>();
  std::vector<double> want(5 * 3), want_no_bias(5 * 3);
  for (int r = 0; r < 5; ++r)
    for (int o = 0; o < 3; ++o) {
      double s = 0;
      for (int i = 0; i < 7; ++i) s += vx[r * 7 + i] * vw[o * 7 + i];
      want_no_bias[r * 3 + o] = s;
      want[r * 3 + o] = s + vb[o];
    }
  Tensor y = linear(x, w, b);
  EXPECT_EQ(y.shape(), (Shape{5, 3}));
  expect_all_near(y.to_vector<double>(), want, 1e-12);
  expect_all_near(linear(x, w).to_vector<double>(), want_no_bias, 1e-12);
  // float32
  expect_all_near(linear(x.to(DType::Float32), w.to(DType::Float32), b.to(DType::Float32)).to_vector<double>(), want, 1e-5);
  // a 3-D input is a batch of rows; a 1-D input is one row
  Tensor y3 = linear(x.reshape({1, 5, 7}), w, b);
  EXPECT_EQ(y3.shape(), (Shape{1, 5, 3}));
  expect_all_near(y3.to_vector<double>(), want, 1e-12);
  Tensor y1 = linear(x.slice(0, 2, 3).reshape({7}), w, b);
  EXPECT_EQ(y1.shape(), (Shape{3}));
  expect_all_near(y1.to_vector<double>(), std::vector<double>(want.begin() + 6, want.begin() + 9), 1e-12);
  // the same as matmul with the transposed weight, plus the bias
  expect_all_near(linear(x, w, b).to_vector<double>(), (matmul(x, w.transpose(0, 1)) + b).to_vector<double>(), 1e-12);
}

TEST(OpsLinear, Gradcheck) {
  auto f_bias = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
  auto f_plain = [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); };
  for (Shape xs : {Shape{4, 5}, Shape{2, 3, 5}, Shape{5}}) {
    SCOPED_TRACE("x " + shape_str(xs));
    GradcheckResult r = gradcheck(f_bias, {randn64(xs, 73), randn64({3, 5}, 74), randn64({3}, 75)});
    ASSERT_TRUE(r.ok) << "with bias: " << r.message;
    r = gradcheck(f_plain, {randn64(xs, 76), randn64({3, 5}, 77)});
    ASSERT_TRUE(r.ok) << "without bias: " << r.message;
  }
  // the input needs no gradient (the images fed to a first layer): only weight and bias are checked
  Tensor x = randn64({6, 5}, 78);
  auto f_first_layer = [&x](const std::vector<Tensor>& in) { return linear(x, in[0], in[1]); };
  GradcheckResult r = gradcheck(f_first_layer, {randn64({3, 5}, 79), randn64({3}, 80)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsLinear, GradientsByHand) {
  // L = sum(y): dW[o, i] = sum_r x[r, i], db[o] = rows, dx[r, i] = sum_o W[o, i]
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
  Tensor w = Tensor::from_vector(std::vector<double>{1, -1, 2, 0, 0, 5}, {3, 2}).requires_grad_();
  Tensor b = Tensor::zeros({3}, DType::Float64).requires_grad_();
  linear(x, w, b).sum().backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{4, 6, 4, 6, 4, 6}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{2, 2, 2}));
  EXPECT_FALSE(x.grad().defined());
  x.requires_grad_();
  w.zero_grad();
  linear(x, w, b).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 4, 3, 4}));
}

TEST(OpsLinear, EmptyBatch) {
  Tensor w = Tensor::ones({2, 3}).requires_grad_();
  Tensor y = linear(Tensor::ones({0, 3}), w, Tensor::ones({2}));
  EXPECT_EQ(y.shape(), (Shape{0, 2}));
  y.sum().backward();
  EXPECT_EQ(w.grad().to_vector<float>(), std::vector<float>(6, 0.0f));
}

TEST(OpsLinear, Errors) {
  Tensor w = Tensor::ones({128, 3136});
  EXPECT_TRUE(throws_with([&] { linear(Tensor::ones({64, 784}), w); },
                          "linear: input has 784 features, layer expects 3136 (input shape [64, 784], weight shape [128, 3136])"));
  EXPECT_TRUE(throws_with([&] { linear(Tensor::ones({64, 3136}), w, Tensor::ones({10})); },
                          "linear: bias must be [128] float32, got [10] float32"));
  EXPECT_TRUE(throws_with([&] { linear(Tensor::ones({64, 3136}), w, Tensor::ones({128}, DType::Float64)); },
                          "linear: bias must be [128] float32, got [128] float64"));
  EXPECT_TRUE(throws_with([&] { linear(Tensor::ones({4, 3}), Tensor::ones({3})); }, "linear: weight must be [out, in], got [3]"));
  EXPECT_TRUE(throws_with([&] { linear(Tensor::ones({4, 3}), Tensor::ones({2, 3}, DType::Float64)); },
                          "linear: input is float32, weight is float64"));
  EXPECT_TRUE(throws_with([&] { linear(Tensor::scalar(1), Tensor::ones({2, 1})); },
                          "linear: input must have at least one dimension"));
}

static std::vector<std::vector<float>> linear_results(int threads) {
  ThreadsGuard guard(threads);
  Generator gen(81);
  Tensor x = Tensor::randn({64, 300}, &gen).requires_grad_(), w = Tensor::randn({128, 300}, &gen).requires_grad_(),
         b = Tensor::randn({128}, &gen).requires_grad_();
  Tensor y = linear(x, w, b);
  (y * y).sum().backward();
  return {y.to_vector<float>(), x.grad().to_vector<float>(), w.grad().to_vector<float>(), b.grad().to_vector<float>()};
}

TEST(OpsLinear, SameBitsForTheSameThreadCount) {
  for (int threads : {1, 2}) EXPECT_EQ(linear_results(threads), linear_results(threads)) << threads << " threads";
}

TEST(OpsLinear, OneAndTwoThreadsAgreeToRounding) {
  auto one = linear_results(1), two = linear_results(2);
  for (size_t i = 0; i < one.size(); ++i) expect_close_elementwise(one[i], two[i], 1e-5, "linear result/gradient");
}

}  // namespace test_ops_matmul
