// Optimizers (SGD, Adam, AdamW), parameter groups, learning-rate schedules and gradient clipping.
//
// Every update is checked against the formulas written out here again with plain doubles, step by
// step, for a toy loss whose gradient is known: L(p) = sum_i c_i p_i^2 / 2, so dL/dp_i = c_i p_i.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "optim/optim.h"

using namespace ember;

namespace test_optim {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

const std::vector<double> kStart = {1.0, -2.0, 0.5, 3.0};
const std::vector<double> kCurvature = {2.0, 0.5, 4.0, 1.0};  // c_i

double grad_of(double p, size_t i) { return kCurvature[i] * p; }

// Sets param.grad to c * param, the gradient of the toy loss (in the parameter's dtype).
void set_toy_grad(Tensor& param) {
  std::vector<double> p = param.to_vector<double>();
  std::vector<double> g(p.size());
  for (size_t i = 0; i < p.size(); ++i) g[i] = grad_of(p[i], i);
  param.set_grad(Tensor::from_vector(g, param.shape()).to(param.dtype()));
}

Tensor toy_param(DType dtype = DType::Float64) {
  Tensor p = Tensor::from_vector(kStart, {4}).to(dtype);
  p.requires_grad_();
  return p;
}

// Runs `steps` steps of `opt` on the toy loss and returns the parameter's values.
std::vector<double> run(Optimizer& opt, Tensor& param, int steps) {
  for (int t = 0; t < steps; ++t) {
    opt.zero_grad();
    set_toy_grad(param);
    opt.step();
  }
  return param.to_vector<double>();
}

void expect_near_all(const std::vector<double>& actual, const std::vector<double>& expected, double tol) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tol) << "element " << i;
}

// ---- references, written out with plain doubles ----------------------------------------------------

