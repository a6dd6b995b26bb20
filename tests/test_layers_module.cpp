// Module: registration and dotted names, modes, freezing, dtype conversion, state_dict round trips
// and their errors, summary(), printing, seeded construction, initialisation, and the error
// messages a student sees when a layer gets the wrong input.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/layers.h"

using namespace ember;

namespace test_layers_module {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// A layer written the way the course asks students to write one: y = x * alpha + shift, with a
// buffer that counts the calls.
class ScaleShift : public Module {
 public:
  explicit ScaleShift(int64_t d) {
    alpha = register_parameter("alpha", Tensor::ones({d}));
    shift = register_parameter("shift", Tensor::zeros({d}));
    calls = register_buffer("calls", Tensor::zeros({}, DType::Int64));
  }
  Tensor forward(const Tensor& x) override {
    calls.data<int64_t>()[0] += 1;
    return x * alpha + shift;
  }
  std::string type_name() const override { return "ScaleShift"; }
  Tensor alpha, shift, calls;
};

// A two-level model: features (a Sequential) and a head.
class TwoPart : public Module {
 public:
  explicit TwoPart(Generator* gen) {
    features = register_module("features", std::make_shared<Sequential>(
        std::make_shared<Linear>(4, 3, true, gen), std::make_shared<ReLU>(), std::make_shared<BatchNorm1d>(3)));
    head = register_module("head", std::make_shared<Linear>(3, 2, true, gen));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*features)(x)); }
  std::string type_name() const override { return "TwoPart"; }
  std::shared_ptr<Sequential> features;
  std::shared_ptr<Linear> head;
};

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& e : named) out.push_back(e.first);
  return out;
}

// The small CNN of the MNIST lesson: 1x28x28 -> 10 classes.
std::shared_ptr<Sequential> small_cnn(Generator* gen) {
  return std::make_shared<Sequential>(
      std::make_shared<Conv2d>(1, 32, 3, Conv2dLayerOptions{}, gen), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2), std::make_shared<Conv2d>(32, 64, 3, Conv2dLayerOptions{}, gen),
      std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2), std::make_shared<Flatten>(),
      std::make_shared<Dropout>(0.5), std::make_shared<Linear>(64 * 5 * 5, 10, true, gen));
}

// ---- registration and traversal --------------------------------------------------------------------

TEST(LayersModule, RegistersParametersBuffersAndChildren) {
  ScaleShift m(3);
  EXPECT_TRUE(m.alpha.requires_grad());
  EXPECT_FALSE(m.calls.requires_grad());
  EXPECT_EQ(names_of(m.named_parameters()), (std::vector<std::string>{"alpha", "shift"}));
  EXPECT_EQ(names_of(m.named_buffers()), (std::vector<std::string>{"calls"}));
  EXPECT_EQ(m.num_parameters(), 6);
  // the registered tensor is the layer's own handle, not a copy
  m.alpha.fill_(2.0);
  EXPECT_EQ(m.parameters()[0].at({1}), 2.0);
  Tensor y = m(Tensor::ones({2, 3}));
  EXPECT_EQ(y.at({1, 2}), 2.0);
  EXPECT_EQ(m.calls.item(), 1.0);
}

TEST(LayersModule, DottedNamesFollowRegistrationOrder) {
  Generator gen(0);
  TwoPart m(&gen);
  EXPECT_EQ(names_of(m.named_parameters()), (std::vector<std::string>{"features.0.weight", "features.0.bias",
                                                                     "features.2.weight", "features.2.bias",
                                                                     "head.weight", "head.bias"}));
  EXPECT_EQ(names_of(m.named_buffers()), (std::vector<std::string>{"features.2.running_mean", "features.2.running_var",
                                                                  "features.2.num_batches_tracked"}));
  EXPECT_EQ(m.children().size(), 2u);
  EXPECT_EQ(m.named_children()[1].first, "head");
  std::vector<std::string> module_names;
  for (const auto& [name, module] : m.named_modules()) module_names.push_back(name);
  EXPECT_EQ(module_names, (std::vector<std::string>{"", "features", "features.0", "features.1", "features.2", "head"}));
  EXPECT_EQ(m.num_parameters(), 4 * 3 + 3 + 3 + 3 + 3 * 2 + 2);
  // state_dict: parameters then buffers of each module, depth first
  EXPECT_EQ(m.state_dict().keys(),
            (std::vector<std::string>{"features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias",
                                      "features.2.running_mean", "features.2.running_var",
                                      "features.2.num_batches_tracked", "head.weight", "head.bias"}));
}

