// embedding, dropout, masked_fill, causal_mask.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <functional>
#include <limits>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_embedding_dropout {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// ---- embedding -----------------------------------------------------------------------------------

TEST(Embedding, LooksUpRows) {
  Tensor weight = Tensor::arange(0, 12, 1, DType::Float64).reshape({4, 3});  // row v = [3v, 3v+1, 3v+2]
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 3, 0, 1}, {2, 2});
  Tensor out = embedding(ids, weight);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(out.to_vector<double>(), (std::vector<double>{3, 4, 5, 9, 10, 11, 0, 1, 2, 3, 4, 5}));
  // float32 and a 1-D ids tensor
  Tensor w32 = weight.to(DType::Float32);
  EXPECT_EQ(embedding(Tensor::from_vector(std::vector<int64_t>{2}, {1}), w32).to_vector<float>(),
            (std::vector<float>{6, 7, 8}));
}

TEST(Embedding, BackwardScatterAddsRepeatedIds) {
  Tensor weight = Tensor::zeros({4, 2}, DType::Float64);
  weight.requires_grad_();
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 1, 2}, {3});
  Tensor out = embedding(ids, weight);
  // g rows: [1, 10], [2, 20], [3, 30]
  out.backward(Tensor::from_vector(std::vector<double>{1, 10, 2, 20, 3, 30}, {3, 2}));
  EXPECT_EQ(weight.grad().to_vector<double>(), (std::vector<double>{0, 0, 3, 30, 3, 30, 0, 0}));
}

TEST(Embedding, Gradcheck) {
  Generator gen(1);
  Tensor weight = Tensor::randn({6, 5}, &gen, DType::Float64);
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{0, 5, 2, 2, 5, 5}, {2, 3});  // repeats
  auto f = [](const std::vector<Tensor>& in) { return embedding(in[0], in[1]); };
  GradcheckResult r = gradcheck(f, {ids, weight});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Embedding, BackwardSameBitsForAnyThreadCount) {
  ThreadsGuard guard;
  Generator gen(2);
  Tensor weight = Tensor::randn({50, 256}, &gen);  // 256 columns: split between threads
  Tensor ids = Tensor::randint(0, 50, {8, 64}, &gen);
  Tensor g = Tensor::randn({8, 64, 256}, &gen);
  std::vector<float> first;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Tensor w = weight.detach().clone();
    w.requires_grad_();
    embedding(ids, w).backward(g);
    if (threads == 1) first = w.grad().to_vector<float>();
    else EXPECT_EQ(w.grad().to_vector<float>(), first);
  }
}

TEST(Embedding, Errors) {
  Tensor weight = Tensor::zeros({4, 3});
  EXPECT_ERROR(embedding(Tensor::from_vector(std::vector<int64_t>{0, 1, 5}, {3}), weight),
               "embedding: id 5 (at position 2 of ids [3]) is out of range for a table of V = 4 rows (weight [4, 3])");
  EXPECT_ERROR(embedding(Tensor::from_vector(std::vector<int64_t>{-1}, {1}), weight), "embedding: id -1");
  EXPECT_ERROR(embedding(Tensor::from_vector(std::vector<int64_t>{3, 4}, {1, 2}), weight),
               "embedding: id 4 (at position 1 of ids [1, 2])");  // V itself is one past the end
  EXPECT_ERROR(embedding(Tensor::zeros({3}), weight), "embedding: ids must be int64, got float32 [3]");
  EXPECT_ERROR(embedding(Tensor::zeros({3}, DType::Int64), Tensor::zeros({12})),
               "embedding: weight must be [V, D], got [12]");
}

// ---- dropout -------------------------------------------------------------------------------------

TEST(Dropout, SameSeedSameMask) {
  Tensor x = Tensor::ones({1000});
  Generator g1(42), g2(42), g3(43);
  std::vector<float> a = dropout(x, 0.5, true, &g1).to_vector<float>();
  EXPECT_EQ(dropout(x, 0.5, true, &g2).to_vector<float>(), a);
  EXPECT_NE(dropout(x, 0.5, true, &g3).to_vector<float>(), a);
  EXPECT_NE(dropout(x, 0.5, true, &g1).to_vector<float>(), a);  // each call draws a new seed
  // the default generator follows manual_seed
  manual_seed(11);
  std::vector<float> d = dropout(x, 0.3, true).to_vector<float>();
  manual_seed(11);
  EXPECT_EQ(dropout(x, 0.3, true).to_vector<float>(), d);
}

TEST(Dropout, SameMaskForAnyThreadCount) {
  ThreadsGuard guard;
  Tensor x = Tensor::ones({200000});
  std::vector<float> first;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Generator gen(7);
    std::vector<float> y = dropout(x, 0.25, true, &gen).to_vector<float>();
    if (threads == 1) first = y;
    else EXPECT_EQ(y, first);
  }
}

TEST(Dropout, ScalesSurvivorsAndPreservesMean) {
  const double p = 0.3;
  const int64_t n = 200000;
  Generator gen(3);
  Tensor y = dropout(Tensor::ones({n}, DType::Float64), p, true, &gen);
  int64_t zeros = 0;
  for (double v : y.to_vector<double>()) {
    if (v == 0) ++zeros;
    else ASSERT_DOUBLE_EQ(v, 1 / (1 - p));
  }
  // the fraction dropped has standard deviation sqrt(p (1-p) / n) ~ 0.001; allow 5 of them
  EXPECT_NEAR(static_cast<double>(zeros) / n, p, 0.005);
  EXPECT_NEAR(mean(y).item(), 1.0, 0.01);
}

