// The plain reference kernels (core/ops/reference.h): each against a hand-computed tiny case, each
// backward against central differences of its own forward (float64), and each fast op of
// core/ops.h against its reference - forward values and the fast op's autograd gradients - on
// seeded random shapes (odd sizes, stride, padding, dilation, a batch of 1, non-square kernels,
// causal and not, T = 1).
//
// Tolerances (|fast - reference| <= tol * max(1, |reference|), element by element):
//   float64: 1e-10. The reference sums in a different order than the fast op (no blocking, no
//            GEMM), both rounding at ~1e-16 per step; measured here: at most 5e-15.
//   float32: 2e-5. The reference computes in float64 from the same float32 inputs and rounds once;
//            the fast op rounds at every step in float32 (GEMM sums over up to ~75 terms here,
//            fast_exp is within 3e-7). Measured here: at most 2.7e-6 (conv2d), 5e-7 for the others;
//            a wrong term shows as an error of order 1.
//   finite differences: 1e-6 (central differences with eps 1e-6 in float64; measured: at most 5e-9).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/reference.h"
#include "core/random.h"
#include "tests/test_util.h"

using namespace ember;
namespace ref = ember::reference;

namespace test_reference_kernels {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

constexpr double kTol64 = 1e-10;
constexpr double kTol32 = 2e-5;
constexpr double kTolFiniteDifferences = 1e-6;

double tol_for(DType dtype) { return dtype == DType::Float64 ? kTol64 : kTol32; }

// Passes when a and b have the same shape and every element is within tol * max(1, |b|).
testing::AssertionResult close(const Tensor& a, const Tensor& b, double tol) {
  if (!a.defined() || !b.defined()) return testing::AssertionFailure() << "a tensor is undefined";
  if (a.shape() != b.shape())
    return testing::AssertionFailure() << "shapes " << shape_str(a.shape()) << " and " << shape_str(b.shape());
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double err = std::abs(va[i] - vb[i]) / std::max(1.0, std::abs(vb[i]));
    if (std::isnan(err)) {  // a NaN is the worst there is
      worst = err, at = i;
      break;
    }
    if (err > worst) worst = err, at = i;
  }
  if (worst <= tol) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "element " << at << " of " << shape_str(a.shape()) << ": " << va[at]
                                     << " vs " << vb[at] << " (relative error " << worst << " > " << tol << ")";
}

Tensor values(const std::vector<double>& v, const Shape& shape) { return Tensor::from_vector(v, shape); }

// A seeded random tensor in dtype (drawn in float64, then converted).
Tensor rand_t(const Shape& shape, uint64_t seed, DType dtype) { return randn64(shape, seed).to(dtype); }

// A leaf copy of t that requires grad, for running the fast op with autograd.
Tensor leaf(const Tensor& t) { return t.detach().clone().requires_grad_(); }

// d/dx of L = sum(f(x) * r) by central differences, element by element (float64).
Tensor numeric_grad(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& r) {
  const double eps = 1e-6;
  const std::vector<double> rv = r.to_vector<double>();
  auto loss = [&](const Tensor& at) {
    const std::vector<double> y = f(at).to_vector<double>();
    double sum = 0;
    for (size_t i = 0; i < y.size(); ++i) sum += y[i] * rv[i];
    return sum;
  };
  Tensor g = Tensor::empty(x.shape(), DType::Float64);
  for (int64_t i = 0; i < x.numel(); ++i) {
    Tensor plus = x.detach().clone(), minus = x.detach().clone();
    plus.data<double>()[i] += eps;
    minus.data<double>()[i] -= eps;
    g.data<double>()[i] = (loss(plus) - loss(minus)) / (2 * eps);
  }
  return g;
}

const DType kDTypes[] = {DType::Float64, DType::Float32};

// ================================================================================================
// conv2d
// ================================================================================================

TEST(ReferenceConv2d, KnownValues) {
  // x = 1..9 as 3x3, w = [[1, 0], [0, -1]]: y[i, j] = x[i, j] - x[i+1, j+1] = -4, plus the bias 1
  Tensor x = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = values({1, 0, 0, -1}, {1, 1, 2, 2});
  Tensor b = values({1}, {1});
  EXPECT_TRUE(close(ref::conv2d_forward(x, w, b), values({-3, -3, -3, -3}, {1, 1, 2, 2}), 0));
  // dy = 1: db = 4 outputs; dw[tap] = the sum of the 2x2 block of x that tap sees; dx[i, j] = the
  // sum of the taps that touch (i, j)
  ref::Conv2dGrads g = ref::conv2d_backward(x, w, Tensor::ones({1, 1, 2, 2}, DType::Float64));
  EXPECT_TRUE(close(g.dbias, values({4}, {1}), 0));
  EXPECT_TRUE(close(g.dweight, values({12, 16, 24, 28}, {1, 1, 2, 2}), 0));
  EXPECT_TRUE(close(g.dx, values({1, 1, 0, 1, 0, -1, 0, -1, -1}, {1, 1, 3, 3}), 0));
  // stride 2, padding 1, a 1x1 kernel of 2: the outputs see rows and columns -1, 1 and 3 of x, of
  // which only (1, 1) is not padding: 2 * x[1, 1] = 10 in the middle, 0 around it
  Tensor y = ref::conv2d_forward(x, values({2}, {1, 1, 1, 1}), Tensor(), {.stride = 2, .padding = 1});
  EXPECT_TRUE(close(y, values({0, 0, 0, 0, 10, 0, 0, 0, 0}, {1, 1, 3, 3}), 0));
}

