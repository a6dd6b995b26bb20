// The baby GPT (layers/gpt.h): gradients of a whole block and of the whole model against finite
// differences (float64, tiny sizes), attention against a naive loop, weight tying, nanoGPT's
// initialisation, generate() (determinism, top_k), the error messages, and the lesson's
// configuration files.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <set>
#include <string>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "layers/gpt.h"
#include "layers/gradcheck_module.h"
#include "lessons/chargpt/lesson.h"
#include "lessons/common/config.h"
#include "test_util.h"

#ifndef EMBER_SOURCE_DIR
#define EMBER_SOURCE_DIR "."
#endif

using namespace ember;

namespace test_gpt {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// Tiny, but with everything that can go wrong: several heads, several layers, biases.
GPTConfig tiny_config(bool bias = true, double dropout = 0.0) {
  GPTConfig c;
  c.vocab_size = 7;
  c.block_size = 6;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 8;
  c.dropout = dropout;
  c.bias = bias;
  return c;
}

// Tiny tensors: one thread is faster than starting a team for each op (and the same bits).
class GPTTest : public ::testing::Test {
 protected:
  ThreadsGuard one_thread_{1};
};

// ---- gradients -----------------------------------------------------------------------------------

TEST_F(GPTTest, GradcheckBlock) {
  for (bool bias : {true, false}) {
    Generator gen(3);
    Block block(tiny_config(bias), &gen);
    block.to(DType::Float64);
    // the block's own init is small (PyTorch's Linear defaults); x of scale 1 exercises LayerNorm
    GradcheckOptions opt;
    opt.max_elements_per_input = 40;  // a seeded random subset of each parameter: fast under ASan too
    GradcheckResult r = gradcheck_module(block, Tensor::randn({2, 5, 8}, &gen, DType::Float64), opt);
    ASSERT_TRUE(r.ok) << "bias=" << bias << ": " << r.message;
  }
}

TEST_F(GPTTest, GradcheckBlockInputWithDropout) {
  // Dropout on (attention probabilities, attention output, MLP output) in training mode: each call
  // of fn reseeds the generator, so every evaluation uses the same masks and backward must use
  // them too.
  Generator gen(4);
  auto block = std::make_shared<Block>(tiny_config(true, 0.3), &gen);
  block->to(DType::Float64);
  block->train();
  auto fn = [&](const std::vector<Tensor>& in) {
    gen.manual_seed(11);
    return (*block)(in[0]);
  };
  GradcheckResult r = gradcheck(fn, {Tensor::randn({2, 6, 8}, &gen, DType::Float64)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST_F(GPTTest, GradcheckWholeModel) {
  // Every parameter of the model, through embeddings, two blocks, ln_f and the tied head.
  Generator gen(5);
  GPT model(tiny_config(), &gen);
  model.to(DType::Float64);
  // A larger spread than nanoGPT's 0.02, so that attention is not uniform and every term matters.
  for (auto& [name, p] : model.named_parameters()) {
    NoGradGuard no_grad;
    if (p.dim() >= 2) p.copy_(Tensor::randn(p.shape(), &gen, DType::Float64) * 0.5);
  }
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{0, 3, 3, 6, 1, 2, 5, 5, 4, 0, 1, 6}, {2, 6});  // T = block_size
  GradcheckOptions opt;
  opt.max_elements_per_input = 24;  // per parameter: about 500 elements in all
  GradcheckResult r = gradcheck_module(model, ids, opt);
  ASSERT_TRUE(r.ok) << r.message;
}

TEST_F(GPTTest, GradcheckLossNoBias) {
  // GPT::loss (cross-entropy over all B*T positions) with bias = false, T < block_size.
  Generator gen(6);
  GPT model(tiny_config(/*bias=*/false), &gen);
  model.to(DType::Float64);
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 6, 0, 1}, {2, 4});
  Tensor targets = Tensor::from_vector(std::vector<int64_t>{2, 3, 4, 5, 6, 0, 1, 1}, {2, 4});
  // wte is used twice (the lookup and the head): its gradient, the sum of both, against central
  // differences of the loss for every element
  Tensor loss = model.loss(ids, targets);
  loss.backward();
  Tensor analytic = model.wte->weight.grad().clone();
  const double eps = 1e-6;
  double* w = model.wte->weight.data<double>();
  double worst = 0;
  for (int64_t i = 0; i < model.wte->weight.numel(); ++i) {
    NoGradGuard no_grad;
    const double saved = w[i];
    w[i] = saved + eps;
    const double plus = model.loss(ids, targets).item();
    w[i] = saved - eps;
    const double minus = model.loss(ids, targets).item();
    w[i] = saved;
    worst = std::max(worst, std::abs((plus - minus) / (2 * eps) - analytic.data<double>()[i]));
  }
  EXPECT_LT(worst, 1e-7);
}

// ---- values --------------------------------------------------------------------------------------

TEST_F(GPTTest, AttentionMatchesNaiveLoop) {
  // CausalSelfAttention against the definition, written out with plain loops:
  //   qkv = x W_attn^T + b;  per head h: s_ij = q_i . k_j / sqrt(D) for j <= i,  p = softmax_j(s),
  //   y_i = sum_j p_ij v_j;  out = [y_heads] W_proj^T + b
  Generator gen(7);
  GPTConfig c = tiny_config();
  CausalSelfAttention attn(c, &gen);
  attn.to(DType::Float64);
  attn.eval();
  const int64_t B = 2, T = 5, C = 8, H = 2, D = 4;
  Tensor x = Tensor::randn({B, T, C}, &gen, DType::Float64);
  Tensor out = attn(x);

  auto W = [](const Tensor& t, int64_t r, int64_t k) { return t.at({r, k}); };
  const Tensor& wa = attn.c_attn->weight;
  const Tensor& ba = attn.c_attn->bias;
  const Tensor& wp = attn.c_proj->weight;
  const Tensor& bp = attn.c_proj->bias;
  for (int64_t b = 0; b < B; ++b) {
    // qkv[t][j] for j in [0, 3C)
    std::vector<std::vector<double>> qkv(T, std::vector<double>(3 * C));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < 3 * C; ++j) {
        double s = ba.at({j});
        for (int64_t k = 0; k < C; ++k) s += x.at({b, t, k}) * W(wa, j, k);
        qkv[t][j] = s;
      }
    std::vector<std::vector<double>> y(T, std::vector<double>(C, 0.0));
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        std::vector<double> p(i + 1);
        double max_s = -1e300, total = 0;
        for (int64_t j = 0; j <= i; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += qkv[i][h * D + d] * qkv[j][C + h * D + d];
          p[j] = s / std::sqrt(static_cast<double>(D));
          max_s = std::max(max_s, p[j]);
        }
        for (int64_t j = 0; j <= i; ++j) total += (p[j] = std::exp(p[j] - max_s));
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t d = 0; d < D; ++d) y[i][h * D + d] += p[j] / total * qkv[j][2 * C + h * D + d];
      }
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < C; ++o) {
        double s = bp.at({o});
        for (int64_t k = 0; k < C; ++k) s += y[t][k] * W(wp, o, k);
        EXPECT_NEAR(out.at({b, t, o}), s, 1e-12) << "b=" << b << " t=" << t << " o=" << o;
      }
  }
}

