// scaled_dot_product_attention: known values, gradients (gradcheck, and the same computation
// composed from matmul / transpose / softmax / mul), dropout, determinism and error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_ops_attention {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// softmax(masked_fill(q k^T / sqrt(D), future, -inf)) [* keep] v, from the engine's separate ops.
// `keep` is the dropout mask already divided by (1 - p), [B, H, T, T], or undefined for none.
Tensor attention_composed(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                          const Tensor& keep = Tensor()) {
  const int64_t T = q.size(2), D = q.size(3);
  Tensor s = matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(D)));
  if (causal) s = masked_fill(s, causal_mask(T), -std::numeric_limits<double>::infinity());
  Tensor p = softmax(s, -1);
  if (keep.defined()) p = p * keep;
  return matmul(p, v);
}

// [B, H, T, T] with an identity matrix per head.
Tensor eye_heads(int64_t B, int64_t H, int64_t T, DType dtype) {
  std::vector<double> e(B * H * T * T, 0.0);
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t i = 0; i < T; ++i) e[(bh * T + i) * T + i] = 1.0;
  return Tensor::from_vector(e, {B, H, T, T}).to(dtype);
}

// Output and the gradients of q, k, v for a given upstream gradient, from either the fused op
// (with a fresh Generator(seed)) or the composed reference.
struct Result {
  std::vector<double> out, dq, dk, dv;
};

template <typename F>
Result run_with_grads(const Tensor& q0, const Tensor& k0, const Tensor& v0, const Tensor& gout, F attention) {
  Tensor q = q0.clone().detach().requires_grad_(), k = k0.clone().detach().requires_grad_(),
         v = v0.clone().detach().requires_grad_();
  Tensor out = attention(q, k, v);
  out.backward(gout);
  return {out.to_vector<double>(), q.grad().to_vector<double>(), k.grad().to_vector<double>(),
          v.grad().to_vector<double>()};
}

void expect_results_near(const Result& a, const Result& b, double tol) {
  expect_all_near(a.out, b.out, tol, "output");
  expect_all_near(a.dq, b.dq, tol, "dq");
  expect_all_near(a.dk, b.dk, tol, "dk");
  expect_all_near(a.dv, b.dv, tol, "dv");
}

TEST(Attention, KnownValuesByHand) {
  // One head, T = 2, D = 1 (scale 1): q = [1, 2], k = [0, ln 3], v = [10, 20].
  // Row 0: scores [0, ln 3] -> P = [1/4, 3/4] -> 0.25 * 10 + 0.75 * 20 = 17.5
  // Row 1: scores [0, 2 ln 3] -> exp = [1, 9] -> P = [0.1, 0.9] -> 19
  // Causal: row 0 sees only key 0 -> 10; row 1 as before -> 19.
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor q = Tensor::from_vector(std::vector<double>{1, 2}, {1, 1, 2, 1}).to(dt);
    Tensor k = Tensor::from_vector(std::vector<double>{0, std::log(3.0)}, {1, 1, 2, 1}).to(dt);
    Tensor v = Tensor::from_vector(std::vector<double>{10, 20}, {1, 1, 2, 1}).to(dt);
    std::vector<double> full = scaled_dot_product_attention(q, k, v, false).to_vector<double>();
    EXPECT_NEAR(full[0], 17.5, 1e-5);
    EXPECT_NEAR(full[1], 19.0, 1e-5);
    std::vector<double> causal = scaled_dot_product_attention(q, k, v, true).to_vector<double>();
    EXPECT_NEAR(causal[0], 10.0, 1e-5);
    EXPECT_NEAR(causal[1], 19.0, 1e-5);
  }
}