struct ConvCase {
  int64_t N, C, H, W, K, KH, KW;
  Conv2dOptions opt;
  bool bias;
};

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cases = {
      {1, 1, 5, 5, 1, 3, 3, {1, 0, 1}, false},  // a batch of 1, one channel
      {2, 3, 7, 6, 4, 3, 3, {1, 1, 1}, true},   // odd sizes, padding
      {2, 2, 9, 8, 3, 3, 3, {2, 1, 1}, true},   // stride 2
      {1, 3, 9, 9, 2, 3, 3, {1, 2, 2}, false},  // dilation 2
      {2, 3, 6, 11, 2, 2, 4, {1, 1, 1}, true},  // non-square kernel
      {1, 2, 7, 11, 3, 3, 2, {3, 1, 2}, true},  // non-square, stride 3, dilation 2
      {3, 4, 5, 5, 5, 1, 1, {1, 0, 1}, true},   // 1x1 (the fast op's pointwise shortcut)
      {2, 3, 6, 6, 2, 1, 1, {2, 0, 1}, false},  // 1x1 with stride (not the shortcut)
      {1, 2, 3, 3, 2, 5, 5, {1, 2, 1}, true},   // a kernel larger than the image
  };
  // and a few random ones, seeded
  Generator gen(11);
  for (int i = 0; i < 4; ++i) {
    ConvCase c{gen.randint(1, 4), gen.randint(1, 5), gen.randint(5, 12), gen.randint(5, 12), gen.randint(1, 5),
               gen.randint(1, 4), gen.randint(1, 4), {gen.randint(1, 3), gen.randint(0, 2), gen.randint(1, 3)},
               gen.randint(0, 2) == 1};
    cases.push_back(c);
  }
  return cases;
}

TEST(ReferenceConv2d, FastOpMatchesReference) {
  uint64_t seed = 100;
  for (const ConvCase& c : conv_cases())
    for (DType dtype : kDTypes) {
      SCOPED_TRACE("x [" + std::to_string(c.N) + ", " + std::to_string(c.C) + ", " + std::to_string(c.H) + ", " +
                   std::to_string(c.W) + "], w [" + std::to_string(c.K) + ", " + std::to_string(c.C) + ", " +
                   std::to_string(c.KH) + ", " + std::to_string(c.KW) + "], stride " + std::to_string(c.opt.stride) +
                   ", padding " + std::to_string(c.opt.padding) + ", dilation " + std::to_string(c.opt.dilation) +
                   ", " + dtype_name(dtype));
      Tensor x = leaf(rand_t({c.N, c.C, c.H, c.W}, ++seed, dtype));
      Tensor w = leaf(rand_t({c.K, c.C, c.KH, c.KW}, ++seed, dtype));
      Tensor b = c.bias ? leaf(rand_t({c.K}, ++seed, dtype)) : Tensor();
      Tensor y = conv2d(x, w, b, c.opt);
      Tensor y_ref = ref::conv2d_forward(x, w, b, c.opt);
      ASSERT_TRUE(close(y, y_ref, tol_for(dtype)));
      Tensor dy = rand_t(y.shape(), ++seed, dtype);
      y.backward(dy);
      ref::Conv2dGrads g = ref::conv2d_backward(x, w, dy, c.opt);
      EXPECT_TRUE(close(x.grad(), g.dx, tol_for(dtype))) << "dx";
      EXPECT_TRUE(close(w.grad(), g.dweight, tol_for(dtype))) << "dweight";
      if (c.bias) {
        EXPECT_TRUE(close(b.grad(), g.dbias, tol_for(dtype))) << "dbias";
      }
    }
}

TEST(ReferenceConv2d, BackwardMatchesFiniteDifferences) {
  const Conv2dOptions opt{2, 1, 2};  // stride, padding and dilation together
  Tensor x = randn64({2, 2, 7, 6}, 1), w = randn64({3, 2, 2, 3}, 2), b = randn64({3}, 3);
  Tensor dy = randn64(ref::conv2d_forward(x, w, b, opt).shape(), 4);
  ref::Conv2dGrads g = ref::conv2d_backward(x, w, dy, opt);
  auto by_x = [&](const Tensor& t) { return ref::conv2d_forward(t, w, b, opt); };
  auto by_w = [&](const Tensor& t) { return ref::conv2d_forward(x, t, b, opt); };
  auto by_b = [&](const Tensor& t) { return ref::conv2d_forward(x, w, t, opt); };
  EXPECT_TRUE(close(g.dx, numeric_grad(by_x, x, dy), kTolFiniteDifferences)) << "dx";
  EXPECT_TRUE(close(g.dweight, numeric_grad(by_w, w, dy), kTolFiniteDifferences)) << "dweight";
  EXPECT_TRUE(close(g.dbias, numeric_grad(by_b, b, dy), kTolFiniteDifferences)) << "dbias";
}