std::vector<double> sgd_reference(double lr, double momentum, double dampening, bool nesterov, double wd, int steps) {
  std::vector<double> p = kStart, buf(p.size(), 0.0);
  for (int t = 1; t <= steps; ++t) {
    for (size_t i = 0; i < p.size(); ++i) {
      double d = grad_of(p[i], i) + wd * p[i];
      if (momentum != 0) {
        buf[i] = (t == 1) ? d : momentum * buf[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p[i] = p[i] - lr * d;
    }
  }
  return p;
}

std::vector<double> adam_reference(double lr, double beta1, double beta2, double eps, double wd, bool decoupled,
                                   int steps) {
  std::vector<double> p = kStart, m(p.size(), 0.0), v(p.size(), 0.0);
  for (int t = 1; t <= steps; ++t) {
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grad_of(p[i], i);
      if (decoupled) p[i] = p[i] - lr * wd * p[i];  // AdamW
      else g = g + wd * p[i];                        // Adam's L2
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      double m_hat = m[i] / (1 - std::pow(beta1, t));
      double v_hat = v[i] / (1 - std::pow(beta2, t));
      p[i] = p[i] - lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
  return p;
}

// ---- SGD -------------------------------------------------------------------------------------------

TEST(OptimSGD, PlainStepByHand) {
  // p = 1, g = 2p = 2, lr 0.1: p = 1 - 0.1 * 2 = 0.8, then 0.8 - 0.1 * 1.6 = 0.64
  Tensor p = toy_param();
  SGD opt({p}, {.lr = 0.1});
  run(opt, p, 1);
  EXPECT_DOUBLE_EQ(p.at({0}), 0.8);
  run(opt, p, 1);
  EXPECT_DOUBLE_EQ(p.at({0}), 0.64);
  EXPECT_EQ(opt.state(0).buffers.size(), 0u);  // plain SGD keeps no buffer
  EXPECT_EQ(opt.state(0).step, 2);
}

TEST(OptimSGD, MatchesReference) {
  struct Case {
    double lr, momentum, dampening;
    bool nesterov;
    double wd;
  };
  std::vector<Case> cases = {
      {0.1, 0.0, 0.0, false, 0.0},   // plain
      {0.1, 0.9, 0.0, false, 0.0},   // momentum
      {0.05, 0.9, 0.0, true, 0.0},   // Nesterov
      {0.1, 0.0, 0.0, false, 0.1},   // weight decay
      {0.1, 0.8, 0.3, false, 0.05},  // momentum + dampening + weight decay
      {0.02, 0.5, 0.0, true, 0.2},   // Nesterov + weight decay
  };
  for (const Case& c : cases) {
    Tensor p = toy_param();
    SGD opt({p}, {.lr = c.lr, .momentum = c.momentum, .dampening = c.dampening, .nesterov = c.nesterov,
                  .weight_decay = c.wd});
    std::vector<double> got = run(opt, p, 4);
    SCOPED_TRACE("momentum " + std::to_string(c.momentum) + " nesterov " + std::to_string(c.nesterov) + " wd " +
                 std::to_string(c.wd));
    expect_near_all(got, sgd_reference(c.lr, c.momentum, c.dampening, c.nesterov, c.wd, 4), 1e-14);
  }
}

TEST(OptimSGD, MomentumByHand) {
  // p = 1, c = 2, lr 0.1, momentum 0.9:
  //   t=1: g = 2,   buf = 2,                     p = 1 - 0.2 = 0.8
  //   t=2: g = 1.6, buf = 0.9 * 2 + 1.6 = 3.4,   p = 0.8 - 0.34 = 0.46
  Tensor p = toy_param();
  SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
  run(opt, p, 2);
  EXPECT_NEAR(p.at({0}), 0.46, 1e-15);
  EXPECT_NEAR(opt.state(0).buffers.at("momentum_buffer").at({0}), 3.4, 1e-15);
}

TEST(OptimSGD, Float32FollowsFloat64) {
  Tensor p = toy_param(DType::Float32);
  SGD opt({p}, {.lr = 0.05, .momentum = 0.9, .nesterov = true, .weight_decay = 0.01});
  expect_near_all(run(opt, p, 5), sgd_reference(0.05, 0.9, 0.0, true, 0.01, 5), 1e-5);
}

TEST(OptimSGD, ChecksItsSettings) {
  Tensor p = toy_param();
  std::string msg = error_of([&] { SGD opt({p}, {.lr = 0.1, .nesterov = true}); });
  EXPECT_TRUE(contains(msg, "sgd: param group 0: nesterov momentum needs momentum > 0")) << msg;
  msg = error_of([&] { SGD opt({p}, {.lr = -1.0}); });
  EXPECT_TRUE(contains(msg, "sgd: param group 0: lr must be >= 0, got -1")) << msg;
  msg = error_of([&] { SGD opt(std::vector<ParamGroup>{{.params = {p}, .options = {{"momentun", 0.9}}}}); });
  EXPECT_TRUE(contains(msg, "sgd: param group 0 has an unknown option \"momentun\"")) << msg;
  EXPECT_TRUE(contains(msg, "dampening, momentum, nesterov")) << msg;
  // settings edited after construction are checked by step()
  SGD opt({p}, {.lr = 0.1});
  opt.param_groups()[0].options["momentum"] = -0.5;
  set_toy_grad(p);
  msg = error_of([&] { opt.step(); });
  EXPECT_TRUE(contains(msg, "sgd: param group 0: momentum must be >= 0, got -0.5")) << msg;
}

// ---- Adam and AdamW ----------------------------------------------------------------------------------

TEST(OptimAdam, FirstStepMovesByLr) {
  // At t = 1, m_hat = g and v_hat = g^2, so each element moves by lr * g / (|g| + eps) ~ lr * sign(g).
  Tensor p = toy_param();
  Adam opt({p}, {.lr = 0.01});
  std::vector<double> got = run(opt, p, 1);
  for (size_t i = 0; i < kStart.size(); ++i)
    EXPECT_NEAR(got[i], kStart[i] - 0.01 * (kStart[i] > 0 ? 1.0 : -1.0), 1e-9) << i;
}

TEST(OptimAdam, MatchesReference) {
  Tensor p = toy_param();
  Adam opt({p}, {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8});
  expect_near_all(run(opt, p, 6), adam_reference(0.01, 0.9, 0.999, 1e-8, 0.0, false, 6), 1e-13);
  EXPECT_EQ(opt.state(0).step, 6);
  EXPECT_EQ(opt.state(0).buffers.size(), 2u);
}

TEST(OptimAdam, L2WeightDecayInTheGradient) {
  Tensor p = toy_param();
  Adam opt({p}, {.lr = 0.02, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.3});
  expect_near_all(run(opt, p, 5), adam_reference(0.02, 0.8, 0.99, 1e-6, 0.3, false, 5), 1e-13);
}

TEST(OptimAdamW, DecoupledWeightDecay) {
  Tensor p = toy_param();
  AdamW opt({p}, {.lr = 0.02, .beta2 = 0.99, .weight_decay = 0.1});
  expect_near_all(run(opt, p, 5), adam_reference(0.02, 0.9, 0.99, 1e-8, 0.1, true, 5), 1e-13);
  // and it is not the same thing as Adam's L2
  std::vector<double> l2 = adam_reference(0.02, 0.9, 0.99, 1e-8, 0.1, false, 5);
  EXPECT_GT(std::abs(p.at({0}) - l2[0]), 1e-6);
}

TEST(OptimAdamW, DefaultsAreTorchs) {
  Tensor p = toy_param();
  AdamW opt({p});
  EXPECT_EQ(opt.name(), "adamw");
  EXPECT_DOUBLE_EQ(opt.lr(), 1e-3);
  EXPECT_DOUBLE_EQ(*opt.param_groups()[0].weight_decay, 0.01);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].option("beta1"), 0.9);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].option("beta2"), 0.999);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].option("eps"), 1e-8);
  Adam adam({toy_param()});
  EXPECT_DOUBLE_EQ(*adam.param_groups()[0].weight_decay, 0.0);
}