TEST(LayersModule, RegistrationErrorsNameTheModuleAndTheName) {
  ScaleShift m(2);
  std::string msg = error_of([&] { m.register_parameter("alpha", Tensor::zeros({2})); });
  EXPECT_TRUE(contains(msg, "ScaleShift.register_parameter(\"alpha\")")) << msg;
  EXPECT_TRUE(contains(msg, "already used")) << msg;
  msg = error_of([&] { m.register_buffer("a..b", Tensor::zeros({2})); });
  EXPECT_TRUE(contains(msg, "may not start or end with '.' or contain '..'")) << msg;
  msg = error_of([&] { m.register_buffer(".b", Tensor::zeros({2})); });
  EXPECT_TRUE(contains(msg, "may not start or end with '.'")) << msg;
  // a dotted name is one name (GPT's blocks are "h.0", "h.1", as in nanoGPT's checkpoints)
  m.register_module("h.0", std::make_shared<Linear>(2, 2, false));
  EXPECT_EQ(m.named_parameters().back().first, "h.0.weight");
  msg = error_of([&] { m.register_module("calls", std::make_shared<ReLU>()); });
  EXPECT_TRUE(contains(msg, "already used")) << msg;
  Tensor leaf = Tensor::ones({2});
  leaf.requires_grad_(true);
  msg = error_of([&] { m.register_parameter("derived", leaf * 2.0); });
  EXPECT_TRUE(contains(msg, "leaf")) << msg;
  msg = error_of([&] { m.register_parameter("ids", Tensor::zeros({2}, DType::Int64)); });
  EXPECT_TRUE(contains(msg, "int64")) << msg;
  msg = error_of([&] { m.replace_module("nothing", std::make_shared<ReLU>()); });
  EXPECT_TRUE(contains(msg, "no child")) << msg;
}

TEST(LayersModule, SharedTensorsAndModulesAreListedOnce) {
  // weight tying (as GPT ties its token embedding to its output layer): the same tensor under two
  // names is one parameter for the optimizer, but both names are in the state_dict
  struct Tied : public Module {
    Tied() {
      lin = register_module("lin", std::make_shared<Linear>(3, 3, false));
      again = register_module("again", lin);  // the same child twice
      register_parameter("tied", lin->weight);
    }
    Tensor forward(const Tensor& x) override { return (*again)((*lin)(x)); }
    std::shared_ptr<Linear> lin, again;
  } m;
  EXPECT_EQ(m.parameters().size(), 1u);
  EXPECT_EQ(m.num_parameters(), 9);
  EXPECT_EQ(names_of(m.named_parameters()), (std::vector<std::string>{"tied"}));
  EXPECT_EQ(m.named_modules().size(), 2u);
  EXPECT_EQ(m.state_dict().keys(), (std::vector<std::string>{"tied", "lin.weight", "again.weight"}));
  // and such a model loads its own state_dict
  m.load_state_dict(m.state_dict());
}

TEST(LayersModule, SequentialIndexingAndReplacing) {
  Generator gen(1);
  Sequential seq{std::make_shared<Linear>(4, 8, true, &gen), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(8, 3, true, &gen)};
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(seq[1]->name(), "ReLU()");
  EXPECT_EQ(seq.at<Linear>(2)->out_features, 3);
  std::string msg = error_of([&] { seq.at<Linear>(1); });
  EXPECT_TRUE(contains(msg, "layer 1 is ReLU()")) << msg;
  msg = error_of([&] { seq[3]; });
  EXPECT_TRUE(contains(msg, "index 3 is out of range for 3 layers")) << msg;
  // a new head, as in transfer learning
  seq.set(2, std::make_shared<Linear>(8, 5, true, &gen));
  EXPECT_EQ((seq(Tensor::ones({2, 4})).shape()), (Shape{2, 5}));
  EXPECT_EQ(seq.state_dict().at("2.weight").shape(), (Shape{5, 8}));
}

// ---- modes, gradients, freezing, dtype ---------------------------------------------------------------