TEST(ReferenceConv2d, Errors) {
  Tensor x = randn64({1, 3, 5, 5}, 1);
  EXPECT_TRUE(throws_with([&] { ref::conv2d_forward(x, randn64({2, 4, 3, 3}, 2)); },
                          "reference::conv2d_forward: input has 3 channels, weight expects 4"));
  EXPECT_TRUE(throws_with([&] { ref::conv2d_forward(x, randn64({2, 3, 7, 7}, 2)); }, "does not fit the input"));
  EXPECT_TRUE(throws_with([&] { ref::conv2d_backward(x, randn64({2, 3, 3, 3}, 2), randn64({1, 2, 4, 4}, 3)); },
                          "reference::conv2d_backward: dy must have the output's shape [1, 2, 3, 3]"));
}

// ================================================================================================
// max_pool2d
// ================================================================================================

TEST(ReferenceMaxPool2d, KnownValues) {
  Tensor x = Tensor::arange(0, 16, 1, DType::Float64).reshape({1, 1, 4, 4});  // x[i, j] = 4i + j
  // 2x2 windows, stride 2: the bottom-right element of each window wins
  EXPECT_TRUE(close(ref::max_pool2d_forward(x, 2), values({5, 7, 13, 15}, {1, 1, 2, 2}), 0));
  Tensor dx = ref::max_pool2d_backward(x, values({1, 2, 3, 4}, {1, 1, 2, 2}), 2);
  EXPECT_TRUE(close(dx, values({0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4}, {1, 1, 4, 4}), 0));
  // padding 1: windows over rows {-1, 0}, {1, 2}, {3, 4}; the padding never wins
  EXPECT_TRUE(close(ref::max_pool2d_forward(x, 2, 2, 1), values({0, 2, 3, 8, 10, 11, 12, 14, 15}, {1, 1, 3, 3}), 0));
  // 3x3 windows, stride 1: the four windows overlap, and all contain x[1, 1] = 100, which collects
  // the four gradients
  Tensor peak = x.clone();
  peak.data<double>()[5] = 100;
  EXPECT_TRUE(close(ref::max_pool2d_forward(peak, 3, 1), values({100, 100, 100, 100}, {1, 1, 2, 2}), 0));
  Tensor dx1 = ref::max_pool2d_backward(peak, values({1, 2, 3, 4}, {1, 1, 2, 2}), 3, 1);
  EXPECT_TRUE(close(dx1, values({0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 4, 4}), 0));
}

TEST(ReferenceMaxPool2d, FastOpMatchesReference) {
  struct PoolCase {
    Shape x;
    int64_t kernel, stride, padding;
  };
  const std::vector<PoolCase> cases = {
      {{1, 1, 4, 4}, 2, 0, 0},  {{2, 3, 7, 5}, 2, 2, 1},  {{1, 2, 9, 9}, 3, 2, 1},
      {{2, 1, 6, 7}, 3, 1, 0},  {{1, 3, 5, 8}, 3, 3, 1},  {{3, 2, 1, 5}, 1, 1, 0},
  };
  uint64_t seed = 200;
  for (const PoolCase& c : cases)
    for (DType dtype : kDTypes) {
      SCOPED_TRACE(shape_str(c.x) + " kernel " + std::to_string(c.kernel) + " stride " + std::to_string(c.stride) +
                   " padding " + std::to_string(c.padding) + " " + dtype_name(dtype));
      Tensor x = leaf(rand_t(c.x, ++seed, dtype));
      Tensor y = max_pool2d(x, c.kernel, c.stride, c.padding);
      ASSERT_TRUE(close(y, ref::max_pool2d_forward(x, c.kernel, c.stride, c.padding), 0));  // a max is exact
      Tensor dy = rand_t(y.shape(), ++seed, dtype);
      y.backward(dy);
      EXPECT_TRUE(close(x.grad(), ref::max_pool2d_backward(x, dy, c.kernel, c.stride, c.padding), tol_for(dtype)));
    }
}

TEST(ReferenceMaxPool2d, BackwardMatchesFiniteDifferences) {
  Tensor x = randn64({2, 2, 7, 6}, 5);  // distinct values: no ties for a small step to flip
  Tensor dy = randn64({2, 2, 4, 3}, 6);
  auto f = [](const Tensor& t) { return ref::max_pool2d_forward(t, 3, 2, 1); };
  EXPECT_TRUE(close(ref::max_pool2d_backward(x, dy, 3, 2, 1), numeric_grad(f, x, dy), kTolFiniteDifferences));
}

// ================================================================================================
// attention
// ================================================================================================