TEST(OptimAdam, Float32FollowsFloat64) {
  Tensor p = toy_param(DType::Float32);
  AdamW opt({p}, {.lr = 0.05, .weight_decay = 0.1});
  expect_near_all(run(opt, p, 5), adam_reference(0.05, 0.9, 0.999, 1e-8, 0.1, true, 5), 2e-6);
}

TEST(OptimAdam, ChecksItsSettings) {
  Tensor p = toy_param();
  std::string msg = error_of([&] { Adam opt({p}, {.beta2 = 1.0}); });
  EXPECT_TRUE(contains(msg, "adam: param group 0: beta2 must be in [0, 1), got 1")) << msg;
  msg = error_of([&] { AdamW opt({p}, {.weight_decay = -0.1}); });
  EXPECT_TRUE(contains(msg, "adamw: param group 0: weight_decay must be >= 0")) << msg;
}

TEST(OptimAdam, TrainsThroughAutograd) {
  // minimise (x - 3)^2 summed over 3 elements with gradients from backward()
  Tensor x = Tensor::zeros({3}, DType::Float64);
  x.requires_grad_();
  Adam opt({x}, {.lr = 0.1});
  for (int it = 0; it < 300; ++it) {
    opt.zero_grad();
    Tensor loss = ((x - 3.0) * (x - 3.0)).sum();
    loss.backward();
    opt.step();
  }
  for (double v : x.to_vector<double>()) EXPECT_NEAR(v, 3.0, 1e-3);
}

// ---- the Optimizer base ------------------------------------------------------------------------------