TEST(LayersModule, TrainAndEvalAreRecursive) {
  Generator gen(2);
  auto model = std::make_shared<Sequential>(
      std::make_shared<BasicBlock>(2, 4, 2, &gen), std::make_shared<Dropout>(0.3));
  for (const auto& [name, m] : model->named_modules()) EXPECT_TRUE(m->is_training()) << name;
  model->eval();
  for (const auto& [name, m] : model->named_modules()) EXPECT_FALSE(m->is_training()) << name;
  model->train();
  for (const auto& [name, m] : model->named_modules()) EXPECT_TRUE(m->is_training()) << name;
  // a sub-module can be switched on its own (e.g. keep a pretrained backbone's batch norm frozen)
  model->at<BasicBlock>(0)->bn1->eval();
  EXPECT_FALSE(model->at<BasicBlock>(0)->bn1->is_training());
  EXPECT_TRUE(model->at<BasicBlock>(0)->bn2->is_training());
}

TEST(LayersModule, ZeroGradDropsGradients) {
  Generator gen(3);
  TwoPart m(&gen);
  m((Tensor::randn({5, 4}, &gen))).sum().backward();
  for (const auto& [name, p] : m.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  m.zero_grad();
  for (const auto& [name, p] : m.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(LayersModule, FrozenParametersGetNoGradient) {
  Generator gen(4);
  TwoPart m(&gen);
  m.features->requires_grad(false);  // transfer learning: train only the head
  EXPECT_EQ(m.num_parameters(/*trainable_only=*/true), 3 * 2 + 2);
  Tensor x = Tensor::randn({6, 4}, &gen);
  m(x).sum().backward();
  for (const auto& [name, p] : m.named_parameters()) {
    bool in_head = name.rfind("head.", 0) == 0;
    EXPECT_EQ(p.requires_grad(), in_head) << name;
    EXPECT_EQ(p.grad().defined(), in_head) << name;
  }
  std::string table = m.summary({6, 4});
  EXPECT_TRUE(contains(table, "Trainable params: 8\n")) << table;
  EXPECT_TRUE(contains(table, "Non-trainable params: 21\n")) << table;
  // unfreezing brings the gradients back
  m.zero_grad();
  m.requires_grad(true);
  m(x).sum().backward();
  EXPECT_TRUE(m.features->at<Linear>(0)->weight.grad().defined());
}

TEST(LayersModule, ToFloat64ConvertsParametersAndBuffersInPlace) {
  Generator gen(5);
  TwoPart m(&gen);
  std::vector<float> before = m.head->weight.to_vector<float>();
  m(Tensor::randn({3, 4}, &gen)).sum().backward();
  m.to(DType::Float64);
  // the layer's own handles see the conversion
  EXPECT_EQ(m.head->weight.dtype(), DType::Float64);
  EXPECT_TRUE(m.head->weight.requires_grad());
  EXPECT_FALSE(m.head->weight.grad().defined());
  std::vector<double> after = m.head->weight.to_vector<double>();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i], static_cast<double>(before[i]));
  for (const auto& [name, t] : m.state_dict()) {
    if (name.find("num_batches_tracked") != std::string::npos) EXPECT_EQ(t.dtype(), DType::Int64) << name;
    else EXPECT_EQ(t.dtype(), DType::Float64) << name;
  }
  EXPECT_EQ(m(Tensor::randn({3, 4}, &gen, DType::Float64)).dtype(), DType::Float64);
  m.to(DType::Float32);
  EXPECT_EQ(m.head->weight.to_vector<float>(), before);
  std::string msg = error_of([&] { m.to(DType::Int64); });
  EXPECT_TRUE(contains(msg, "TwoPart.to")) << msg;
}

// ---- state_dict ----------------------------------------------------------------------------------

TEST(LayersModule, StateDictRoundTripGivesIdenticalOutputs) {
  Generator gen_a(10), gen_b(11);
  auto make = [](Generator* gen) {
    return std::make_shared<Sequential>(
        std::make_shared<Conv2d>(3, 4, 3, Conv2dLayerOptions{.padding = 1}, gen), std::make_shared<BatchNorm2d>(4),
        std::make_shared<ReLU>(), std::make_shared<BasicBlock>(4, 8, 2, gen), std::make_shared<GlobalAvgPool2d>(),
        std::make_shared<Linear>(8, 5, true, gen));
  };
  auto a = make(&gen_a), b = make(&gen_b);
  Tensor x = Tensor::randn({2, 3, 8, 8}, &gen_a);
  a->train();
  for (int step = 0; step < 3; ++step) (*a)(Tensor::randn({4, 3, 8, 8}, &gen_a));  // move the running stats
  a->eval();
  b->eval();
  std::vector<float> out_a = (*a)(x).to_vector<float>();
  EXPECT_NE((*b)(x).to_vector<float>(), out_a);

  StateDict saved = a->state_dict();
  LoadResult r = b->load_state_dict(saved);
  EXPECT_TRUE(r.missing_keys.empty());
  EXPECT_TRUE(r.unexpected_keys.empty());
  EXPECT_EQ((*b)(x).to_vector<float>(), out_a);
  EXPECT_EQ(b->state_dict().at("1.num_batches_tracked").item(), 3.0);
  EXPECT_EQ(b->state_dict().at("3.downsample.1.running_var").to_vector<float>(),
            saved.at("3.downsample.1.running_var").to_vector<float>());
  // loading copies: b's tensors are its own
  a->at<Linear>(5)->weight.fill_(0.0);
  EXPECT_EQ((*b)(x).to_vector<float>(), out_a);
}

TEST(LayersModule, LoadStateDictReportsEveryMismatch) {
  Generator gen(12);
  Sequential model{std::make_shared<Linear>(4, 3, true, &gen), std::make_shared<ReLU>(),
                   std::make_shared<Linear>(3, 2, true, &gen)};
  std::vector<float> weight_before = model.at<Linear>(0)->weight.to_vector<float>();

  StateDict bad;
  bad.insert("0.weight", Tensor::zeros({5, 4}));                // wrong shape
  bad.insert("0.bias", Tensor::zeros({3}));                     // fine
  bad.insert("2.weight", Tensor::zeros({2, 3}, DType::Float64));  // wrong dtype
  bad.insert("extra.weight", Tensor::zeros({1}));               // unexpected
  // "2.bias" is missing
  std::string msg = error_of([&] { model.load_state_dict(bad); });
  // the one state-dict check (core/state_dict_check.h) that checkpoints use too
  EXPECT_TRUE(contains(msg, "load_state_dict into Sequential: state dict does not match the model (4 problems)")) << msg;
  EXPECT_TRUE(contains(msg, "missing: \"2.bias\" (model has [2] float32)")) << msg;
  EXPECT_TRUE(contains(msg, "unexpected: \"extra.weight\" (loaded [1] float32, the model has no such tensor)")) << msg;
  EXPECT_TRUE(contains(msg, "shape mismatch: \"0.weight\": model has [3, 4], loaded [5, 4]")) << msg;
  EXPECT_TRUE(contains(msg, "dtype mismatch: \"2.weight\": model has float32, loaded float64")) << msg;
  // nothing was loaded, not even the good key
  EXPECT_EQ(model.at<Linear>(0)->weight.to_vector<float>(), weight_before);

  // strict=false tolerates missing and unexpected keys and says which they were...
  StateDict partial;
  partial.insert("0.weight", Tensor::zeros({3, 4}));
  partial.insert("head.weight", Tensor::zeros({7}));
  LoadResult r = model.load_state_dict(partial, /*strict=*/false);
  EXPECT_EQ(r.missing_keys, (std::vector<std::string>{"0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(r.unexpected_keys, (std::vector<std::string>{"head.weight"}));
  EXPECT_EQ(model.at<Linear>(0)->weight.to_vector<float>(), std::vector<float>(12, 0.0f));
  // ...but never a shape mismatch
  msg = error_of([&] { model.load_state_dict(bad, /*strict=*/false); });
  EXPECT_TRUE(contains(msg, "(2 problems)")) << msg;
  EXPECT_FALSE(contains(msg, "missing:")) << msg;
}

// ---- seeding and initialisation ----------------------------------------------------------------------

TEST(LayersModule, SeededConstructionIsReproducible) {
  auto build = [](Generator* gen) {
    return std::make_shared<Sequential>(
        std::make_shared<Conv2d>(3, 8, 3, Conv2dLayerOptions{}, gen), std::make_shared<BasicBlock>(8, 8, 1, gen),
        std::make_shared<Embedding>(10, 4, gen), std::make_shared<Linear>(4, 2, true, gen));
  };
  auto values = [](const std::shared_ptr<Sequential>& m) {
    std::vector<std::vector<double>> out;
    for (const auto& [name, t] : m->state_dict()) out.push_back(t.to_vector<double>());
    return out;
  };
  Generator g1(42), g2(42), g3(43);
  auto a = build(&g1), b = build(&g2), c = build(&g3);
  EXPECT_EQ(values(a), values(b));
  EXPECT_NE(values(a), values(c));
  // nullptr draws from the default generator, which manual_seed resets
  manual_seed(7);
  auto d = build(nullptr);
  manual_seed(7);
  auto e = build(nullptr);
  EXPECT_EQ(values(d), values(e));
}

TEST(LayersModule, DefaultInitialisationMatchesPyTorch) {
  Generator gen(13);
  // Linear: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias; variance of U(-b, b) is b^2 / 3
  Linear fc(400, 300, true, &gen);
  double bound = 1.0 / std::sqrt(400.0);
  std::vector<double> w = fc.weight.to_vector<double>();
  double lo = *std::min_element(w.begin(), w.end()), hi = *std::max_element(w.begin(), w.end());
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  EXPECT_LT(lo, -0.99 * bound);  // the whole range is used
  EXPECT_GT(hi, 0.99 * bound);
  EXPECT_NEAR(var(fc.weight.to(DType::Float64)).item(), bound * bound / 3, 0.03 * bound * bound / 3);
  for (double b : fc.bias.to_vector<double>()) EXPECT_LE(std::abs(b), bound);
  // Conv2d: fan_in = in_channels * K * K
  Conv2d conv(16, 32, 3, {}, &gen);
  double conv_bound = 1.0 / std::sqrt(16.0 * 9.0);
  for (double v : conv.weight.to_vector<double>()) EXPECT_LE(std::abs(v), conv_bound);
  for (double v : conv.bias.to_vector<double>()) EXPECT_LE(std::abs(v), conv_bound);
  double conv_var = conv_bound * conv_bound / 3;
  EXPECT_NEAR(var(conv.weight.to(DType::Float64)).item(), conv_var, 0.05 * conv_var);
  // Embedding: N(0, 1)
  Embedding emb(500, 64, &gen);
  EXPECT_NEAR(mean(emb.weight.to(DType::Float64)).item(), 0.0, 0.02);
  EXPECT_NEAR(var(emb.weight.to(DType::Float64)).item(), 1.0, 0.03);
  // norms: weight 1, bias 0, running statistics 0 and 1
  BatchNorm2d bn(5);
  LayerNorm ln(6);
  EXPECT_EQ(bn.weight.to_vector<float>(), std::vector<float>(5, 1.0f));
  EXPECT_EQ(bn.bias.to_vector<float>(), std::vector<float>(5, 0.0f));
  EXPECT_EQ(bn.running_mean.to_vector<float>(), std::vector<float>(5, 0.0f));
  EXPECT_EQ(bn.running_var.to_vector<float>(), std::vector<float>(5, 1.0f));
  EXPECT_EQ(ln.weight.to_vector<float>(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(ln.bias.to_vector<float>(), std::vector<float>(6, 0.0f));
}

TEST(LayersModule, InitFunctions) {
  Generator gen(14);
  Tensor w = Tensor::empty({200, 50, 3, 3}, DType::Float64);
  auto [fan_in, fan_out] = fan_in_and_fan_out(w);
  EXPECT_EQ(fan_in, 450);
  EXPECT_EQ(fan_out, 1800);
  // kaiming_normal_ for ReLU: std = sqrt(2 / fan)
  kaiming_normal_(w, 0.0, FanMode::FanIn, &gen);
  EXPECT_NEAR(std::sqrt(var(w).item()), std::sqrt(2.0 / 450), 0.01 * std::sqrt(2.0 / 450));
  kaiming_normal_(w, 0.0, FanMode::FanOut, &gen);
  EXPECT_NEAR(std::sqrt(var(w).item()), std::sqrt(2.0 / 1800), 0.01 * std::sqrt(2.0 / 1800));
  // kaiming_uniform_ for ReLU: bound = sqrt(6 / fan)
  kaiming_uniform_(w, 0.0, FanMode::FanIn, &gen);
  EXPECT_LE(max(abs(w)).item(), std::sqrt(6.0 / 450));
  EXPECT_GT(max(abs(w)).item(), 0.99 * std::sqrt(6.0 / 450));
  // xavier_uniform_: bound = sqrt(6 / (fan_in + fan_out))
  Tensor v = Tensor::empty({300, 100});
  xavier_uniform_(v, 1.0, &gen);
  EXPECT_LE(max(abs(v)).item(), std::sqrt(6.0 / 400) + 1e-7);
  EXPECT_GT(max(abs(v)).item(), 0.99 * std::sqrt(6.0 / 400));
  normal_(v, 3.0, 0.5, &gen);
  EXPECT_NEAR(mean(v.to(DType::Float64)).item(), 3.0, 0.01);
  zeros_(v);
  EXPECT_EQ(max(abs(v)).item(), 0.0);
  ones_(v);
  EXPECT_EQ(v.at({7, 7}), 1.0);
  // the same generator state gives the same weights
  Generator g1(5), g2(5);
  Tensor a = Tensor::empty({4, 4}), b = Tensor::empty({4, 4});
  kaiming_uniform_(a, std::sqrt(5.0), FanMode::FanIn, &g1);
  kaiming_uniform_(b, std::sqrt(5.0), FanMode::FanIn, &g2);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  std::string msg = error_of([&] { kaiming_uniform_(Tensor::zeros({4})); });
  EXPECT_TRUE(contains(msg, "at least 2 dimensions")) << msg;
  msg = error_of([&] { normal_(Tensor::zeros({4}, DType::Int64)); });
  EXPECT_TRUE(contains(msg, "normal_: expected a float32 or float64 tensor, got int64")) << msg;
}

// ---- printing and summary ----------------------------------------------------------------------------

TEST(LayersModule, NamesAndToString) {
  Generator gen(15);
  EXPECT_EQ(Conv2d(3, 16, 3, {.stride = 1, .padding = 1}, &gen).name(),
            "Conv2d(3, 16, kernel=3, stride=1, padding=1)");
  EXPECT_EQ(Conv2d(3, 16, 3, {.stride = 2, .padding = 2, .dilation = 2, .bias = false}, &gen).name(),
            "Conv2d(3, 16, kernel=3, stride=2, padding=2, dilation=2, bias=false)");
  EXPECT_EQ(Linear(784, 100, true, &gen).name(), "Linear(784, 100)");
  EXPECT_EQ(Linear(784, 100, false, &gen).name(), "Linear(784, 100, bias=false)");
  EXPECT_EQ(MaxPool2d(2).name(), "MaxPool2d(kernel=2, stride=2, padding=0)");
  EXPECT_EQ(AvgPool2d(3, 1, 1).name(), "AvgPool2d(kernel=3, stride=1, padding=1)");
  EXPECT_EQ(GlobalAvgPool2d().name(), "GlobalAvgPool2d()");
  EXPECT_EQ(LeakyReLU(0.2).name(), "LeakyReLU(negative_slope=0.2)");
  EXPECT_EQ(GELU(true).name(), "GELU(approximate=tanh)");
  EXPECT_EQ(Dropout(0.2).name(), "Dropout(p=0.2)");
  EXPECT_EQ(BatchNorm2d(16).name(), "BatchNorm2d(16, eps=1e-05, momentum=0.1)");
  EXPECT_EQ(LayerNorm(192).name(), "LayerNorm(192, eps=1e-05)");
  EXPECT_EQ(Embedding(65, 192, &gen).name(), "Embedding(65, 192)");
  EXPECT_EQ(Flatten().name(), "Flatten(start_dim=1, end_dim=-1)");

  Sequential model{std::make_shared<Conv2d>(1, 4, 3, Conv2dLayerOptions{.padding = 1}, &gen),
                   std::make_shared<BasicBlock>(4, 8, 2, &gen), std::make_shared<Flatten>()};
  EXPECT_EQ(model.to_string(),
            "Sequential(\n"
            "  (0): Conv2d(1, 4, kernel=3, stride=1, padding=1)\n"
            "  (1): BasicBlock(\n"
            "    4, 8, stride=2\n"
            "    (conv1): Conv2d(4, 8, kernel=3, stride=2, padding=1, bias=false)\n"
            "    (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1)\n"
            "    (relu1): ReLU()\n"
            "    (conv2): Conv2d(8, 8, kernel=3, stride=1, padding=1, bias=false)\n"
            "    (bn2): BatchNorm2d(8, eps=1e-05, momentum=0.1)\n"
            "    (downsample): Sequential(\n"
            "      (0): Conv2d(4, 8, kernel=1, stride=2, padding=0, bias=false)\n"
            "      (1): BatchNorm2d(8, eps=1e-05, momentum=0.1)\n"
            "    )\n"
            "    (relu2): ReLU()\n"
            "  )\n"
            "  (2): Flatten(start_dim=1, end_dim=-1)\n"
            ")");
}

TEST(LayersModule, SummaryOfASmallCnn) {
  Generator gen(16);
  auto model = small_cnn(&gen);
  std::vector<LayerInfo> rows = model->trace_layers({1, 1, 28, 28});
  ASSERT_EQ(rows.size(), 9u);
  struct Expected {
    const char* path;
    const char* type;
    Shape shape;
    int64_t params;
  };
  std::vector<Expected> expected = {
      {"0", "Conv2d", {1, 32, 26, 26}, 32 * 1 * 3 * 3 + 32},  // 320
      {"1", "ReLU", {1, 32, 26, 26}, 0},
      {"2", "MaxPool2d", {1, 32, 13, 13}, 0},
      {"3", "Conv2d", {1, 64, 11, 11}, 64 * 32 * 3 * 3 + 64},  // 18,496
      {"4", "ReLU", {1, 64, 11, 11}, 0},
      {"5", "MaxPool2d", {1, 64, 5, 5}, 0},
      {"6", "Flatten", {1, 1600}, 0},
      {"7", "Dropout", {1, 1600}, 0},
      {"8", "Linear", {1, 10}, 1600 * 10 + 10},  // 16,010
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].path, expected[i].path) << i;
    EXPECT_EQ(rows[i].type, expected[i].type) << i;
    EXPECT_EQ(rows[i].output_shape, expected[i].shape) << i;
    EXPECT_EQ(rows[i].num_params, expected[i].params) << i;
  }
  EXPECT_EQ(rows[0].num_params, 320);
  EXPECT_EQ(model->num_parameters(), 320 + 18496 + 16010);

  std::string table = model->summary({1, 1, 28, 28});
  EXPECT_TRUE(contains(table, "Layer (type)")) << table;
  EXPECT_TRUE(contains(table, "0 (Conv2d)")) << table;
  EXPECT_TRUE(contains(table, "[1, 32, 26, 26]")) << table;
  EXPECT_TRUE(contains(table, "18,496")) << table;
  EXPECT_TRUE(contains(table, "Total params: 34,826\n")) << table;
  EXPECT_TRUE(contains(table, "Trainable params: 34,826\n")) << table;
  EXPECT_TRUE(contains(table, "Non-trainable params: 0\n")) << table;
  // every row lines up: the shape column starts at the same place on each line
  size_t column = table.find("Output Shape");
  size_t row_start = table.find("0 (Conv2d)");
  EXPECT_EQ(table.find('[', row_start) - row_start, column - table.rfind('\n', column) - 1) << table;
}

TEST(LayersModule, SummaryRunsInEvalModeAndRestoresModes) {
  Generator gen(17);
  BasicBlock block(3, 6, 2, &gen);
  block.train();
  block.bn2->eval();
  std::vector<LayerInfo> rows = block.trace_layers({2, 3, 8, 8});
  std::vector<std::string> paths;
  for (const LayerInfo& r : rows) paths.push_back(r.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"conv1", "bn1", "relu1", "conv2", "bn2", "downsample.0", "downsample.1",
                                             "relu2"}));
  EXPECT_EQ(rows.back().output_shape, (Shape{2, 6, 4, 4}));
  EXPECT_EQ(rows[1].num_params, 12);
  // the modes are back, and batch norm did not learn from the batch of zeros
  EXPECT_TRUE(block.is_training());
  EXPECT_TRUE(block.bn1->is_training());
  EXPECT_FALSE(block.bn2->is_training());
  EXPECT_EQ(block.bn1->num_batches_tracked.item(), 0.0);
  EXPECT_EQ(block.bn1->running_var.to_vector<float>(), std::vector<float>(6, 1.0f));
  // an Embedding model takes int64 ids; summary of a single layer names it alone
  Embedding emb(10, 4, &gen);
  rows = emb.trace_layers({2, 5}, DType::Int64);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].path, "");
  EXPECT_EQ(rows[0].output_shape, (Shape{2, 5, 4}));
  EXPECT_TRUE(contains(emb.summary({2, 5}, DType::Int64), "Embedding    ")) << emb.summary({2, 5}, DType::Int64);
  // a forward error inside summary leaves the modes as they were
  EXPECT_THROW(block.summary({2, 4, 8, 8}), Error);
  EXPECT_TRUE(block.bn1->is_training());
}