TEST(ReferenceAttention, KnownValues) {
  // D = 1 (scale 1), q = 1, keys 0 and ln 3: scores [0, ln 3] -> probabilities [1/4, 3/4];
  // values 4 and 8 -> 1/4 * 4 + 3/4 * 8 = 7. Causal: query 0 sees only key 0 -> 4.
  Tensor q = values({1, 1}, {1, 1, 2, 1}), k = values({0, std::log(3.0)}, {1, 1, 2, 1});
  Tensor v = values({4, 8}, {1, 1, 2, 1});
  EXPECT_TRUE(close(ref::scaled_dot_product_attention_forward(q, k, v, false), values({7, 7}, {1, 1, 2, 1}), 1e-15));
  EXPECT_TRUE(close(ref::scaled_dot_product_attention_forward(q, k, v, true), values({4, 7}, {1, 1, 2, 1}), 1e-15));
  // dout = [1, 0] (non-causal): dv = p of query 0 = [1/4, 3/4]; dp = v = [4, 8], p.dp = 7,
  // ds = p (dp - 7) = [-3/4, 3/4]; dq_0 = ds . k = 3/4 ln 3; dk = ds q_0 = [-3/4, 3/4]
  ref::AttentionGrads g = ref::scaled_dot_product_attention_backward(q, k, v, values({1, 0}, {1, 1, 2, 1}), false);
  EXPECT_TRUE(close(g.dv, values({0.25, 0.75}, {1, 1, 2, 1}), 1e-15));
  EXPECT_TRUE(close(g.dq, values({0.75 * std::log(3.0), 0}, {1, 1, 2, 1}), 1e-15));
  EXPECT_TRUE(close(g.dk, values({-0.75, 0.75}, {1, 1, 2, 1}), 1e-15));
  // self_attention on the same numbers, packed as qkv [B = 1, T = 2, 3C = 3] with one head
  Tensor qkv = values({1, 0, 4, 1, std::log(3.0), 8}, {1, 2, 3});
  EXPECT_TRUE(close(ref::self_attention_forward(qkv, 1, true), values({4, 7}, {1, 2, 1}), 1e-15));
  EXPECT_TRUE(close(ref::self_attention_backward(qkv, values({1, 0}, {1, 2, 1}), 1, false),
                    values({0.75 * std::log(3.0), -0.75, 0.25, 0, 0.75, 0.75}, {1, 2, 3}), 1e-15));
}

struct AttentionCase {
  int64_t B, H, T, D;
};
const std::vector<AttentionCase> kAttentionCases = {
    {1, 1, 1, 4},   // T = 1: each query sees only itself
    {2, 3, 5, 4},   // odd T
    {1, 2, 37, 8},  // more than one of the fast op's 32-row blocks
    {3, 1, 7, 3},   // odd D
    {1, 4, 2, 1},   // D = 1
};

TEST(ReferenceAttention, FastOpMatchesReference) {
  uint64_t seed = 300;
  for (const AttentionCase& c : kAttentionCases)
    for (bool causal : {false, true})
      for (DType dtype : kDTypes) {
        SCOPED_TRACE("[B, H, T, D] = " + shape_str({c.B, c.H, c.T, c.D}) + (causal ? " causal " : " ") +
                     dtype_name(dtype));
        const Shape shape{c.B, c.H, c.T, c.D};
        Tensor q = leaf(rand_t(shape, ++seed, dtype)), k = leaf(rand_t(shape, ++seed, dtype));
        Tensor v = leaf(rand_t(shape, ++seed, dtype));
        Tensor out = scaled_dot_product_attention(q, k, v, causal);
        ASSERT_TRUE(close(out, ref::scaled_dot_product_attention_forward(q, k, v, causal), tol_for(dtype)));
        Tensor dout = rand_t(shape, ++seed, dtype);
        out.backward(dout);
        ref::AttentionGrads g = ref::scaled_dot_product_attention_backward(q, k, v, dout, causal);
        EXPECT_TRUE(close(q.grad(), g.dq, tol_for(dtype))) << "dq";
        EXPECT_TRUE(close(k.grad(), g.dk, tol_for(dtype))) << "dk";
        EXPECT_TRUE(close(v.grad(), g.dv, tol_for(dtype))) << "dv";
      }
}

TEST(ReferenceAttention, FastSelfAttentionMatchesReference) {
  uint64_t seed = 400;
  for (const AttentionCase& c : kAttentionCases)
    for (bool causal : {false, true})
      for (DType dtype : kDTypes) {
        SCOPED_TRACE("B " + std::to_string(c.B) + " n_head " + std::to_string(c.H) + " T " + std::to_string(c.T) +
                     " D " + std::to_string(c.D) + (causal ? " causal " : " ") + dtype_name(dtype));
        const int64_t C = c.H * c.D;
        Tensor qkv = leaf(rand_t({c.B, c.T, 3 * C}, ++seed, dtype));
        Tensor out = self_attention(qkv, c.H, causal);
        ASSERT_TRUE(close(out, ref::self_attention_forward(qkv, c.H, causal), tol_for(dtype)));
        Tensor dout = rand_t(out.shape(), ++seed, dtype);
        out.backward(dout);
        EXPECT_TRUE(close(qkv.grad(), ref::self_attention_backward(qkv, dout, c.H, causal), tol_for(dtype)));
      }
}

