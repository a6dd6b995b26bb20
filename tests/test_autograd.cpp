// The autograd engine (core/autograd.cpp and the autograd entry points of core/tensor.cpp):
// recording, backward order, accumulation, diamonds, freeing the graph, no_grad, detach,
// retain_grad, and the errors a student meets first.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"

using namespace ember;

namespace test_autograd {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

Tensor vec(std::vector<double> v) {
  int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector(v, {n});
}

// ---- recording ---------------------------------------------------------------------------------

TEST(Autograd, RecordsOnlyWhenAnInputRequiresGrad) {
  Tensor a = vec({1, 2}), b = vec({3, 4});
  Tensor c = a * b;
  EXPECT_FALSE(c.requires_grad());
  EXPECT_EQ(c.grad_fn(), nullptr);
  EXPECT_TRUE(c.is_leaf());
  b.requires_grad_();
  Tensor d = a * b;
  EXPECT_TRUE(d.requires_grad());
  ASSERT_NE(d.grad_fn(), nullptr);
  EXPECT_EQ(d.grad_fn()->name, "mul");
  EXPECT_EQ(d.grad_fn()->inputs.size(), 2u);
  EXPECT_FALSE(d.is_leaf());
  EXPECT_TRUE(b.is_leaf());
  EXPECT_EQ(exp(d).grad_fn()->name, "exp");
  EXPECT_EQ(matmul(d.reshape({1, 2}), b.reshape({2, 1})).grad_fn()->name, "matmul");
  EXPECT_NE(d.to_string().find("grad_fn=mul"), std::string::npos) << d.to_string();
  EXPECT_NE(b.to_string().find("requires_grad=true"), std::string::npos) << b.to_string();
}

TEST(Autograd, InputUsedTwiceInOneOp) {
  Tensor x = vec({1, 2, 3}).requires_grad_();
  (x * x).sum().backward();  // d/dx x^2 = 2x
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 4, 6}));
}

TEST(Autograd, Diamond) {
  // x feeds two branches that meet again: L = sum(exp(x) * (2x) + x), so
  // dL/dx = exp(x) * 2x + 2 exp(x) + 1. Every branch must be added before x's node runs.
  Tensor x = vec({-1, 0.5, 2}).requires_grad_();
  Tensor a = exp(x);
  Tensor b = x * 2.0;
  (a * b + x).sum().backward();
  std::vector<double> xs = {-1, 0.5, 2}, g = x.grad().to_vector<double>();
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_NEAR(g[i], std::exp(xs[i]) * 2 * xs[i] + 2 * std::exp(xs[i]) + 1, 1e-12) << i;
}

TEST(Autograd, IntermediateUsedManyTimes) {
  // h = x * 3 is used by three consumers at different depths; dL/dx = 3 * (2h + 1 + 2h * 4)
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor h = x * 3.0;
  Tensor deep = ((h * h) * 4.0 + 1.0) * 1.0;
  Tensor loss = (h * h + h + deep).sum();
  loss.backward();
  std::vector<double> g = x.grad().to_vector<double>();
  for (int i = 0; i < 2; ++i) {
    double hv = 3.0 * (i + 1);
    EXPECT_DOUBLE_EQ(g[i], 3 * (2 * hv + 1 + 8 * hv));
  }
  // and gradcheck agrees on a graph with shared intermediates
  auto f = [](const std::vector<Tensor>& in) {
    Tensor h2 = in[0] * in[1];
    Tensor u = exp(h2 * 0.1) + h2;
    return matmul(u, h2.transpose(0, 1)) + sum(h2 * u, {1}, true);
  };
  GradcheckResult r = gradcheck(f, {randn64({3, 4}, 1), randn64({4}, 2)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(Autograd, GradientsAccumulateUntilZeroGrad) {
  Tensor w = vec({1, 2}).requires_grad_();
  (w * 3.0).sum().backward();
  (w * w).sum().backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{3 + 2, 3 + 4}));
  w.zero_grad();
  EXPECT_FALSE(w.grad().defined());
  (w * 3.0).sum().backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{3, 3}));
}

TEST(Autograd, GradientIsOwnedNotAliased) {
  // the first gradient a leaf gets must be its own memory, not the op's tensor: adding the second
  // backward into it must not change anything else
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor y = x + 0.0;  // add's backward hands g itself back
  Tensor seed = vec({5, 7});
  y.backward(seed);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 7}));
  EXPECT_NE(x.grad().raw_data(), seed.raw_data());
  (x + 0.0).backward(seed);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{10, 14}));
  EXPECT_EQ(seed.to_vector<double>(), (std::vector<double>{5, 7}));
  // add hands the same g to both inputs: each leaf must still get its own .grad
  Tensor a = vec({1, 1}).requires_grad_(), b = vec({2, 2}).requires_grad_();
  (a + b).sum().backward();
  EXPECT_NE(a.grad().raw_data(), b.grad().raw_data());
  (a * 3.0).sum().backward();  // accumulates into a.grad only
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{4, 4}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{1, 1}));
}

