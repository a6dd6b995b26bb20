// Gradients of every layer, checked through the module against central finite differences in
// float64: with respect to the input (ember::gradcheck) and to every parameter (gradcheck_module
// perturbs the parameters in place). The shapes are small on purpose (the whole file runs in
// well under a second) but not trivial: strides, padding, dilation, broadcasting over leading
// dimensions, overlapping pooling windows, repeated token ids, both residual shortcuts.
#include <gtest/gtest.h>

#include <cmath>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"
#include "layers/layers.h"

using namespace ember;

namespace test_layers_gradcheck {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// float64 N(0, 1) values pushed at least 0.1 away from 0, where ReLU-like functions have a kink
// and finite differences straddling it would be wrong.
Tensor randn_off_zero(const Shape& shape, Generator& gen) {
  Tensor x = Tensor::randn(shape, &gen, DType::Float64);
  double* p = x.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i)
    if (std::abs(p[i]) < 0.1) p[i] = p[i] < 0 ? p[i] - 0.1 : p[i] + 0.1;
  return x;
}

// Converts the module to float64 and checks input and parameter gradients.
void expect_gradients_ok(Module& m, const Tensor& x) {
  m.to(DType::Float64);
  GradcheckResult r = gradcheck_module(m, x);
  ASSERT_TRUE(r.ok) << r.message;
}

// The checks run on one thread: the tensors are tiny, and on a busy 2-core machine every parallel
// region of an op costs more than the op itself. (Thread splits are tested with the ops.)
class LayersGradcheck : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_threads_ = get_num_threads();
    set_num_threads(1);
  }
  void TearDown() override { set_num_threads(saved_threads_); }

 private:
  int saved_threads_ = 0;
};

TEST_F(LayersGradcheck, Linear) {
  Generator gen(1);
  Linear fc(4, 3, true, &gen);
  expect_gradients_ok(fc, Tensor::randn({2, 5, 4}, &gen));  // leading dimensions [2, 5] share the weight
  Linear no_bias(4, 3, false, &gen);
  expect_gradients_ok(no_bias, Tensor::randn({6, 4}, &gen));
}

TEST_F(LayersGradcheck, Conv2dStridePaddingDilation) {
  Generator gen(2);
  Conv2d plain(2, 3, 3, {}, &gen);
  expect_gradients_ok(plain, Tensor::randn({2, 2, 5, 5}, &gen));
  Conv2d strided(2, 3, 3, {.stride = 2, .padding = 1}, &gen);
  expect_gradients_ok(strided, Tensor::randn({2, 2, 6, 5}, &gen));  // non-square, odd width
  Conv2d dilated(3, 2, 3, {.stride = 1, .padding = 2, .dilation = 2, .bias = false}, &gen);
  expect_gradients_ok(dilated, Tensor::randn({1, 3, 5, 6}, &gen));
  Conv2d pointwise(3, 4, 1, {.stride = 2}, &gen);  // the 1x1 case (a ResNet shortcut)
  expect_gradients_ok(pointwise, Tensor::randn({2, 3, 5, 5}, &gen));
}

TEST_F(LayersGradcheck, Pooling) {
  Generator gen(3);
  MaxPool2d max2(2);
  expect_gradients_ok(max2, Tensor::randn({2, 3, 4, 6}, &gen));
  MaxPool2d overlapping(3, 2, 1);  // windows overlap and reach into the padding
  expect_gradients_ok(overlapping, Tensor::randn({1, 2, 5, 5}, &gen));
  AvgPool2d avg(3, 2, 1);
  expect_gradients_ok(avg, Tensor::randn({2, 2, 5, 4}, &gen));
  GlobalAvgPool2d global;
  expect_gradients_ok(global, Tensor::randn({2, 3, 3, 4}, &gen));
}

TEST_F(LayersGradcheck, FlattenAndActivations) {
  Generator gen(4);
  Flatten flatten;
  expect_gradients_ok(flatten, Tensor::randn({2, 3, 2, 2}, &gen));
  Flatten middle(1, 2);
  expect_gradients_ok(middle, Tensor::randn({2, 3, 2, 2}, &gen));
  ReLU relu;
  expect_gradients_ok(relu, randn_off_zero({3, 7}, gen));
  LeakyReLU leaky(0.2);
  expect_gradients_ok(leaky, randn_off_zero({3, 7}, gen));
  GELU gelu;
  expect_gradients_ok(gelu, Tensor::randn({3, 7}, &gen));
  GELU gelu_tanh(true);
  expect_gradients_ok(gelu_tanh, Tensor::randn({3, 7}, &gen));
  Sigmoid sigmoid;
  expect_gradients_ok(sigmoid, Tensor::randn({3, 7}, &gen));
  Tanh tanh_layer;
  expect_gradients_ok(tanh_layer, Tensor::randn({3, 7}, &gen));
}