TEST(ReferenceAttention, BackwardMatchesFiniteDifferences) {
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "not causal");
    const Shape shape{2, 2, 5, 3};
    Tensor q = randn64(shape, 7), k = randn64(shape, 8), v = randn64(shape, 9), dout = randn64(shape, 10);
    ref::AttentionGrads g = ref::scaled_dot_product_attention_backward(q, k, v, dout, causal);
    auto by_q = [&](const Tensor& t) { return ref::scaled_dot_product_attention_forward(t, k, v, causal); };
    auto by_k = [&](const Tensor& t) { return ref::scaled_dot_product_attention_forward(q, t, v, causal); };
    auto by_v = [&](const Tensor& t) { return ref::scaled_dot_product_attention_forward(q, k, t, causal); };
    EXPECT_TRUE(close(g.dq, numeric_grad(by_q, q, dout), kTolFiniteDifferences)) << "dq";
    EXPECT_TRUE(close(g.dk, numeric_grad(by_k, k, dout), kTolFiniteDifferences)) << "dk";
    EXPECT_TRUE(close(g.dv, numeric_grad(by_v, v, dout), kTolFiniteDifferences)) << "dv";
    // self_attention with 2 heads
    Tensor qkv = randn64({2, 4, 12}, 11), dout2 = randn64({2, 4, 4}, 12);
    auto f = [&](const Tensor& t) { return ref::self_attention_forward(t, 2, causal); };
    EXPECT_TRUE(close(ref::self_attention_backward(qkv, dout2, 2, causal), numeric_grad(f, qkv, dout2),
                      kTolFiniteDifferences))
        << "dqkv";
  }
}

// ================================================================================================
// batch_norm
// ================================================================================================

TEST(ReferenceBatchNorm, KnownValues) {
  // training, x = [1, 3] in one channel, eps 0: mean 2, var 1 -> xhat = [-1, 1]; y = 2 xhat + 1
  Tensor x = values({1, 3}, {2, 1});
  Tensor running_mean = values({0}, {1}), running_var = values({1}, {1});
  Tensor w = values({2}, {1}), b = values({1}, {1});
  Tensor y = ref::batch_norm_forward(x, running_mean, running_var, w, b, true, 0.1, 0.0);
  EXPECT_TRUE(close(y, values({-1, 3}, {2, 1}), 1e-15));
  // running: 0.9 * 0 + 0.1 * 2 = 0.2;  0.9 * 1 + 0.1 * (var 1 * M / (M - 1) = 2) = 1.1
  EXPECT_TRUE(close(running_mean, values({0.2}, {1}), 1e-15));
  EXPECT_TRUE(close(running_var, values({1.1}, {1}), 1e-15));
  // backward, dy = [1, 0]: db = 1, dw = sum dy xhat = -1; with two values, xhat is +-1 whatever x
  // is, so dx = 0
  ref::NormGrads g = ref::batch_norm_backward(x, Tensor(), Tensor(), w, values({1, 0}, {2, 1}), true, 0.0);
  EXPECT_TRUE(close(g.dbias, values({1}, {1}), 1e-15));
  EXPECT_TRUE(close(g.dweight, values({-1}, {1}), 1e-15));
  EXPECT_TRUE(close(g.dx, values({0, 0}, {2, 1}), 1e-15));
  // eval with running mean 1 and variance 4: y = 2 (x - 1) / 2 + 1 = x; dx = 2 / 2 dy
  Tensor rm = values({1}, {1}), rv = values({4}, {1});
  EXPECT_TRUE(close(ref::batch_norm_forward(x, rm, rv, w, b, false, 0.1, 0.0), x, 1e-15));
  EXPECT_TRUE(close(ref::batch_norm_backward(x, rm, rv, w, values({1, 0}, {2, 1}), false, 0.0).dx,
                    values({1, 0}, {2, 1}), 1e-15));
}

struct NormCase {
  Shape x;
  bool weight, bias;
};