TEST(OptimBase, ParamsWithoutGradAreSkipped) {
  Tensor a = toy_param(), b = toy_param();
  Adam opt({a, b}, {.lr = 0.1});
  set_toy_grad(a);  // b has no gradient (e.g. frozen, or unused in this forward)
  opt.step();
  EXPECT_EQ(opt.state(0).step, 1);
  EXPECT_EQ(opt.state(1).step, 0);
  EXPECT_TRUE(opt.state(1).buffers.empty());
  EXPECT_EQ(b.to_vector<double>(), kStart);
  EXPECT_NE(a.to_vector<double>(), kStart);
}

TEST(OptimBase, ZeroGrad) {
  Tensor p = toy_param();
  SGD opt({p}, {.lr = 0.1});
  set_toy_grad(p);
  const void* memory = p.grad().raw_data();
  opt.zero_grad(/*set_to_none=*/false);  // zeros in the same memory
  ASSERT_TRUE(p.grad().defined());
  EXPECT_EQ(p.grad().raw_data(), memory);
  EXPECT_EQ(p.grad().to_vector<double>(), std::vector<double>(4, 0.0));
  opt.zero_grad();  // PyTorch's default: drop it
  EXPECT_FALSE(p.grad().defined());
}

TEST(OptimBase, StepsUpdateInPlaceAndReuseBuffers) {
  Tensor p = toy_param(DType::Float32);
  AdamW opt({p}, {.lr = 0.01});
  const void* param_memory = p.raw_data();
  run(opt, p, 1);
  const void* m = opt.state(0).buffers.at("exp_avg").raw_data();
  const void* v = opt.state(0).buffers.at("exp_avg_sq").raw_data();
  run(opt, p, 3);
  EXPECT_EQ(p.raw_data(), param_memory);
  EXPECT_EQ(opt.state(0).buffers.at("exp_avg").raw_data(), m);
  EXPECT_EQ(opt.state(0).buffers.at("exp_avg_sq").raw_data(), v);
  EXPECT_FALSE(p.grad_fn());  // the update was not recorded by autograd
}

TEST(OptimBase, SetLrAndGroupOverrides) {
  Tensor a = toy_param(), b = toy_param();
  SGD opt(std::vector<ParamGroup>{{.params = {a}}, {.params = {b}, .lr = 0.5, .options = {{"momentum", 0.9}}}},
          {.lr = 0.1});
  EXPECT_DOUBLE_EQ(*opt.param_groups()[0].lr, 0.1);
  EXPECT_DOUBLE_EQ(*opt.param_groups()[1].lr, 0.5);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].option("momentum"), 0.0);
  EXPECT_DOUBLE_EQ(opt.param_groups()[1].option("momentum"), 0.9);
  set_toy_grad(a);
  set_toy_grad(b);
  opt.step();
  expect_near_all(a.to_vector<double>(), sgd_reference(0.1, 0.0, 0.0, false, 0.0, 1), 1e-15);
  expect_near_all(b.to_vector<double>(), sgd_reference(0.5, 0.9, 0.0, false, 0.0, 1), 1e-15);
  opt.set_lr(0.01);
  EXPECT_DOUBLE_EQ(*opt.param_groups()[0].lr, 0.01);
  EXPECT_DOUBLE_EQ(*opt.param_groups()[1].lr, 0.01);
  EXPECT_DOUBLE_EQ(opt.lr(), 0.01);
  std::string msg = error_of([&] { opt.set_lr(std::numeric_limits<double>::quiet_NaN()); });
  EXPECT_TRUE(contains(msg, "sgd: learning rate must be a finite number >= 0")) << msg;
}