TEST_F(GPTTest, FirstPositionSeesOnlyItselfAndLossStartsNearLogV) {
  Generator gen(8);
  GPTConfig c = tiny_config();
  c.vocab_size = 50;
  GPT model(c, &gen);
  model.eval();
  // causality: changing a later token never changes the logits of an earlier position
  Tensor a = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4}, {1, 4});
  Tensor b = Tensor::from_vector(std::vector<int64_t>{1, 2, 9, 9}, {1, 4});
  Tensor la = model(a), lb = model(b);
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t v = 0; v < 50; ++v) EXPECT_EQ(la.at({0, t, v}), lb.at({0, t, v}));
  EXPECT_NE(la.at({0, 3, 0}), lb.at({0, 3, 0}));
  // with nanoGPT's N(0, 0.02) init the logits are ~0: every token about equally likely
  Tensor targets = Tensor::from_vector(std::vector<int64_t>{2, 3, 4, 5}, {1, 4});
  EXPECT_NEAR(model.loss(a, targets).item(), std::log(50.0), 0.05);
}

TEST_F(GPTTest, InitialisationAsNanoGPT) {
  Generator gen(9);
  GPTConfig c;
  c.vocab_size = 100;
  c.n_layer = 3;
  c.n_embd = 96;
  c.n_head = 3;
  c.bias = true;
  GPT model(c, &gen);
  auto std_of = [](const Tensor& t) {
    std::vector<float> v = t.to_vector<float>();
    double sum = 0, sq = 0;
    for (float x : v) sum += x, sq += static_cast<double>(x) * x;
    const double mean = sum / v.size();
    return std::sqrt(sq / v.size() - mean * mean);
  };
  for (auto& [name, p] : model.named_parameters()) {
    if (name.find("ln_") != std::string::npos) {
      const double expected = contains(name, ".weight") ? 1.0 : 0.0;
      for (float v : p.to_vector<float>()) ASSERT_EQ(v, expected) << name;
    } else if (contains(name, ".bias")) {
      for (float v : p.to_vector<float>()) ASSERT_EQ(v, 0.0f) << name;
    } else if (contains(name, "c_proj.weight")) {
      EXPECT_NEAR(std_of(p), 0.02 / std::sqrt(6.0), 0.0008) << name;
    } else {
      EXPECT_NEAR(std_of(p), 0.02, 0.0008) << name;
    }
  }
}