TEST(ReferenceBatchNorm, FastOpMatchesReference) {
  const std::vector<NormCase> cases = {
      {{4, 3}, true, true},         // [N, C]
      {{1, 2, 5, 3}, true, true},   // a batch of 1 (the statistics come from H*W)
      {{3, 5, 3, 7}, false, false}, // no weight or bias
      {{2, 3, 9}, true, false},     // [N, C, L]
  };
  uint64_t seed = 500;
  for (const NormCase& c : cases)
    for (bool training : {true, false})
      for (DType dtype : kDTypes) {
        SCOPED_TRACE(shape_str(c.x) + (training ? " training " : " eval ") + dtype_name(dtype));
        const int64_t C = c.x[1];
        Tensor x = leaf(rand_t(c.x, ++seed, dtype));
        Tensor w = c.weight ? leaf(rand_t({C}, ++seed, dtype)) : Tensor();
        Tensor b = c.bias ? leaf(rand_t({C}, ++seed, dtype)) : Tensor();
        // running statistics: any mean, a positive variance; one copy for each op
        Generator gen(++seed);
        Tensor rm = rand_t({C}, ++seed, dtype), rv = Tensor::uniform({C}, 0.5, 2.0, &gen, dtype);
        Tensor rm_ref = rm.clone(), rv_ref = rv.clone();
        Tensor y = batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5);
        ASSERT_TRUE(close(y, ref::batch_norm_forward(x, rm_ref, rv_ref, w, b, training, 0.1, 1e-5), tol_for(dtype)));
        EXPECT_TRUE(close(rm, rm_ref, tol_for(dtype))) << "running_mean";
        EXPECT_TRUE(close(rv, rv_ref, tol_for(dtype))) << "running_var";
        Tensor dy = rand_t(c.x, ++seed, dtype);
        y.backward(dy);
        ref::NormGrads g = ref::batch_norm_backward(x, rm_ref, rv_ref, w, dy, training, 1e-5);
        EXPECT_TRUE(close(x.grad(), g.dx, tol_for(dtype))) << "dx";
        if (c.weight) {
          EXPECT_TRUE(close(w.grad(), g.dweight, tol_for(dtype))) << "dweight";
        }
        if (c.bias) {
          EXPECT_TRUE(close(b.grad(), g.dbias, tol_for(dtype))) << "dbias";
        }
      }
}

TEST(ReferenceBatchNorm, BackwardMatchesFiniteDifferences) {
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    Tensor x = randn64({3, 2, 2, 3}, 13), w = randn64({2}, 14), b = randn64({2}, 15), dy = randn64({3, 2, 2, 3}, 16);
    Tensor rm = values({0.3, -0.2}, {2}), rv = values({0.8, 1.5}, {2});
    // the forward updates running statistics in training: give it copies, so that eval stays put
    auto forward = [&](const Tensor& xs, const Tensor& ws, const Tensor& bs) {
      return ref::batch_norm_forward(xs, rm.clone(), rv.clone(), ws, bs, training, 0.1, 1e-5);
    };
    ref::NormGrads g = ref::batch_norm_backward(x, rm, rv, w, dy, training, 1e-5);
    EXPECT_TRUE(close(g.dx, numeric_grad([&](const Tensor& t) { return forward(t, w, b); }, x, dy),
                      kTolFiniteDifferences))
        << "dx";
    EXPECT_TRUE(close(g.dweight, numeric_grad([&](const Tensor& t) { return forward(x, t, b); }, w, dy),
                      kTolFiniteDifferences))
        << "dweight";
    EXPECT_TRUE(close(g.dbias, numeric_grad([&](const Tensor& t) { return forward(x, w, t); }, b, dy),
                      kTolFiniteDifferences))
        << "dbias";
  }
}

// ================================================================================================
// layer_norm
// ================================================================================================

TEST(ReferenceLayerNorm, KnownValues) {
  // x = [0, 0, 2, 2], eps 0: mean 1, var 1 -> y = xhat = [-1, -1, 1, 1]
  Tensor x = values({0, 0, 2, 2}, {1, 4});
  EXPECT_TRUE(close(ref::layer_norm_forward(x, Tensor(), Tensor(), 0.0), values({-1, -1, 1, 1}, {1, 4}), 1e-15));
  Tensor w = values({1, 2, 3, 4}, {4}), b = values({0, 1, 0, 1}, {4});
  EXPECT_TRUE(close(ref::layer_norm_forward(x, w, b, 0.0), values({-1, -1, 3, 5}, {1, 4}), 1e-15));
  // dy = [1, 0, 0, 0], no weight: mean(dy) = 1/4, mean(dy xhat) = -1/4,
  // dx = dy - 1/4 - xhat (-1/4) = [1/2, -1/2, 0, 0]; dw = dy xhat, db = dy
  ref::NormGrads g = ref::layer_norm_backward(x, Tensor(), values({1, 0, 0, 0}, {1, 4}), 0.0);
  EXPECT_TRUE(close(g.dx, values({0.5, -0.5, 0, 0}, {1, 4}), 1e-15));
  EXPECT_TRUE(close(g.dweight, values({-1, 0, 0, 0}, {4}), 1e-15));
  EXPECT_TRUE(close(g.dbias, values({1, 0, 0, 0}, {4}), 1e-15));
}