TEST(OptimBase, RejectsBadParameterLists) {
  Tensor p = toy_param();
  std::string msg = error_of([&] { SGD opt({p, p}); });
  EXPECT_TRUE(contains(msg, "sgd: param group 0, parameter 1 [4] appears more than once")) << msg;
  msg = error_of([&] { Adam opt(std::vector<Tensor>{}); });
  EXPECT_TRUE(contains(msg, "adam: got an empty parameter list")) << msg;
  Tensor not_leaf = p * 2.0;
  msg = error_of([&] { Adam opt({not_leaf}); });
  EXPECT_TRUE(contains(msg, "adam: param group 0, parameter 0 [4] is the result of an op, not a leaf")) << msg;
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{1, 2}, {2});
  msg = error_of([&] { SGD opt({ids}); });
  EXPECT_TRUE(contains(msg, "is int64; only float tensors can be optimized")) << msg;
}

TEST(OptimBase, ParamGroupsNoDecayFor1d) {
  Tensor w = Tensor::ones({3, 2}), bias = Tensor::ones({3}), ln = Tensor::ones({2}), emb = Tensor::ones({5, 2});
  for (Tensor* t : {&w, &bias, &ln, &emb}) t->requires_grad_();
  NamedTensors named = {{"fc.weight", w}, {"fc.bias", bias}, {"ln.weight", ln}, {"tok_emb.weight", emb}};
  std::vector<ParamGroup> groups = param_groups_no_decay_for_1d(named, 0.1);
  ASSERT_EQ(groups.size(), 2u);
  ASSERT_EQ(groups[0].params.size(), 2u);
  EXPECT_EQ(groups[0].params[0].impl(), w.impl());
  EXPECT_EQ(groups[0].params[1].impl(), emb.impl());
  EXPECT_DOUBLE_EQ(*groups[0].weight_decay, 0.1);
  ASSERT_EQ(groups[1].params.size(), 2u);
  EXPECT_EQ(groups[1].params[0].impl(), bias.impl());
  EXPECT_EQ(groups[1].params[1].impl(), ln.impl());
  EXPECT_DOUBLE_EQ(*groups[1].weight_decay, 0.0);

  // With zero gradients Adam's step is 0, so only the decay moves anything: the matrices shrink by
  // (1 - lr * wd) = 1 - 0.5 * 0.1 = 0.95, the 1-D tensors stay at 1.
  AdamW opt(groups, {.lr = 0.5});
  for (Tensor* t : {&w, &bias, &ln, &emb}) t->set_grad(Tensor::zeros(t->shape()));
  opt.step();
  for (float v : w.to_vector<float>()) EXPECT_FLOAT_EQ(v, 0.95f);
  for (float v : emb.to_vector<float>()) EXPECT_FLOAT_EQ(v, 0.95f);
  for (float v : bias.to_vector<float>()) EXPECT_EQ(v, 1.0f);
  for (float v : ln.to_vector<float>()) EXPECT_EQ(v, 1.0f);
}

// ---- optimizer state_dict ----------------------------------------------------------------------------

TEST(OptimState, RoundTripContinuesBitIdentically) {
  Tensor a = toy_param(DType::Float32);
  AdamW first({a}, {.lr = 0.05, .weight_decay = 0.1});
  run(first, a, 3);

  OptimizerState saved = first.state_dict();
  EXPECT_EQ(saved.type, "adamw");
  EXPECT_EQ(saved.tensors.size(), 2u);
  EXPECT_EQ(saved.tensors[0].first, "state.0.exp_avg");
  EXPECT_EQ(saved.tensors[1].first, "state.0.exp_avg_sq");
  EXPECT_DOUBLE_EQ(saved.scalars.at("state.0.step"), 3.0);
  EXPECT_DOUBLE_EQ(saved.scalars.at("group.0.lr"), 0.05);
  EXPECT_DOUBLE_EQ(saved.scalars.at("group.0.beta2"), 0.999);

  // a fresh optimizer over a copy of the parameter, with other settings that the state overrides
  Tensor b = Tensor::from_vector(a.to_vector<float>(), {4});
  b.requires_grad_();
  AdamW second({b}, {.lr = 1.0});
  second.load_state_dict(saved);
  EXPECT_DOUBLE_EQ(second.lr(), 0.05);
  EXPECT_NE(second.state(0).buffers.at("exp_avg").raw_data(), first.state(0).buffers.at("exp_avg").raw_data());

  run(first, a, 4);
  run(second, b, 4);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());  // bit for bit
}