TEST(Autograd, BackwardWithAGradientAndFromALeaf) {
  Tensor x = vec({1, 2, 3}).requires_grad_();
  Tensor y = x * x;
  y.backward(vec({1, 0, -1}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 0, -6}));
  // a float32 seed for a float64 root is converted
  Tensor z = x * 1.0;
  x.zero_grad();
  z.backward(Tensor::ones({3}));
  EXPECT_EQ(x.grad().dtype(), DType::Float64);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 1, 1}));
  // a scalar leaf is its own loss
  Tensor s = Tensor::scalar(2.0, DType::Float64).requires_grad_();
  s.backward();
  EXPECT_EQ(s.grad().item(), 1.0);
}

TEST(Autograd, InputsThatNeedNoGradGetNone) {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor c = vec({3, 4});
  (x * c + c).sum().backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(c.grad().defined());
  // an integer result (argmax) carries no graph
  Tensor i = argmax(x.reshape({1, 2}), 1);
  EXPECT_FALSE(i.requires_grad());
}

// ---- freeing the graph -------------------------------------------------------------------------

TEST(Autograd, GraphIsFreedAfterBackward) {
  Tensor x = randn64({3, 4}, 3).requires_grad_();
  Tensor w = randn64({4, 2}, 4).requires_grad_();
  std::weak_ptr<Node> loss_node, matmul_node;
  std::weak_ptr<TensorImpl> hidden;
  Tensor loss;
  {
    Tensor h = exp(matmul(x, w));
    hidden = h.impl_ptr();
    matmul_node = h.grad_fn()->inputs[0].grad_fn();
    loss = (h * h).sum();
    loss_node = loss.grad_fn();
  }
  // before backward the graph keeps the intermediates alive
  EXPECT_FALSE(loss_node.expired());
  EXPECT_FALSE(matmul_node.expired());
  EXPECT_FALSE(hidden.expired());
  loss.backward();
  EXPECT_TRUE(loss_node.expired());
  EXPECT_TRUE(matmul_node.expired());
  EXPECT_TRUE(hidden.expired());
  EXPECT_EQ(loss.grad_fn(), nullptr);
  // the leaves keep their gradients; the non-leaf root does not keep one
  EXPECT_TRUE(x.grad().defined());
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(loss.grad().defined());
}

TEST(Autograd, DroppedGraphIsFreedWithoutBackward) {
  // No op may hold its own output (a reference cycle would leak the graph): build a graph with
  // every core op, drop it, and every node must be gone.
  Tensor x = randn64({2, 3}, 5).requires_grad_();
  Tensor y = randn64({3}, 6).requires_grad_();
  std::vector<std::weak_ptr<Node>> nodes;
  std::vector<std::weak_ptr<TensorImpl>> tensors;
  {
    Tensor pos = exp(x);
    std::vector<Tensor> outs = {
        x + y, x - y, x * y, x / (y * y + 1.0), -x, exp(x), log(pos), sqrt(pos), pow(pos, 1.5), abs(x),
        clamp(x, -0.5, 0.5), sum(x, {0}), mean(x), var(x, {1}), max(x, 1), x.reshape({3, 2}), x.permute({1, 0}),
        x.slice(1, 0, 2), x.slice(0, 1, 2), concat({x, x}, 1), stack({x, x}, 0),
        index_select(x, Tensor::from_vector(std::vector<int64_t>{1, 1, 0}, {3})), matmul(x, x.transpose(0, 1)),
        linear(x, x, y.slice(0, 0, 2)), x.clone(), x.to(DType::Float32), sum_to(x, {3}) * 1.0};
    for (Tensor& t : outs) {
      ASSERT_NE(t.grad_fn(), nullptr) << t.to_string();
      nodes.push_back(t.grad_fn());
      tensors.push_back(t.impl_ptr());
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_TRUE(nodes[i].expired()) << "node " << i << " is still alive";
    EXPECT_TRUE(tensors[i].expired()) << "output " << i << " is still alive";
  }
}

TEST(Autograd, RetainGrad) {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor h = x * 3.0;
  Tensor k = h * 2.0;
  h.retain_grad();
  (k * k).sum().backward();  // dL/dk = 2k, so dL/dh = 2k * 2 = 8h and dL/dx = 24h
  EXPECT_EQ(h.grad().to_vector<double>(), (std::vector<double>{24, 48}));
  EXPECT_FALSE(k.grad().defined());  // not retained
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{72, 144}));
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor x = Tensor::scalar(1.0, DType::Float64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 5000; ++i) y = y * 1.0001;
  y.backward();
  EXPECT_NEAR(x.grad().item(), std::pow(1.0001, 5000), 1e-9);
}

// ---- no_grad and detach ------------------------------------------------------------------------