// ---- error messages ----------------------------------------------------------------------------------

TEST(LayersModule, LinearWithWrongFeaturesSaysSo) {
  Generator gen(18);
  Sequential model{std::make_shared<Flatten>(), std::make_shared<Linear>(100, 10, true, &gen)};
  std::string msg = error_of([&] { model(Tensor::zeros({64, 1, 28, 28})); });
  EXPECT_TRUE(contains(msg, "linear: input has 784 features, layer expects 100")) << msg;
  EXPECT_TRUE(contains(msg, "[64, 784]")) << msg;
  // and where in the model it happened
  EXPECT_TRUE(contains(msg, "in module 1: Linear(100, 10)")) << msg;
  Linear alone(100, 10, true, &gen);
  msg = error_of([&] { alone(Tensor::zeros({64, 784})); });
  EXPECT_TRUE(contains(msg, "linear: input has 784 features, layer expects 100")) << msg;
  EXPECT_TRUE(contains(msg, "in module Linear(100, 10)")) << msg;
}

TEST(LayersModule, ConvWithWrongChannelsNamesBoth) {
  Generator gen(19);
  auto model = small_cnn(&gen);
  std::string msg = error_of([&] { (*model)(Tensor::zeros({8, 3, 28, 28})); });
  EXPECT_TRUE(contains(msg, "Conv2d(1, 32, kernel=3, stride=1, padding=0): input has 3 channels, layer expects 1"))
      << msg;
  EXPECT_TRUE(contains(msg, "[8, 3, 28, 28]")) << msg;
  EXPECT_TRUE(contains(msg, "in module 0: Conv2d")) << msg;
  EXPECT_FALSE(contains(msg, "[N, H, W, C]")) << msg;
  msg = error_of([&] { (*model)(Tensor::zeros({2, 28, 28, 1})); });  // channels last
  EXPECT_TRUE(contains(msg, "input has 28 channels, layer expects 1")) << msg;
  EXPECT_TRUE(contains(msg, "is it [N, H, W, C]? Conv2d wants [N, C, H, W]: permute({0, 3, 1, 2})")) << msg;
  msg = error_of([&] { (*model)(Tensor::zeros({1, 28, 28})); });
  EXPECT_TRUE(contains(msg, "expected input [N, C, H, W], got [1, 28, 28]")) << msg;
  // a deeper layer: the dotted path says which
  BasicBlock block(4, 4, 1, &gen);
  block.conv2 =
      block.replace_module("conv2", std::make_shared<Conv2d>(5, 4, 3, Conv2dLayerOptions{.padding = 1}, &gen));
  msg = error_of([&] { block(Tensor::zeros({1, 4, 6, 6})); });
  EXPECT_TRUE(contains(msg, "input has 4 channels, layer expects 5")) << msg;
  EXPECT_TRUE(contains(msg, "in module conv2: Conv2d(5, 4")) << msg;
}