TEST(OptimState, LoadChecksEverythingAndChangesNothingOnError) {
  Tensor p = toy_param();
  SGD sgd({p}, {.lr = 0.1, .momentum = 0.9});
  run(sgd, p, 2);
  OptimizerState good = sgd.state_dict();

  Tensor q = toy_param();
  Adam adam({q});
  std::string msg = error_of([&] { adam.load_state_dict(good); });
  EXPECT_TRUE(contains(msg, "adam: load_state_dict: the state was saved by 'sgd', this optimizer is 'adam'")) << msg;

  Tensor wrong_shape = Tensor::zeros({2, 2}, DType::Float64);
  wrong_shape.requires_grad_();
  SGD other({wrong_shape}, {.lr = 0.3, .momentum = 0.5});
  msg = error_of([&] { other.load_state_dict(good); });
  EXPECT_TRUE(contains(msg, "\"state.0.momentum_buffer\" is [4] float64 but parameter 0 is [2, 2] float64")) << msg;
  EXPECT_DOUBLE_EQ(other.lr(), 0.3);  // unchanged
  EXPECT_EQ(other.state(0).step, 0);

  SGD two({toy_param(), toy_param()}, {.lr = 0.1, .momentum = 0.9});
  msg = error_of([&] { two.load_state_dict(good); });
  EXPECT_TRUE(contains(msg, "param group 0 was saved with 1 parameters, this optimizer's has 2")) << msg;

  OptimizerState bad = good;
  bad.tensors.emplace_back("state.0.velocity", Tensor::zeros({4}, DType::Float64));
  SGD same({toy_param()}, {.lr = 0.1, .momentum = 0.9});
  msg = error_of([&] { same.load_state_dict(bad); });
  EXPECT_TRUE(contains(msg, "\"state.0.velocity\": sgd has no buffer called \"velocity\"")) << msg;
  bad = good;
  bad.scalars["state.7.step"] = 1;
  msg = error_of([&] { same.load_state_dict(bad); });
  EXPECT_TRUE(contains(msg, "\"state.7.step\" is for parameter 7, but the optimizer has 1")) << msg;
  same.load_state_dict(good);  // and the good one loads
  EXPECT_EQ(same.state(0).step, 2);
}

TEST(OptimState, LoadRefusesStepsThatAreNoWholeNumberBeforeConvertingThem) {
  Tensor p = toy_param();
  Adam adam({p});
  run(adam, p, 2);
  const OptimizerState good = adam.state_dict();
  // inf, NaN, 1e300 and 2^63 do not fit in int64: converting them would be undefined behaviour
  for (double step : {std::numeric_limits<double>::infinity(), std::nan(""), 1e300, 9223372036854775808.0, -1.0, 2.5}) {
    OptimizerState bad = good;
    bad.scalars["state.0.step"] = step;
    Tensor q = toy_param();
    Adam fresh({q});
    const std::string msg = error_of([&] { fresh.load_state_dict(bad); });
    EXPECT_TRUE(contains(msg, "adam: load_state_dict: \"state.0.step\" must be a whole number from 0 to 2^53, got "))
        << step << ": " << msg;
    EXPECT_EQ(fresh.state(0).step, 0);  // nothing changed
  }
}

