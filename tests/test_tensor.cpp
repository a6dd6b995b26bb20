// Tensor basics: creation, shapes, views, printing, autograd bookkeeping.
#include <gtest/gtest.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"

using namespace ember;

TEST(Tensor, CreationAndAccess) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), DType::Float32);
  EXPECT_EQ(z.at({1, 2}), 0.0);
  Tensor f = Tensor::full({2}, 2.5, DType::Float64);
  EXPECT_EQ(f.at({1}), 2.5);
  Tensor a = Tensor::arange(0, 5);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4}));
  Tensor v = Tensor::from_vector(std::vector<int64_t>{4, 5, 6}, {3});
  EXPECT_EQ(v.dtype(), DType::Int64);
  EXPECT_EQ(v.at({-1}), 6);
  EXPECT_THROW(Tensor::from_vector(std::vector<float>{1, 2}, {3}), Error);
}

TEST(Tensor, SeededRandomIsReproducible) {
  Generator g1(42), g2(42), g3(43);
  Tensor a = Tensor::randn({100}, &g1), b = Tensor::randn({100}, &g2), c = Tensor::randn({100}, &g3);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_NE(a.to_vector<float>(), c.to_vector<float>());
  // mean and spread of N(0,1)
  Tensor big = Tensor::randn({100000}, &g1, DType::Float64);
  EXPECT_NEAR(mean(big).item(), 0.0, 0.02);
  EXPECT_NEAR(var(big).item(), 1.0, 0.02);
  manual_seed(7);
  Tensor d = Tensor::rand({5});
  manual_seed(7);
  EXPECT_EQ(d.to_vector<float>(), Tensor::rand({5}).to_vector<float>());
}

TEST(Tensor, GeneratorStateRoundTrip) {
  Generator g(1);
  g.normal();  // leaves a spare normal behind
  auto state = g.state();
  std::vector<double> first = {g.normal(), g.normal(), g.uniform()};
  g.set_state(state);
  std::vector<double> again = {g.normal(), g.normal(), g.uniform()};
  EXPECT_EQ(first, again);
}

TEST(Tensor, ReshapeSharesStorage) {
  Tensor a = Tensor::arange(0, 6).reshape({2, 3});
  Tensor b = a.reshape({3, -1});
  EXPECT_EQ(b.shape(), (Shape{3, 2}));
  b.data<float>()[0] = 100;
  EXPECT_EQ(a.at({0, 0}), 100);
  EXPECT_THROW(a.reshape({4, -1}), Error);
  try {
    a.reshape({5});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reshape [2, 3] (6 elements) into [5]"), std::string::npos) << e.what();
  }
}

TEST(Tensor, SliceAndPermute) {
  Tensor a = Tensor::arange(0, 24).reshape({2, 3, 4});
  Tensor s0 = a.slice(0, 1, 2);  // a view
  EXPECT_EQ(s0.shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(s0.at({0, 0, 0}), 12);
  Tensor s2 = a.slice(2, 1, 3);  // a copy
  EXPECT_EQ(s2.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s2.at({1, 2, 1}), 1 * 12 + 2 * 4 + 2);
  Tensor p = a.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(p.at({k, i, j}), a.at({i, j, k}));
  Tensor t = a.transpose(0, 2);
  EXPECT_EQ(t.at({3, 1, 0}), a.at({0, 1, 3}));
  Tensor c = concat({a, a.slice(1, 0, 1)}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 4, 4}));
  EXPECT_EQ(c.at({1, 3, 2}), a.at({1, 0, 2}));
  Tensor st = stack({a, a}, 0);
  EXPECT_EQ(st.shape(), (Shape{2, 2, 3, 4}));
}

TEST(Tensor, Printing) {
  Tensor a = Tensor::from_vector(std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, {2, 3});
  EXPECT_EQ(a.to_string(), "tensor([[0.1000, 0.2000, 0.3000], [0.4000, 0.5000, 0.6000]], shape=[2, 3])");
  Tensor big = Tensor::arange(0, 100, 1, DType::Int64);
  EXPECT_EQ(big.to_string(), "tensor([0, 1, 2, ..., 97, 98, 99], shape=[100], dtype=int64)");
  // fewer than two per dimension still shows the first and the last (and reads nothing past the end)
  EXPECT_EQ(big.to_string(1), "tensor([0, ..., 99], shape=[100], dtype=int64)");
  EXPECT_EQ(big.to_string(0), "tensor([0, ..., 99], shape=[100], dtype=int64)");
}

TEST(Autograd, SimpleChain) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}).requires_grad_();
  Tensor y = (x * x + x * 2.0).sum();  // dy/dx = 2x + 2
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{4, 6, 8}));
  // gradients accumulate until zero_grad
  Tensor y2 = (x * 3.0).sum();
  y2.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{7, 9, 11}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NoGradAndDetach) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
  }
  Tensor d = (x * 2.0).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
}

TEST(Autograd, NonScalarBackwardNeedsGradient) {
  Tensor x = Tensor::ones({2, 3}).requires_grad_();
  Tensor y = x * 2.0;
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shape [2, 3] without a gradient"), std::string::npos) << e.what();
  }
  y.backward(Tensor::ones({2, 3}));
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(6, 2.0f));
}

TEST(Autograd, RetainGradAndDiamond) {
  // x is used twice (a diamond); its gradient is the sum of both paths
  Tensor x = Tensor::from_vector(std::vector<double>{2}, {1}).requires_grad_();
  Tensor a = x * 3.0;
  a.retain_grad();
  Tensor b = x * a;  // 3 x^2 -> d/dx = 6x = 12
  b.sum().backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 12.0);
  EXPECT_DOUBLE_EQ(a.grad().item(), 2.0);
}