TEST(ReferenceLayerNorm, FastOpMatchesReference) {
  const std::vector<NormCase> cases = {
      {{1, 7}, true, true},      // one row
      {{2, 5, 9}, true, true},   // [B, T, D], odd sizes
      {{3, 33}, false, false},   // no weight or bias
      {{4, 1, 6}, false, true},  // bias only
      {{5}, true, false},        // a single vector
  };
  uint64_t seed = 600;
  for (const NormCase& c : cases)
    for (DType dtype : kDTypes) {
      SCOPED_TRACE(shape_str(c.x) + " " + dtype_name(dtype));
      const int64_t D = c.x.back();
      Tensor x = leaf(rand_t(c.x, ++seed, dtype) * 3.0 + 2.0);  // a mean and spread other than 0 and 1
      Tensor w = c.weight ? leaf(rand_t({D}, ++seed, dtype)) : Tensor();
      Tensor b = c.bias ? leaf(rand_t({D}, ++seed, dtype)) : Tensor();
      Tensor y = layer_norm(x, w, b, 1e-5);
      ASSERT_TRUE(close(y, ref::layer_norm_forward(x, w, b, 1e-5), tol_for(dtype)));
      Tensor dy = rand_t(c.x, ++seed, dtype);
      y.backward(dy);
      ref::NormGrads g = ref::layer_norm_backward(x, w, dy, 1e-5);
      EXPECT_TRUE(close(x.grad(), g.dx, tol_for(dtype))) << "dx";
      if (c.weight) {
        EXPECT_TRUE(close(w.grad(), g.dweight, tol_for(dtype))) << "dweight";
      }
      if (c.bias) {
        EXPECT_TRUE(close(b.grad(), g.dbias, tol_for(dtype))) << "dbias";
      }
    }
}

TEST(ReferenceLayerNorm, BackwardMatchesFiniteDifferences) {
  Tensor x = randn64({3, 2, 5}, 17), w = randn64({5}, 18), b = randn64({5}, 19), dy = randn64({3, 2, 5}, 20);
  ref::NormGrads g = ref::layer_norm_backward(x, w, dy, 1e-5);
  auto by_x = [&](const Tensor& t) { return ref::layer_norm_forward(t, w, b, 1e-5); };
  auto by_w = [&](const Tensor& t) { return ref::layer_norm_forward(x, t, b, 1e-5); };
  auto by_b = [&](const Tensor& t) { return ref::layer_norm_forward(x, w, t, 1e-5); };
  EXPECT_TRUE(close(g.dx, numeric_grad(by_x, x, dy), kTolFiniteDifferences)) << "dx";
  EXPECT_TRUE(close(g.dweight, numeric_grad(by_w, w, dy), kTolFiniteDifferences)) << "dweight";
  EXPECT_TRUE(close(g.dbias, numeric_grad(by_b, b, dy), kTolFiniteDifferences)) << "dbias";
}

// ================================================================================================
// softmax, log_softmax, cross_entropy
// ================================================================================================

TEST(ReferenceSoftmax, KnownValues) {
  // x = [0, ln 3]: softmax [1/4, 3/4]
  Tensor x = values({0, std::log(3.0)}, {1, 2});
  EXPECT_TRUE(close(ref::softmax_forward(x), values({0.25, 0.75}, {1, 2}), 1e-15));
  EXPECT_TRUE(close(ref::log_softmax_forward(x), values({std::log(0.25), std::log(0.75)}, {1, 2}), 1e-15));
  // dy = [1, 0]: softmax: y (dy - y.dy) = [1/4 * 3/4, 3/4 * -1/4];  log_softmax: dy - y sum(dy)
  Tensor dy = values({1, 0}, {1, 2});
  EXPECT_TRUE(close(ref::softmax_backward(x, dy), values({3.0 / 16, -3.0 / 16}, {1, 2}), 1e-15));
  EXPECT_TRUE(close(ref::log_softmax_backward(x, dy), values({0.75, -0.75}, {1, 2}), 1e-15));
  // along dim 0 of a column: the same numbers
  EXPECT_TRUE(close(ref::softmax_forward(x.reshape({2, 1}), 0), values({0.25, 0.75}, {2, 1}), 1e-15));
}

TEST(ReferenceCrossEntropy, KnownValues) {
  // two rows of logits [0, ln 3] (probabilities [1/4, 3/4]) with targets 1 and 0, and a third
  // row that is ignored
  Tensor logits = values({0, std::log(3.0), 0, std::log(3.0), 5, -5}, {3, 2});
  Tensor target = Tensor::from_vector(std::vector<int64_t>{1, 0, -100}, {3});
  const double l0 = -std::log(0.75), l1 = -std::log(0.25);
  EXPECT_NEAR(ref::cross_entropy_forward(logits, target).item(), (l0 + l1) / 2, 1e-15);
  EXPECT_NEAR(ref::cross_entropy_forward(logits, target, Reduction::Sum).item(), l0 + l1, 1e-15);
  EXPECT_TRUE(close(ref::cross_entropy_forward(logits, target, Reduction::None), values({l0, l1, 0}, {3}), 1e-15));
  // Mean: dx = (softmax - onehot) / 2 on the two rows that count, 0 on the ignored one
  Tensor dx = ref::cross_entropy_backward(logits, target, Tensor::scalar(1.0, DType::Float64));
  EXPECT_TRUE(close(dx, values({0.125, -0.125, -0.375, 0.375, 0, 0}, {3, 2}), 1e-15));
}