TEST(OptimState, LoadRefusesNonFiniteBuffersAndNegativeExpAvgSq) {
  Tensor p = toy_param();
  Adam adam({p});
  run(adam, p, 2);
  const OptimizerState good = adam.state_dict();
  auto with_value = [&](const std::string& name, double value) {
    OptimizerState bad = good;
    for (auto& [key, t] : bad.tensors)
      if (key == name) {
        t = t.clone();
        std::vector<double> values = t.to_vector<double>();
        values[2] = value;
        t = Tensor::from_vector(values, t.shape()).to(t.dtype());
      }
    return bad;
  };
  Tensor q = toy_param();
  Adam fresh({q});
  std::string msg = error_of([&] { fresh.load_state_dict(with_value("state.0.exp_avg", std::nan(""))); });
  EXPECT_TRUE(contains(msg, "\"state.0.exp_avg\" holds nan at element 2: an optimizer state must be finite")) << msg;
  msg = error_of(
      [&] { fresh.load_state_dict(with_value("state.0.exp_avg_sq", -std::numeric_limits<double>::infinity())); });
  EXPECT_TRUE(contains(msg, "\"state.0.exp_avg_sq\" holds -inf at element 2")) << msg;
  msg = error_of([&] { fresh.load_state_dict(with_value("state.0.exp_avg_sq", -0.5)); });
  EXPECT_TRUE(contains(msg, "adam: load_state_dict: \"state.0.exp_avg_sq\" holds -0.5 at element 2: exp_avg_sq is a "
                            "mean of squares and cannot be negative"))
      << msg;
  EXPECT_EQ(fresh.state(0).step, 0);
  fresh.load_state_dict(good);
  EXPECT_EQ(fresh.state(0).step, 2);
}

// ---- learning-rate schedules -------------------------------------------------------------------------

TEST(OptimSchedule, WarmupCosineAsNanoGPT) {
  // the course's baby GPT: 1e-3 decaying to 1e-4 over 5000 iterations after 100 warm-up ones
  WarmupCosine lr{.max_lr = 1e-3, .min_lr = 1e-4, .warmup_iters = 100, .lr_decay_iters = 5000};
  EXPECT_DOUBLE_EQ(lr(0), 1e-3 * 1 / 101);     // warm-up start: not 0
  EXPECT_DOUBLE_EQ(lr(49), 1e-3 * 50 / 101);
  EXPECT_DOUBLE_EQ(lr(99), 1e-3 * 100 / 101);  // last warm-up iteration
  EXPECT_DOUBLE_EQ(lr(100), 1e-3);             // end of warm-up: the peak
  EXPECT_DOUBLE_EQ(lr(2550), 5.5e-4);          // half way through the decay: (max + min) / 2
  // a quarter of the way: min + (max - min) * (1 + cos(pi / 4)) / 2
  EXPECT_NEAR(lr(1325), 1e-4 + 9e-4 * (1 + std::sqrt(0.5)) / 2, 1e-15);
  EXPECT_DOUBLE_EQ(lr(5000), 1e-4);  // decay end
  EXPECT_DOUBLE_EQ(lr(9999), 1e-4);  // and after it
  for (int64_t it = 101; it < 5000; it += 97) EXPECT_LT(lr(it), lr(it - 1)) << it;  // decreasing

  WarmupCosine no_warmup{.max_lr = 1.0, .min_lr = 0.0, .warmup_iters = 0, .lr_decay_iters = 10};
  EXPECT_DOUBLE_EQ(no_warmup(0), 1.0);
  EXPECT_DOUBLE_EQ(no_warmup(5), 0.5);
  std::string msg = error_of([] { WarmupCosine{.warmup_iters = 10, .lr_decay_iters = 5}(0); });
  EXPECT_TRUE(contains(msg, "WarmupCosine: need 0 <= warmup_iters <= lr_decay_iters, got 10 and 5")) << msg;
}