TEST_F(LayersGradcheck, DropoutInTrainingAndEval) {
  // In training the mask is random: re-seed its generator before every call so that the finite
  // differences see the same mask as backward().
  Generator mask_gen(0);
  Dropout drop(0.4, &mask_gen);
  Generator gen(5);
  auto f = [&](const std::vector<Tensor>& in) {
    mask_gen.manual_seed(99);
    return drop(in[0]);
  };
  GradcheckResult r = gradcheck(f, {Tensor::randn({4, 6}, &gen, DType::Float64)});
  ASSERT_TRUE(r.ok) << r.message;
  drop.eval();
  expect_gradients_ok(drop, Tensor::randn({4, 6}, &gen));
}

TEST_F(LayersGradcheck, BatchNormTrainingAndEval) {
  Generator gen(6);
  BatchNorm1d bn1(3);
  uniform_(bn1.weight, 0.5, 1.5, &gen);  // not 1 and 0, so a swapped gamma/beta would show
  uniform_(bn1.bias, -0.5, 0.5, &gen);
  expect_gradients_ok(bn1, Tensor::randn({5, 3}, &gen));
  BatchNorm2d bn2(2);
  uniform_(bn2.weight, 0.5, 1.5, &gen);
  uniform_(bn2.bias, -0.5, 0.5, &gen);
  expect_gradients_ok(bn2, Tensor::randn({3, 2, 3, 2}, &gen));
  // eval: the running statistics are constants
  uniform_(bn2.running_mean, -0.5, 0.5, &gen);
  uniform_(bn2.running_var, 0.5, 2.0, &gen);
  bn2.eval();
  expect_gradients_ok(bn2, Tensor::randn({3, 2, 3, 2}, &gen));
  BatchNorm2d no_affine(2, 1e-5, 0.1, /*affine=*/false);
  expect_gradients_ok(no_affine, Tensor::randn({2, 2, 2, 3}, &gen));
}

TEST_F(LayersGradcheck, LayerNorm) {
  Generator gen(7);
  LayerNorm ln(5);
  uniform_(ln.weight, 0.5, 1.5, &gen);
  uniform_(ln.bias, -0.5, 0.5, &gen);
  expect_gradients_ok(ln, Tensor::randn({2, 3, 5}, &gen));
}

TEST_F(LayersGradcheck, EmbeddingWithRepeatedIds) {
  Generator gen(8);
  Embedding emb(6, 4, &gen);
  // ids 2 and 5 appear twice: their rows collect two gradients
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{2, 0, 5, 5, 2, 1}, {2, 3});
  expect_gradients_ok(emb, ids);
}

TEST_F(LayersGradcheck, SmallCnnThroughSequential) {
  Generator gen(9);
  Sequential model{std::make_shared<Conv2d>(2, 3, 3, Conv2dLayerOptions{.padding = 1}, &gen),
                   std::make_shared<BatchNorm2d>(3),
                   std::make_shared<LeakyReLU>(0.1),
                   std::make_shared<MaxPool2d>(2),
                   std::make_shared<Flatten>(),
                   std::make_shared<Linear>(3 * 2 * 2, 4, true, &gen),
                   std::make_shared<Tanh>()};
  expect_gradients_ok(model, Tensor::randn({3, 2, 4, 4}, &gen));
}

TEST_F(LayersGradcheck, BasicBlockBothShortcuts) {
  Generator gen(10);
  BasicBlock identity(3, 3, 1, &gen);  // shortcut is x itself
  ASSERT_EQ(identity.downsample, nullptr);
  expect_gradients_ok(identity, Tensor::randn({2, 3, 4, 4}, &gen));
  BasicBlock projection(2, 3, 2, &gen);  // 1x1 conv + bn shortcut
  ASSERT_NE(projection.downsample, nullptr);
  expect_gradients_ok(projection, Tensor::randn({2, 2, 5, 5}, &gen));
  projection.eval();
  expect_gradients_ok(projection, Tensor::randn({2, 2, 5, 5}, &gen));
}

TEST_F(LayersGradcheck, GradcheckModuleCatchesAWrongBackward) {
  // A layer whose output depends on w through the data but not through the graph (w.detach()):
  // backward() gives w no gradient, finite differences see one. The checker must say so, naming
  // the parameter.
  class Detached : public Module {
   public:
    Detached() { w = register_parameter("w", Tensor::full({3}, 2.0, DType::Float64)); }
    Tensor forward(const Tensor& x) override { return x * w.detach(); }
    std::string type_name() const override { return "Detached"; }
    Tensor w;
  };
  Generator gen(11);
  Detached m;
  GradcheckResult r = gradcheck_module(m, Tensor::randn({2, 3}, &gen, DType::Float64));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("parameter 'w'"), std::string::npos) << r.message;
  EXPECT_EQ(r.input, 1);
  // float32 parameters are refused with advice
  Linear fc(2, 2, true, &gen);
  try {
    gradcheck_module(fc, Tensor::randn({1, 2}, &gen));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("call module.to(DType::Float64) first"), std::string::npos) << e.what();
  }
}

}  // namespace test_layers_gradcheck