TEST(Dropout, EvalAndZeroAreIdentityOneDropsAll) {
  Generator gen(4);
  Tensor x = Tensor::randn({3, 4}, &gen);
  Tensor eval = dropout(x, 0.5, /*training=*/false, &gen);
  EXPECT_EQ(eval.impl(), x.impl());  // the same tensor, not a copy
  EXPECT_EQ(dropout(x, 0.0, true, &gen).impl(), x.impl());
  x.requires_grad_();
  Tensor all = dropout(x, 1.0, true, &gen);
  EXPECT_EQ(all.to_vector<float>(), std::vector<float>(12, 0.0f));
  all.sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(12, 0.0f));
}

TEST(Dropout, GradientIsTheMask) {
  Tensor x = Tensor::ones({2, 50}, DType::Float64);
  x.requires_grad_();
  Generator gen(5);
  Tensor y = dropout(x, 0.4, true, &gen);
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), y.to_vector<double>());  // x = 1, so y is the mask itself

  // gradcheck: a fresh generator with the same seed inside fn gives the same mask every call
  Generator data(6);
  auto f = [](const std::vector<Tensor>& in) {
    Generator g(99);
    return dropout(in[0], 0.4, true, &g);
  };
  GradcheckResult r = gradcheck(f, {Tensor::randn({4, 6}, &data, DType::Float64)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Dropout, Errors) {
  Tensor x = Tensor::ones({2, 3});
  EXPECT_ERROR(dropout(x, 1.5, true), "dropout: probability p must be in [0, 1], got 1.5 (input [2, 3])");
  EXPECT_ERROR(dropout(x, -0.1, false), "dropout: probability p must be in [0, 1], got -0.1");
  EXPECT_ERROR(dropout(x, NAN, true), "dropout: probability p must be in [0, 1]");
  EXPECT_ERROR(dropout(Tensor::zeros({2}, DType::Int64), 0.5, true), "dropout: expected a float32 or float64 tensor");
}

// ---- masked_fill and causal_mask -----------------------------------------------------------------

TEST(CausalMask, Values) {
  EXPECT_EQ(causal_mask(3).to_vector<float>(), (std::vector<float>{0, 1, 1, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(causal_mask(3, DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(causal_mask(0).shape(), (Shape{0, 0}));
  EXPECT_ERROR(causal_mask(-2), "causal_mask: size T must be >= 0, got -2");
}

TEST(MaskedFill, BroadcastMaskKnownValues) {
  Tensor x = Tensor::arange(0, 6, 1, DType::Float64).reshape({2, 3});
  Tensor col = Tensor::from_vector(std::vector<int64_t>{0, 1, 0}, {3});  // int64 mask, one per column
  EXPECT_EQ(masked_fill(x, col, -1).to_vector<double>(), (std::vector<double>{0, -1, 2, 3, -1, 5}));
  Tensor row = Tensor::from_vector(std::vector<float>{0, 2.5}, {2, 1});  // float mask, one per row
  EXPECT_EQ(masked_fill(x, row, 7).to_vector<double>(), (std::vector<double>{0, 1, 2, 7, 7, 7}));
  EXPECT_EQ(masked_fill(x, x, 9).to_vector<double>(), (std::vector<double>{0, 9, 9, 9, 9, 9}));  // same shape
}

TEST(MaskedFill, CausalAttentionScores) {
  // scores [B, H, T, T] masked with one [T, T] mask, then softmax: row i spreads over 0..i only
  const int64_t B = 2, H = 3, T = 4;
  Tensor scores = Tensor::zeros({B, H, T, T}, DType::Float64);
  Tensor p = softmax(masked_fill(scores, causal_mask(T), -std::numeric_limits<double>::infinity()), -1);
  std::vector<double> v = p.to_vector<double>();
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j) EXPECT_DOUBLE_EQ(v[(bh * T + i) * T + j], j <= i ? 1.0 / (i + 1) : 0.0);
}

TEST(MaskedFill, GradientZeroWhereMasked) {
  Tensor x = Tensor::ones({2, 3}, DType::Float64);
  x.requires_grad_();
  Tensor mask = Tensor::from_vector(std::vector<int64_t>{1, 0, 0}, {3});
  masked_fill(x, mask, 5).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 1, 0, 1, 1}));

  Generator gen(8);
  Tensor mask3 = Tensor::from_vector(std::vector<float>{1, 0, 0, 1}, {4, 1});  // broadcast along the last dim
  auto f = [mask3](const std::vector<Tensor>& in) { return masked_fill(in[0], mask3, -2.0); };
  GradcheckResult r = gradcheck(f, {Tensor::randn({2, 4, 3}, &gen, DType::Float64)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(MaskedFill, Errors) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_ERROR(masked_fill(x, Tensor::zeros({4}), 0), "masked_fill: shapes [2, 3] and [4] cannot be broadcast");
  EXPECT_ERROR(masked_fill(x, Tensor::zeros({2, 2, 3}), 0),
               "masked_fill: mask [2, 2, 3] cannot be broadcast to the input's shape [2, 3]");
  EXPECT_ERROR(masked_fill(Tensor::zeros({2}, DType::Int64), Tensor::zeros({2}), 0),
               "masked_fill: expected a float32 or float64 tensor, got int64");
}

}  // namespace test_ops_embedding_dropout