TEST(LayersModule, NormAndEmbeddingErrorsNameTheLayerAndShape) {
  Generator gen(20);
  BatchNorm2d bn(16);
  std::string msg = error_of([&] { bn(Tensor::zeros({2, 8, 4, 4})); });
  EXPECT_TRUE(contains(msg, "BatchNorm2d(16, eps=1e-05, momentum=0.1): expected input [N, 16, H, W], got [2, 8, 4, 4]"))
      << msg;
  BatchNorm1d bn1(3);
  msg = error_of([&] { bn1(Tensor::zeros({1, 3})); });  // one value per channel: no variance
  EXPECT_TRUE(contains(msg, "more than one value per channel")) << msg;
  LayerNorm ln(8);
  msg = error_of([&] { ln(Tensor::zeros({2, 5})); });
  EXPECT_TRUE(contains(msg, "LayerNorm(8, eps=1e-05): input's last dimension must be 8, got input [2, 5]")) << msg;
  Embedding emb(10, 4, &gen);
  msg = error_of([&] { emb(Tensor::zeros({2, 3})); });
  EXPECT_TRUE(contains(msg, "Embedding(10, 4): expects int64 token ids, got a float32 tensor of shape [2, 3]")) << msg;
  msg = error_of([&] { emb(Tensor::from_vector(std::vector<int64_t>{1, 10}, {2})); });
  EXPECT_TRUE(contains(msg, "embedding: id 10")) << msg;
  msg = error_of([&] { Dropout(1.0); });
  EXPECT_TRUE(contains(msg, "Dropout: p must be in [0, 1), got 1")) << msg;
  msg = error_of([&] { MaxPool2d(2, 2, 2); });
  EXPECT_TRUE(contains(msg, "MaxPool2d: padding 2 is more than half the kernel 2")) << msg;
}

}  // namespace test_layers_module