TEST(Attention, GradcheckNotCausal) {
  Generator gen(1);
  auto f = [](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], false); };
  // B, H > 1 and T != D
  GradcheckResult r = gradcheck(f, {Tensor::randn({2, 3, 5, 3}, &gen), Tensor::randn({2, 3, 5, 3}, &gen),
                                    Tensor::randn({2, 3, 5, 3}, &gen)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Attention, GradcheckCausal) {
  Generator gen(2);
  auto f = [](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], true); };
  GradcheckResult r = gradcheck(f, {Tensor::randn({2, 2, 7, 4}, &gen), Tensor::randn({2, 2, 7, 4}, &gen),
                                    Tensor::randn({2, 2, 7, 4}, &gen)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Attention, GradcheckCausalAcrossRowBlocks) {
  // T = 70: three of the causal path's 32-row blocks, the last one partial; the GEMMs cover the
  // lower-left blocks only
  Generator gen(3);
  auto f = [](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], true); };
  GradcheckOptions opt;
  opt.max_elements_per_input = 60;
  GradcheckResult r = gradcheck(f, {Tensor::randn({1, 2, 70, 3}, &gen), Tensor::randn({1, 2, 70, 3}, &gen),
                                    Tensor::randn({1, 2, 70, 3}, &gen)}, opt);
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Attention, GradcheckWithDropout) {
  Generator gen(4);
  for (bool causal : {false, true}) {
    // a fresh generator with a fixed seed on every call: the same mask each time gradcheck
    // evaluates the function
    auto f = [causal](const std::vector<Tensor>& in) {
      Generator g(123);
      return scaled_dot_product_attention(in[0], in[1], in[2], causal, 0.3, /*training=*/true, &g);
    };
    GradcheckResult r = gradcheck(f, {Tensor::randn({2, 2, 6, 4}, &gen), Tensor::randn({2, 2, 6, 4}, &gen),
                                      Tensor::randn({2, 2, 6, 4}, &gen)});
    ASSERT_TRUE(r.ok) << (causal ? "causal: " : "not causal: ") << r.message;
  }
}

TEST(Attention, MatchesComposedOpsWithGradients) {
  Generator gen(5);
  for (bool causal : {false, true}) {
    for (int64_t T : {9, 150}) {  // 150: five causal row blocks, the last one partial
      const int64_t B = 2, H = 3, D = 5;
      Tensor q = Tensor::randn({B, H, T, D}, &gen, DType::Float64);
      Tensor k = Tensor::randn({B, H, T, D}, &gen, DType::Float64);
      Tensor v = Tensor::randn({B, H, T, D}, &gen, DType::Float64);
      Tensor g = Tensor::randn({B, H, T, D}, &gen, DType::Float64);
      Result fused = run_with_grads(q, k, v, g, [&](const Tensor& a, const Tensor& b, const Tensor& c) {
        return scaled_dot_product_attention(a, b, c, causal);
      });
      Result composed = run_with_grads(q, k, v, g, [&](const Tensor& a, const Tensor& b, const Tensor& c) {
        return attention_composed(a, b, c, causal);
      });
      SCOPED_TRACE(std::string(causal ? "causal" : "not causal") + ", T = " + std::to_string(T));
      expect_results_near(fused, composed, 1e-10);
    }
  }
}

TEST(Attention, Float32MatchesFloat64) {
  // float32 takes fast_exp, float64 std::exp: the two must agree
  Generator gen(6);
  for (bool causal : {false, true}) {
    Tensor q = Tensor::randn({2, 2, 100, 16}, &gen, DType::Float64) * 2.0;  // a spread of scores
    Tensor k = Tensor::randn({2, 2, 100, 16}, &gen, DType::Float64);
    Tensor v = Tensor::randn({2, 2, 100, 16}, &gen, DType::Float64);
    Tensor g = Tensor::randn({2, 2, 100, 16}, &gen, DType::Float64);
    auto fused = [&](const Tensor& a, const Tensor& b, const Tensor& c) {
      return scaled_dot_product_attention(a, b, c, causal);
    };
    Result r64 = run_with_grads(q, k, v, g, fused);
    Result r32 = run_with_grads(q.to(DType::Float32), k.to(DType::Float32), v.to(DType::Float32),
                                g.to(DType::Float32), fused);
    expect_results_near(r32, r64, 2e-5);
  }
}