// ---- weight tying ---------------------------------------------------------------------------------

TEST_F(GPTTest, HeadIsTiedToTheTokenEmbedding) {
  Generator gen(10);
  GPT model(tiny_config(), &gen);
  // one parameter: no separate head weight anywhere in the model or its state
  std::set<std::string> names;
  int64_t total = 0;
  for (auto& [name, p] : model.named_parameters()) {
    names.insert(name);
    total += p.numel();
    EXPECT_FALSE(contains(name, "lm_head")) << name;
  }
  EXPECT_TRUE(names.count("wte.weight"));
  EXPECT_EQ(model.num_parameters(), total);
  const GPTConfig c = tiny_config();
  const int64_t per_block = 2 * 2 * c.n_embd + (c.n_embd * 3 * c.n_embd + 3 * c.n_embd) +
                            (c.n_embd * c.n_embd + c.n_embd) + (c.n_embd * 4 * c.n_embd + 4 * c.n_embd) +
                            (4 * c.n_embd * c.n_embd + c.n_embd);
  EXPECT_EQ(total, c.vocab_size * c.n_embd + c.block_size * c.n_embd + c.n_layer * per_block + 2 * c.n_embd);

  // the head reads wte: a token never in the input still gets a gradient in its wte row (from
  // the head), and changing that row changes its logit
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{0, 1, 2}, {1, 3});
  Tensor targets = Tensor::from_vector(std::vector<int64_t>{1, 2, 0}, {1, 3});
  model.loss(ids, targets).backward();
  Tensor g = model.wte->weight.grad();
  double row6 = 0;
  for (int64_t k = 0; k < c.n_embd; ++k) row6 += std::abs(g.at({6, k}));
  EXPECT_GT(row6, 0.0);
  model.eval();
  const double before = model(ids).at({0, 2, 6});
  {
    NoGradGuard no_grad;
    float* w = model.wte->weight.data<float>();
    for (int64_t k = 0; k < c.n_embd; ++k) w[6 * c.n_embd + k] += 1.0f;
  }
  EXPECT_NE(model(ids).at({0, 2, 6}), before);
}

// ---- generate ------------------------------------------------------------------------------------

TEST_F(GPTTest, GenerateIsDeterministicForASeed) {
  Generator init(11);
  GPTConfig c = tiny_config();
  c.dropout = 0.2;  // generate must switch dropout off (eval) and restore training mode after
  GPT model(c, &init);
  model.train();
  Generator g1(42), g2(42), g3(43);
  std::vector<int64_t> a = model.generate({1, 2}, 20, 1.0, 0, g1);
  std::vector<int64_t> b = model.generate({1, 2}, 20, 1.0, 0, g2);
  std::vector<int64_t> d = model.generate({1, 2}, 20, 1.0, 0, g3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, d);
  ASSERT_EQ(a.size(), 22u);  // the start, then 20 new tokens (longer than block_size: cropped context)
  EXPECT_EQ(a[0], 1);
  EXPECT_EQ(a[1], 2);
  for (int64_t id : a) EXPECT_TRUE(id >= 0 && id < c.vocab_size);
  EXPECT_TRUE(model.is_training());
}