TEST(Autograd, NoGradGuardNestsAndRestores) {
  Tensor x = vec({1}).requires_grad_();
  EXPECT_TRUE(GradMode::is_enabled());
  {
    NoGradGuard outer;
    EXPECT_FALSE(GradMode::is_enabled());
    {
      NoGradGuard inner;
      EXPECT_FALSE((x * 2.0).requires_grad());
    }
    EXPECT_FALSE(GradMode::is_enabled());  // still off: the inner guard restores "off"
    EXPECT_FALSE(needs_grad({x}));
  }
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_TRUE(needs_grad({x}));
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Autograd, GradModeIsPerThread) {
  NoGradGuard off;
  bool other_thread_enabled = false;
  std::thread t([&] { other_thread_enabled = GradMode::is_enabled(); });
  t.join();
  EXPECT_TRUE(other_thread_enabled);
  EXPECT_FALSE(GradMode::is_enabled());
}

TEST(Autograd, DetachSharesDataButNotHistory) {
  Tensor x = vec({1, 2, 3}).requires_grad_();
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  EXPECT_EQ(d.raw_data(), x.raw_data());
  d.data<double>()[0] = 10;
  EXPECT_EQ(x.at({0}), 10);
  // no gradient flows through the detached factor: d/dx (x * stop(x)) = stop(x)
  (x * x.detach()).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{10, 2, 3}));
}

// ---- errors ------------------------------------------------------------------------------------

TEST(Autograd, Errors) {
  Tensor x = Tensor::ones({2, 3}).requires_grad_();
  Tensor y = x * 2.0;
  EXPECT_TRUE(throws_with([&] { y.requires_grad_(); }, "requires_grad_: only leaf tensors"));
  EXPECT_TRUE(throws_with([&] { y.requires_grad_(false); }, "requires_grad_: only leaf tensors"));
  EXPECT_TRUE(throws_with([] { Tensor::zeros({2}, DType::Int64).requires_grad_(); },
                          "requires_grad_: only float tensors can require grad, this one is int64"));
  EXPECT_TRUE(throws_with([&] { y.backward(); }, "backward: called on a tensor of shape [2, 3] without a gradient"));
  EXPECT_TRUE(throws_with([&] { y.backward(Tensor::ones({3})); },
                          "backward: gradient has shape [3] but the tensor has shape [2, 3]"));
  EXPECT_TRUE(throws_with([] { Tensor::ones({1}).backward(); }, "backward: tensor does not require grad"));
  EXPECT_TRUE(throws_with([] { Tensor().backward(); }, "backward: tensor is undefined"));
  EXPECT_TRUE(throws_with([&] { x.set_grad(Tensor::ones({3})); },
                          "set_grad: gradient [3] float32 does not match tensor [2, 3] float32"));
  {
    NoGradGuard no_grad;
    Tensor z = x * 2.0;
    EXPECT_TRUE(throws_with([&] { z.sum().backward(); }, "backward: tensor does not require grad"));
  }
}

TEST(Autograd, BackwardThatReturnsAWrongShapeIsReported) {
  // a hand-written op whose backward returns a gradient of the wrong shape: the engine names it
  Tensor x = Tensor::ones({3}).requires_grad_();
  Tensor y = x.detach().clone();
  record(y, "my_bad_op", {x}, [](const Tensor&) { return std::vector<Tensor>{Tensor::ones({2})}; });
  EXPECT_TRUE(throws_with([&] { y.sum().backward(); },
                          "autograd: backward of 'my_bad_op' returned a gradient of shape [2] for input 0 of shape [3]"));
  Tensor z = x.detach().clone();
  record(z, "my_other_op", {x}, [](const Tensor&) { return std::vector<Tensor>{}; });
  EXPECT_TRUE(throws_with([&] { z.sum().backward(); }, "autograd: backward of 'my_other_op' returned 0 gradients for 1 inputs"));
  Tensor w = x.detach().clone();
  record(w, "my_dtype_op", {x}, [](const Tensor&) { return std::vector<Tensor>{Tensor::ones({3}, DType::Float64)}; });
  EXPECT_TRUE(throws_with([&] { w.sum().backward(); },
                          "autograd: backward of 'my_dtype_op' returned a float64 gradient for float32 input 0"));
}

TEST(Autograd, SetGradAndUndefinedTensors) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  x.set_grad(Tensor::full({2}, 3.0));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{3, 3}));
  (x * 2.0).sum().backward();  // accumulates into what was set
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{5, 5}));
  x.set_grad(Tensor());
  EXPECT_FALSE(x.grad().defined());
  Tensor u;
  EXPECT_FALSE(u.requires_grad());
  EXPECT_FALSE(u.is_leaf());
  EXPECT_EQ(u.grad_fn(), nullptr);
  EXPECT_TRUE(throws_with([&] { u.requires_grad_(); }, "requires_grad_: tensor is undefined"));
}

TEST(AutogradLead, BackwardTwiceIsAnError) {
  Tensor x = Tensor::ones({3}).requires_grad_();
  Tensor y = (x * 2.0).sum();
  y.backward();
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already freed by an earlier backward()"), std::string::npos) << e.what();
  }
  // a result whose graph is gone is not a leaf, and using it in a new graph fails loudly too
  Tensor h = x * 3.0;
  Tensor a = h.sum();
  a.backward();
  EXPECT_FALSE(h.is_leaf());
  Tensor b = (h * 2.0).sum();
  EXPECT_THROW(b.backward(), Error);
}

}  // namespace test_autograd