TEST(Attention, LargeScoresStayFiniteAndRowsSumToOne) {
  // with V = I per head (D = T) the output is P itself
  const int64_t T = 20;
  Generator gen(7);
  Tensor q = Tensor::randn({1, 2, T, T}, &gen) * 100.0, k = Tensor::randn({1, 2, T, T}, &gen) * 100.0;
  for (bool causal : {false, true}) {
    Tensor eye = eye_heads(1, 2, T, DType::Float32);
    std::vector<float> p = scaled_dot_product_attention(q, k, eye, causal).to_vector<float>();
    for (int64_t row = 0; row < 2 * T; ++row) {
      double total = 0;
      for (int64_t j = 0; j < T; ++j) {
        float pj = p[row * T + j];
        ASSERT_TRUE(std::isfinite(pj));
        ASSERT_GE(pj, 0.0f);
        if (causal && j > row % T) {
          EXPECT_EQ(pj, 0.0f) << "row " << row << " sees the future at " << j;
        }
        total += pj;
      }
      EXPECT_NEAR(total, 1.0, 1e-5) << "row " << row;
    }
  }
}

TEST(Attention, NaNPropagates) {
  Tensor q = Tensor::ones({1, 1, 3, 2}), k = Tensor::ones({1, 1, 3, 2}), v = Tensor::ones({1, 1, 3, 2});
  q.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> out = scaled_dot_product_attention(q, k, v, false).to_vector<float>();
  EXPECT_TRUE(std::isnan(out[0]));  // row 0 read the NaN
  EXPECT_FLOAT_EQ(out[2], 1.0f);    // row 1 did not
}

TEST(Attention, DropoutMatchesComposedOpsWithTheSameMask) {
  // The mask is read off the op itself: with V = I (so D = T) the output is P_drop. Then the same
  // seed with random V must give P_drop V, and the gradients of the composed computation.
  const int64_t B = 2, H = 2, T = 80, D = 80;  // T = 80: three causal row blocks
  const double p = 0.2;
  Generator gen(8);
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "not causal");
    Tensor q = Tensor::randn({B, H, T, D}, &gen, DType::Float64);
    Tensor k = Tensor::randn({B, H, T, D}, &gen, DType::Float64);
    Tensor v = Tensor::randn({B, H, T, D}, &gen, DType::Float64);
    Tensor g = Tensor::randn({B, H, T, D}, &gen, DType::Float64);
    Generator g1(99);
    Tensor p_drop = scaled_dot_product_attention(q, k, eye_heads(B, H, T, DType::Float64), causal, p, true, &g1);
    Tensor probs = scaled_dot_product_attention(q, k, eye_heads(B, H, T, DType::Float64), causal);
    std::vector<double> pd = p_drop.to_vector<double>(), pr = probs.to_vector<double>();
    std::vector<double> keep(pd.size());
    int64_t dropped = 0, seen = 0;
    for (size_t i = 0; i < pd.size(); ++i) {
      if (pr[i] == 0) continue;  // the masked future
      ++seen;
      keep[i] = pd[i] == 0 ? 0.0 : 1.0 / (1.0 - p);
      dropped += pd[i] == 0;
      if (pd[i] != 0) {
        EXPECT_NEAR(pd[i], pr[i] / (1.0 - p), 1e-12);
      }
    }
    // about p of the entries are dropped (~10^4 entries: 3 sigma is ~0.012)
    EXPECT_NEAR(static_cast<double>(dropped) / seen, p, 0.015);
    Tensor keep_t = Tensor::from_vector(keep, {B, H, T, T});

    Result fused = run_with_grads(q, k, v, g, [&](const Tensor& a, const Tensor& b, const Tensor& c) {
      Generator g2(99);
      return scaled_dot_product_attention(a, b, c, causal, p, true, &g2);
    });
    Result composed = run_with_grads(q, k, v, g, [&](const Tensor& a, const Tensor& b, const Tensor& c) {
      return attention_composed(a, b, c, causal, keep_t);
    });
    expect_results_near(fused, composed, 1e-10);
  }
}