TEST_F(GPTTest, GenerateTopK) {
  Generator init(12);
  GPTConfig c = tiny_config();
  GPT model(c, &init);
  {
    // spread the logits so that the top-k sets are clear
    NoGradGuard no_grad;
    for (auto& [name, p] : model.named_parameters())
      if (p.dim() >= 2) p.copy_(Tensor::randn(p.shape(), &init) * 0.7);
  }
  model.eval();
  // the logits of the last position for a context (cropped to block_size, as generate does)
  auto last_logits = [&](const std::vector<int64_t>& ids) {
    const int64_t T = std::min<int64_t>(static_cast<int64_t>(ids.size()), c.block_size);
    std::vector<int64_t> ctx(ids.end() - T, ids.end());
    NoGradGuard no_grad;
    Tensor l = model(Tensor::from_vector(ctx, {1, T}));
    std::vector<double> v(c.vocab_size);
    for (int64_t i = 0; i < c.vocab_size; ++i) v[i] = l.at({0, T - 1, i});
    return v;
  };

  // top_k = 1 is greedy: always the most likely token, whatever the temperature and seed
  Generator g(1);
  std::vector<int64_t> greedy = model.generate({3}, 12, 5.0, 1, g);
  for (size_t i = 1; i < greedy.size(); ++i) {
    std::vector<double> l = last_logits(std::vector<int64_t>(greedy.begin(), greedy.begin() + i));
    EXPECT_EQ(greedy[i], std::max_element(l.begin(), l.end()) - l.begin()) << "step " << i;
  }
  // top_k = 2 at a high temperature: every token is one of the two most likely, and both occur
  Generator g2(2);
  std::vector<int64_t> two = model.generate({3}, 60, 10.0, 2, g2);
  int64_t second_choices = 0;
  for (size_t i = 1; i < two.size(); ++i) {
    std::vector<double> l = last_logits(std::vector<int64_t>(two.begin(), two.begin() + i));
    int64_t better = 0;
    for (double v : l) better += v > l[two[i]];
    EXPECT_LT(better, 2) << "step " << i << " chose token " << two[i];
    second_choices += better == 1;
  }
  EXPECT_GT(second_choices, 0);
}

// ---- errors --------------------------------------------------------------------------------------

TEST_F(GPTTest, ErrorsNameTheLayerAndTheShapes) {
  Generator gen(13);
  GPT model(tiny_config(), &gen);
  std::string msg = error_of([&] { model(Tensor::zeros({1, 7}, DType::Int64)); });
  EXPECT_TRUE(contains(msg, "GPT")) << msg;
  EXPECT_TRUE(contains(msg, "[1, 7]")) << msg;
  EXPECT_TRUE(contains(msg, "block_size 6")) << msg;

  msg = error_of([&] { model(Tensor::zeros({2, 3})); });  // float, not token ids
  EXPECT_TRUE(contains(msg, "int64")) << msg;
  EXPECT_TRUE(contains(msg, "[2, 3]")) << msg;

  msg = error_of([&] { model.loss(Tensor::zeros({2, 3}, DType::Int64), Tensor::zeros({2, 4}, DType::Int64)); });
  EXPECT_TRUE(contains(msg, "GPT::loss")) << msg;
  EXPECT_TRUE(contains(msg, "[2, 3]") && contains(msg, "[2, 4]")) << msg;

  CausalSelfAttention attn(tiny_config(), &gen);
  msg = error_of([&] { attn(Tensor::zeros({2, 5, 6})); });
  EXPECT_TRUE(contains(msg, "CausalSelfAttention")) << msg;
  EXPECT_TRUE(contains(msg, "[2, 5, 6]")) << msg;

  GPTConfig bad = tiny_config();
  bad.n_head = 3;  // 8 features do not split into 3 heads
  msg = error_of([&] { GPT m(bad, &gen); });
  EXPECT_TRUE(contains(msg, "n_embd 8") && contains(msg, "n_head 3")) << msg;

  Generator g(1);
  msg = error_of([&] { model.generate({9}, 3, 1.0, 0, g); });
  EXPECT_TRUE(contains(msg, "generate")) << msg;
  msg = error_of([&] { model.generate({1}, 3, 0.0, 0, g); });
  EXPECT_TRUE(contains(msg, "temperature")) << msg;
}