TEST(ReferenceSoftmax, FastOpMatchesReference) {
  const std::vector<std::pair<Shape, int64_t>> cases = {
      {{3, 7}, -1}, {{1, 5}, 1}, {{4, 3, 5}, 1}, {{4, 3, 5}, 0}, {{2, 1, 6}, -2}, {{6}, 0}, {{2, 9, 1}, 1}};
  uint64_t seed = 700;
  for (const auto& [shape, dim] : cases)
    for (bool log : {false, true})
      for (DType dtype : kDTypes) {
        SCOPED_TRACE(shape_str(shape) + " dim " + std::to_string(dim) + (log ? " log_softmax " : " softmax ") +
                     dtype_name(dtype));
        Tensor x = leaf(rand_t(shape, ++seed, dtype) * 4.0);
        Tensor y = log ? log_softmax(x, dim) : softmax(x, dim);
        ASSERT_TRUE(close(y, log ? ref::log_softmax_forward(x, dim) : ref::softmax_forward(x, dim), tol_for(dtype)));
        Tensor dy = rand_t(shape, ++seed, dtype);
        y.backward(dy);
        Tensor dx = log ? ref::log_softmax_backward(x, dy, dim) : ref::softmax_backward(x, dy, dim);
        EXPECT_TRUE(close(x.grad(), dx, tol_for(dtype)));
      }
}

TEST(ReferenceCrossEntropy, FastOpMatchesReference) {
  struct CeCase {
    Shape logits;
    bool some_ignored;
  };
  const std::vector<CeCase> cases = {
      {{1, 5}, false}, {{7, 3}, true}, {{2, 4, 3, 5}, true}, {{3, 2, 7}, false}, {{4, 11}, false}};
  uint64_t seed = 800;
  for (const CeCase& c : cases)
    for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None})
      for (DType dtype : kDTypes) {
        SCOPED_TRACE(shape_str(c.logits) + " reduction " + std::to_string(static_cast<int>(reduction)) + " " +
                     dtype_name(dtype));
        Shape target_shape = c.logits;
        target_shape.erase(target_shape.begin() + 1);
        Generator gen(++seed);
        Tensor target = Tensor::randint(0, c.logits[1], target_shape, &gen);
        if (c.some_ignored) target.data<int64_t>()[1] = -100;
        Tensor logits = leaf(rand_t(c.logits, ++seed, dtype) * 3.0);
        Tensor loss = cross_entropy(logits, target, reduction);
        ASSERT_TRUE(close(loss, ref::cross_entropy_forward(logits, target, reduction), tol_for(dtype)));
        Tensor dloss = rand_t(loss.shape(), ++seed, dtype);
        loss.backward(dloss);
        EXPECT_TRUE(close(logits.grad(), ref::cross_entropy_backward(logits, target, dloss, reduction),
                          tol_for(dtype)));
      }
}

TEST(ReferenceSoftmax, BackwardMatchesFiniteDifferences) {
  Tensor x = randn64({3, 4, 5}, 21), dy = randn64({3, 4, 5}, 22);
  for (int64_t dim : {0, 1, 2}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    auto sm = [&](const Tensor& t) { return ref::softmax_forward(t, dim); };
    auto lsm = [&](const Tensor& t) { return ref::log_softmax_forward(t, dim); };
    EXPECT_TRUE(close(ref::softmax_backward(x, dy, dim), numeric_grad(sm, x, dy), kTolFiniteDifferences));
    EXPECT_TRUE(close(ref::log_softmax_backward(x, dy, dim), numeric_grad(lsm, x, dy), kTolFiniteDifferences));
  }
}

TEST(ReferenceCrossEntropy, BackwardMatchesFiniteDifferences) {
  Tensor logits = randn64({3, 4, 5}, 23);
  Tensor target = Tensor::from_vector(std::vector<int64_t>{0, 3, -100, 2, 1, 1, 0, 3, 2, -100, 3, 0, 1, 2, 0}, {3, 5});
  for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    SCOPED_TRACE("reduction " + std::to_string(static_cast<int>(reduction)));
    Tensor dloss = reduction == Reduction::None ? randn64({3, 5}, 24) : Tensor::scalar(0.7, DType::Float64);
    auto f = [&](const Tensor& t) { return ref::cross_entropy_forward(t, target, reduction); };
    EXPECT_TRUE(close(ref::cross_entropy_backward(logits, target, dloss, reduction), numeric_grad(f, logits, dloss),
                      kTolFiniteDifferences));
  }
}

TEST(ReferenceKernels, DoNotRecordAutograd) {
  Tensor x = leaf(randn64({2, 3, 4}, 25));
  Tensor y = ref::softmax_forward(x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_EQ(ref::layer_norm_forward(x, Tensor(), Tensor()).grad_fn(), nullptr);
  EXPECT_EQ(ref::softmax_forward(x.to(DType::Float32)).dtype(), DType::Float32);  // results keep the input's type
}

}  // namespace test_reference_kernels