TEST(Attention, DropoutOnlyInTraining) {
  Generator gen(9);
  Tensor q = Tensor::randn({2, 2, 8, 4}, &gen), k = Tensor::randn({2, 2, 8, 4}, &gen);
  Tensor v = Tensor::randn({2, 2, 8, 4}, &gen);
  Generator g1(1);
  std::vector<float> eval =
      scaled_dot_product_attention(q, k, v, true, 0.5, /*training=*/false, &g1).to_vector<float>();
  EXPECT_EQ(eval, scaled_dot_product_attention(q, k, v, true).to_vector<float>());
  EXPECT_EQ(g1.next_u64(), Generator(1).next_u64()) << "eval mode must not draw from the generator";
}

TEST(Attention, SameSeedSameResultDifferentSeedDifferent) {
  Generator gen(10);
  Tensor q = Tensor::randn({2, 3, 16, 8}, &gen), k = Tensor::randn({2, 3, 16, 8}, &gen);
  Tensor v = Tensor::randn({2, 3, 16, 8}, &gen);
  auto run = [&](uint64_t seed) {
    Generator g(seed);
    return scaled_dot_product_attention(q, k, v, true, 0.2, true, &g).to_vector<float>();
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
  // the default generator follows manual_seed
  manual_seed(11);
  std::vector<float> a = scaled_dot_product_attention(q, k, v, true, 0.2, true).to_vector<float>();
  manual_seed(11);
  EXPECT_EQ(a, scaled_dot_product_attention(q, k, v, true, 0.2, true).to_vector<float>());
}

TEST(Attention, SameBitsOnOneAndTwoThreads) {
  ThreadsGuard restore;
  Generator gen(12);
  // 5 heads: an uneven split over two threads; T = 100: four causal row blocks
  Tensor q = Tensor::randn({1, 5, 100, 16}, &gen), k = Tensor::randn({1, 5, 100, 16}, &gen),
         v = Tensor::randn({1, 5, 100, 16}, &gen), g = Tensor::randn({1, 5, 100, 16}, &gen);
  auto run = [&](int threads) {
    set_num_threads(threads);
    return run_with_grads(q, k, v, g, [](const Tensor& a, const Tensor& b, const Tensor& c) {
      Generator g2(3);
      return scaled_dot_product_attention(a, b, c, true, 0.2, true, &g2);
    });
  };
  Result one = run(1), two = run(2);
  EXPECT_EQ(one.out, two.out);
  EXPECT_EQ(one.dq, two.dq);
  EXPECT_EQ(one.dk, two.dk);
  EXPECT_EQ(one.dv, two.dv);
}

TEST(Attention, NoGradGivesTheSameOutput) {
  Generator gen(13);
  Tensor q = Tensor::randn({2, 2, 30, 8}, &gen).requires_grad_(), k = Tensor::randn({2, 2, 30, 8}, &gen),
         v = Tensor::randn({2, 2, 30, 8}, &gen);
  for (double p : {0.0, 0.3}) {
    Generator g1(4), g2(4);
    Tensor with_grad = scaled_dot_product_attention(q, k, v, true, p, true, &g1);
    EXPECT_TRUE(with_grad.requires_grad());
    NoGradGuard no_grad;
    Tensor without = scaled_dot_product_attention(q, k, v, true, p, true, &g2);
    EXPECT_FALSE(without.requires_grad());
    EXPECT_EQ(with_grad.to_vector<float>(), without.to_vector<float>());
  }
}

TEST(Attention, EmptyInput) {
  Tensor q = Tensor::zeros({2, 3, 0, 4}).requires_grad_();
  Tensor out = scaled_dot_product_attention(q, q, q, true);
  EXPECT_EQ(out.shape(), (Shape{2, 3, 0, 4}));
  out.sum().backward();
  EXPECT_EQ(q.grad().shape(), (Shape{2, 3, 0, 4}));
}

TEST(Attention, ErrorsNameTheOpAndShapes) {
  auto message_of = [](auto call) -> std::string {
    try {
      call();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  std::string msg = message_of([] {
    Tensor x = Tensor::zeros({2, 3, 4});
    scaled_dot_product_attention(x, x, x, false);
  });
  EXPECT_NE(msg.find("scaled_dot_product_attention"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3, 4]"), std::string::npos) << msg;

  msg = message_of([] {
    Tensor q = Tensor::zeros({1, 2, 5, 4}), k = Tensor::zeros({1, 2, 6, 4});
    scaled_dot_product_attention(q, k, q, true);
  });
  EXPECT_NE(msg.find("scaled_dot_product_attention"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1, 2, 5, 4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1, 2, 6, 4]"), std::string::npos) << msg;

  msg = message_of([] {
    Tensor x = Tensor::zeros({1, 1, 2, 2});
    scaled_dot_product_attention(x, x.to(DType::Float64), x, false);
  });
  EXPECT_NE(msg.find("scaled_dot_product_attention"), std::string::npos) << msg;
  EXPECT_NE(msg.find("float64"), std::string::npos) << msg;

  msg = message_of([] {
    Tensor x = Tensor::zeros({1, 1, 2, 2});
    scaled_dot_product_attention(x, x, x, false, 1.0, true);
  });
  EXPECT_NE(msg.find("scaled_dot_product_attention: dropout_p"), std::string::npos) << msg;

  msg = message_of([] {
    Tensor x = Tensor::zeros({1, 1, 2, 2}, DType::Int64);
    scaled_dot_product_attention(x, x, x, false);
  });
  EXPECT_NE(msg.find("scaled_dot_product_attention"), std::string::npos) << msg;
  EXPECT_NE(msg.find("int64"), std::string::npos) << msg;
}

// ---- self_attention: the heads read straight out of a fused qkv [B, T, 3C] ----------------------

// The same computation with copies: qkv -> q, k, v [B, H, T, D] -> attention -> [B, T, C].
Tensor self_attention_with_copies(const Tensor& qkv, int64_t H, bool causal, double p, bool training,
                                  Generator* gen) {
  const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3, D = C / H;
  Tensor heads = qkv.reshape({B, T, 3, H, D}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, D]
  Tensor q = heads.slice(0, 0, 1).reshape({B, H, T, D});
  Tensor k = heads.slice(0, 1, 2).reshape({B, H, T, D});
  Tensor v = heads.slice(0, 2, 3).reshape({B, H, T, D});
  Tensor y = scaled_dot_product_attention(q, k, v, causal, p, training, gen);
  return y.permute({0, 2, 1, 3}).reshape({B, T, C});
}

// out and d(qkv) of fn(qkv), with the upstream gradient g
std::pair<std::vector<double>, std::vector<double>> out_and_grad(const Tensor& qkv0, const Tensor& g,
                                                                  const std::function<Tensor(const Tensor&)>& fn) {
  Tensor qkv = qkv0.clone().detach().requires_grad_();
  Tensor out = fn(qkv);
  out.backward(g);
  return {out.to_vector<double>(), qkv.grad().to_vector<double>()};
}

TEST(SelfAttention, EqualsSplittingTheHeadsWithGradients) {
  Generator gen(21);
  for (bool causal : {false, true}) {
    for (int64_t T : {7, 70}) {  // 70: three causal row blocks, the last one partial
      const int64_t B = 2, H = 3, D = 4, C = H * D;
      Tensor qkv = Tensor::randn({B, T, 3 * C}, &gen, DType::Float64);
      Tensor g = Tensor::randn({B, T, C}, &gen, DType::Float64);
      auto packed = out_and_grad(qkv, g, [&](const Tensor& x) { return self_attention(x, H, causal); });
      auto copies = out_and_grad(qkv, g, [&](const Tensor& x) {
        return self_attention_with_copies(x, H, causal, 0.0, false, nullptr);
      });
      SCOPED_TRACE(std::string(causal ? "causal" : "not causal") + ", T = " + std::to_string(T));
      expect_all_near(packed.first, copies.first, 1e-12, "output");
      expect_all_near(packed.second, copies.second, 1e-12, "d qkv");
    }
  }
}

TEST(SelfAttention, DropoutEqualsSplittingTheHeadsWithTheSameSeed) {
  // the same generator state draws the same per-head seeds, so the masks are the same
  Generator data(22);
  const int64_t B = 2, T = 40, H = 2, D = 3, C = H * D;
  Tensor qkv = Tensor::randn({B, T, 3 * C}, &data, DType::Float64);
  Tensor g = Tensor::randn({B, T, C}, &data, DType::Float64);
  Generator g1(5), g2(5);
  auto packed = out_and_grad(qkv, g, [&](const Tensor& x) { return self_attention(x, H, true, 0.3, true, &g1); });
  auto copies = out_and_grad(qkv, g, [&](const Tensor& x) {
    return self_attention_with_copies(x, H, true, 0.3, true, &g2);
  });
  expect_all_near(packed.first, copies.first, 1e-12, "output");
  expect_all_near(packed.second, copies.second, 1e-12, "d qkv");
  int64_t zeros = 0;  // and dropout really dropped something: some outputs differ from p = 0
  Generator g3(5);
  std::vector<double> no_dropout = self_attention(qkv, H, true, 0.0, true, &g3).to_vector<double>();
  for (size_t i = 0; i < no_dropout.size(); ++i) zeros += no_dropout[i] != packed.first[i];
  EXPECT_GT(zeros, 0);
}

TEST(SelfAttention, Gradcheck) {
  Generator gen(23);
  for (bool causal : {false, true}) {
    auto f = [causal](const std::vector<Tensor>& in) { return self_attention(in[0], 2, causal); };
    GradcheckResult r = gradcheck(f, {Tensor::randn({2, 5, 3 * 6}, &gen, DType::Float64)});
    ASSERT_TRUE(r.ok) << (causal ? "causal: " : "not causal: ") << r.message;
  }
  auto with_dropout = [](const std::vector<Tensor>& in) {
    Generator g(99);  // the same masks in every call
    return self_attention(in[0], 2, true, 0.25, true, &g);
  };
  GradcheckResult r = gradcheck(with_dropout, {Tensor::randn({1, 6, 3 * 4}, &gen, DType::Float64)});
  ASSERT_TRUE(r.ok) << "dropout: " << r.message;
}

TEST(SelfAttention, Float32MatchesFloat64AndSameBitsOnOneAndTwoThreads) {
  ThreadsGuard guard(1);
  Generator gen(24);
  Tensor qkv64 = Tensor::randn({4, 96, 3 * 32}, &gen, DType::Float64);
  std::vector<double> ref = self_attention(qkv64, 4, true).to_vector<double>();
  std::vector<float> first;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Generator g(3);
    std::vector<float> y = self_attention(qkv64.to(DType::Float32), 4, true, 0.1, true, &g).to_vector<float>();
    if (threads == 1) first = y;
    else EXPECT_EQ(y, first);
  }
  std::vector<double> y32 = self_attention(qkv64.to(DType::Float32), 4, true).to_vector<double>();
  expect_all_near(y32, ref, 1e-5, "float32 against float64");
}

TEST(SelfAttention, EmptyAndErrors) {
  Tensor empty = Tensor::zeros({2, 0, 12}).requires_grad_();
  Tensor out = self_attention(empty, 2, true);
  EXPECT_EQ(out.shape(), (Shape{2, 0, 4}));
  out.sum().backward();
  EXPECT_EQ(empty.grad().shape(), (Shape{2, 0, 12}));

  EXPECT_TRUE(throws_with([] { self_attention(Tensor::zeros({2, 5, 12}), 3, true); },
                          "self_attention: qkv must be [B, T, 3 C] with C a multiple of n_head = 3 (q, k, v of every "
                          "head side by side), got [2, 5, 12]"));
  EXPECT_TRUE(throws_with([] { self_attention(Tensor::zeros({5, 12}), 2, true); }, "got [5, 12]"));
  EXPECT_TRUE(throws_with([] { self_attention(Tensor::zeros({1, 5, 12}), 0, true); },
                          "self_attention: n_head must be positive, got 0"));
  EXPECT_TRUE(throws_with([] { self_attention(Tensor::zeros({1, 5, 12}), 2, true, 1.0); },
                          "self_attention: dropout_p must be in [0, 1), got 1"));
  EXPECT_TRUE(throws_with([] { self_attention(Tensor::zeros({1, 5, 12}, DType::Int64), 2, true); },
                          "self_attention: expected a float32 or float64 tensor, got int64"));
}

}  // namespace test_ops_attention