TEST(OptimSchedule, StepDecay) {
  StepDecay lr{.base_lr = 0.1, .step_size = 30, .gamma = 0.1};
  EXPECT_DOUBLE_EQ(lr(0), 0.1);
  EXPECT_DOUBLE_EQ(lr(29), 0.1);
  EXPECT_DOUBLE_EQ(lr(30), 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(lr(65), 0.1 * 0.1 * 0.1);
  std::string msg = error_of([] { StepDecay{.step_size = 0}(3); });
  EXPECT_TRUE(contains(msg, "StepDecay: step_size must be > 0, got 0")) << msg;
}

TEST(OptimSchedule, CosineAnnealing) {
  CosineAnnealing lr{.base_lr = 0.1, .total_iters = 100, .min_lr = 0.001};
  EXPECT_DOUBLE_EQ(lr(0), 0.1);
  EXPECT_DOUBLE_EQ(lr(50), 0.001 + 0.099 / 2);
  EXPECT_NEAR(lr(25), 0.001 + 0.099 * (1 + std::sqrt(0.5)) / 2, 1e-15);
  EXPECT_DOUBLE_EQ(lr(100), 0.001);
  EXPECT_DOUBLE_EQ(lr(250), 0.001);  // stays at the floor (no restarts)
  std::string msg = error_of([&] { lr(-1); });
  EXPECT_TRUE(contains(msg, "CosineAnnealing: iteration must be >= 0, got -1")) << msg;
}

// ---- gradient clipping -------------------------------------------------------------------------------

TEST(OptimClip, KnownValues) {
  // gradients (3, 4) and (12): total norm sqrt(9 + 16 + 144) = 13
  Tensor a = Tensor::zeros({2}), b = Tensor::zeros({1}, DType::Float64), frozen = Tensor::zeros({3});
  a.requires_grad_();
  b.requires_grad_();
  a.set_grad(Tensor::from_vector(std::vector<float>{3, 4}, {2}));
  b.set_grad(Tensor::from_vector(std::vector<double>{12}, {1}));

  EXPECT_DOUBLE_EQ(clip_grad_norm({a, b, frozen}, 26.0), 13.0);  // under the limit: untouched
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{3, 4}));

  EXPECT_DOUBLE_EQ(clip_grad_norm({a, b, frozen}, 6.5), 13.0);  // over: scaled by 6.5 / 13
  EXPECT_NEAR(a.grad().at({0}), 1.5, 1e-6);
  EXPECT_NEAR(a.grad().at({1}), 2.0, 1e-6);
  EXPECT_NEAR(b.grad().at({0}), 6.0, 1e-6);
  EXPECT_NEAR(clip_grad_norm({a, b}, 100.0), 6.5, 1e-6);  // the new norm is max_norm

  b.set_grad(Tensor::from_vector(std::vector<double>{std::numeric_limits<double>::infinity()}, {1}));
  EXPECT_TRUE(std::isinf(clip_grad_norm({a, b}, 1.0)));  // not finite: reported, nothing scaled
  EXPECT_NEAR(a.grad().at({0}), 1.5, 1e-6);

  std::string msg = error_of([&] { clip_grad_norm({a}, -1.0); });
  EXPECT_TRUE(contains(msg, "clip_grad_norm: max_norm must be >= 0, got -1")) << msg;
}

TEST(OptimClip, SameBitsOnAnyThreadCount) {
  Generator gen(3);
  Tensor p = Tensor::zeros({200001});
  p.requires_grad_();
  Tensor g = Tensor::randn({200001}, &gen);
  const int threads = get_num_threads();
  set_num_threads(1);
  p.set_grad(g.clone());
  double one = clip_grad_norm({p}, 1.0);
  std::vector<float> clipped_one = p.grad().to_vector<float>();
  set_num_threads(2);
  p.set_grad(g.clone());
  double two = clip_grad_norm({p}, 1.0);
  set_num_threads(threads);
  EXPECT_EQ(one, two);
  EXPECT_EQ(clipped_one, p.grad().to_vector<float>());
  // and it is the norm, summed naively in double here
  double sum = 0;
  for (float v : g.to_vector<float>()) sum += static_cast<double>(v) * v;
  EXPECT_NEAR(one, std::sqrt(sum), 1e-9 * std::sqrt(sum));
}

}  // namespace test_optim