// ---- the lesson's configuration files ---------------------------------------------------------------

TEST(ChargptConfig, CourseFileParsesWithTheLessonsKeys) {
  Config cfg;
  chargpt::add_settings(cfg);
  cfg.load_file(std::string(EMBER_SOURCE_DIR) + "/lessons/chargpt/configs/train_hca.conf");
  EXPECT_EQ(cfg.get_string("dataset"), "hca");
  EXPECT_EQ(cfg.get_int("gradient_accumulation_steps"), 1);
  EXPECT_EQ(cfg.get_int("batch_size"), 64);
  EXPECT_EQ(cfg.get_int("block_size"), 256);
  EXPECT_EQ(cfg.get_int("n_layer"), 3);
  EXPECT_EQ(cfg.get_int("n_head"), 3);
  EXPECT_EQ(cfg.get_int("n_embd"), 192);
  EXPECT_DOUBLE_EQ(cfg.get_float("dropout"), 0.2);
  EXPECT_DOUBLE_EQ(cfg.get_float("learning_rate"), 1e-3);
  EXPECT_EQ(cfg.get_int("max_iters"), 5000);
  EXPECT_EQ(cfg.get_int("lr_decay_iters"), 5000);
  EXPECT_DOUBLE_EQ(cfg.get_float("min_lr"), 1e-4);
  EXPECT_DOUBLE_EQ(cfg.get_float("beta2"), 0.99);
  EXPECT_EQ(cfg.get_int("warmup_iters"), 100);
  // and the text, byte for byte, is what the file holds
  const std::string expected =
      "dataset = 'hca'\n"
      "gradient_accumulation_steps = 1\n"
      "batch_size = 64\n"
      "block_size = 256      # context of up to 256 previous characters\n"
      "n_layer = 3\n"
      "n_head = 3\n"
      "n_embd = 192\n"
      "dropout = 0.2\n"
      "learning_rate = 1e-3\n"
      "max_iters = 5000\n"
      "lr_decay_iters = 5000\n"
      "min_lr = 1e-4\n"
      "beta2 = 0.99\n"
      "warmup_iters = 100\n";
  FILE* f = std::fopen((std::string(EMBER_SOURCE_DIR) + "/lessons/chargpt/configs/train_hca.conf").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  EXPECT_EQ(text, expected);
}

TEST(ChargptConfig, CpuFileAndOverrides) {
  Config cfg;
  chargpt::add_settings(cfg);
  ASSERT_TRUE(cfg.apply_args({"--config=" + std::string(EMBER_SOURCE_DIR) + "/lessons/chargpt/configs/cpu.conf",
                              "--n_layer=2", "--sample", "--start=Der kom en soldat"}));
  EXPECT_EQ(cfg.get_int("n_layer"), 2);  // the command line wins over the file
  EXPECT_EQ(cfg.get_int("n_head"), 4);
  EXPECT_EQ(cfg.get_int("n_embd"), 128);
  EXPECT_EQ(cfg.get_int("block_size"), 64);
  EXPECT_EQ(cfg.get_int("batch_size"), 12);
  EXPECT_TRUE(cfg.get_bool("sample"));
  EXPECT_EQ(cfg.get_string("start"), "Der kom en soldat");
  // every key the issue names can be set on the command line
  for (const char* key : {"eval_interval", "eval_iters", "weight_decay", "grad_clip", "data", "out_dir", "seed",
                          "init_from", "temperature", "top_k", "num_samples", "max_new_tokens", "beta1"})
    EXPECT_TRUE(cfg.has(key)) << key;

  std::string msg = error_of([&] { cfg.apply_args({"--n_layers=2"}); });
  EXPECT_TRUE(contains(msg, "n_layers")) << msg;
  EXPECT_TRUE(contains(msg, "n_layer")) << msg;  // the known keys are listed
  EXPECT_TRUE(contains(msg, "block_size")) << msg;
}

}  // namespace test_gpt
