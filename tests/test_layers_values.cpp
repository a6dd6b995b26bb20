// Known values: each layer's output compared with a naive loop written here (or numbers worked
// out by hand), and the behaviour that differs between training and evaluation (Dropout,
// BatchNorm).
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/layers.h"

using namespace ember;

TEST(LayersValues, LinearMatchesNaiveLoop) {
  Generator gen(1);
  Linear fc(5, 3, true, &gen);
  Tensor x = Tensor::randn({2, 4, 5}, &gen);
  Tensor y = fc(x);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  std::vector<double> xs = x.to_vector<double>(), w = fc.weight.to_vector<double>(), b = fc.bias.to_vector<double>();
  std::vector<double> want;
  for (int r = 0; r < 8; ++r)
    for (int o = 0; o < 3; ++o) {
      double s = b[o];
      for (int i = 0; i < 5; ++i) s += xs[r * 5 + i] * w[o * 5 + i];
      want.push_back(s);
    }
  expect_all_near(y.to_vector<double>(), want, 1e-5);
}

TEST(LayersValues, Conv2dMatchesNaiveLoop) {
  Generator gen(2);
  const int N = 2, C = 3, H = 7, W = 6, K = 4, KS = 3, stride = 2, pad = 2, dil = 2;
  Conv2d conv(C, K, KS, {.stride = stride, .padding = pad, .dilation = dil}, &gen);
  Tensor x = Tensor::randn({N, C, H, W}, &gen);
  Tensor y = conv(x);
  const int OH = (H + 2 * pad - dil * (KS - 1) - 1) / stride + 1, OW = (W + 2 * pad - dil * (KS - 1) - 1) / stride + 1;
  ASSERT_EQ(y.shape(), (Shape{N, K, OH, OW}));
  std::vector<double> xs = x.to_vector<double>(), w = conv.weight.to_vector<double>();
  std::vector<double> b = conv.bias.to_vector<double>();
  std::vector<double> want;
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow) {
          double s = b[k];
          for (int c = 0; c < C; ++c)
            for (int i = 0; i < KS; ++i)
              for (int j = 0; j < KS; ++j) {
                int ih = oh * stride - pad + i * dil, iw = ow * stride - pad + j * dil;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;  // zero padding
                s += xs[((n * C + c) * H + ih) * W + iw] * w[((k * C + c) * KS + i) * KS + j];
              }
          want.push_back(s);
        }
  expect_all_near(y.to_vector<double>(), want, 1e-5);
}

TEST(LayersValues, PoolingByHand) {
  // one 4x4 picture:
  //    1  2  3  4
  //    5  6  7  8
  //    9 10 11 12
  //   13 14 15 16
  Tensor x = Tensor::arange(1, 17).reshape({1, 1, 4, 4});
  MaxPool2d max2(2);
  EXPECT_EQ(max2(x).to_vector<float>(), (std::vector<float>{6, 8, 14, 16}));
  AvgPool2d avg2(2);
  EXPECT_EQ(avg2(x).to_vector<float>(), (std::vector<float>{3.5, 5.5, 11.5, 13.5}));
  // 3x3 windows, stride 2, padding 1: output 2x2; padding counts as zeros in the average (/9)
  MaxPool2d max3(3, 2, 1);
  EXPECT_EQ(max3(x).to_vector<float>(), (std::vector<float>{6, 8, 14, 16}));
  AvgPool2d avg3(3, 2, 1);
  expect_all_near(avg3(x).to_vector<double>(),
                  {(1 + 2 + 5 + 6) / 9.0, (2 + 3 + 4 + 6 + 7 + 8) / 9.0, (5 + 6 + 9 + 10 + 13 + 14) / 9.0,
                   (6 + 7 + 8 + 10 + 11 + 12 + 14 + 15 + 16) / 9.0},
                  1e-5);
  GlobalAvgPool2d global;
  Tensor two = Tensor::arange(0, 8).reshape({1, 2, 2, 2});  // channel means 1.5 and 5.5
  Tensor g = global(two);
  EXPECT_EQ(g.shape(), (Shape{1, 2}));
  EXPECT_EQ(g.to_vector<float>(), (std::vector<float>{1.5, 5.5}));
}

TEST(LayersValues, ActivationsByFormula) {
  std::vector<double> xs = {-3.0, -1.0, -0.25, 0.5, 2.0};
  Tensor x = Tensor::from_vector(xs, {5});
  std::vector<double> relu_v, leaky_v, gelu_v, gelu_tanh_v, sigmoid_v, tanh_v;
  for (double v : xs) {
    relu_v.push_back(v > 0 ? v : 0);
    leaky_v.push_back(v > 0 ? v : 0.2 * v);
    gelu_v.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
    gelu_tanh_v.push_back(0.5 * v * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))));
    sigmoid_v.push_back(1 / (1 + std::exp(-v)));
    tanh_v.push_back(std::tanh(v));
  }
  expect_all_near(ReLU()(x).to_vector<double>(), relu_v, 1e-12);
  expect_all_near(LeakyReLU(0.2)(x).to_vector<double>(), leaky_v, 1e-12);
  expect_all_near(GELU()(x).to_vector<double>(), gelu_v, 1e-12);
  expect_all_near(GELU(true)(x).to_vector<double>(), gelu_tanh_v, 1e-12);
  expect_all_near(Sigmoid()(x).to_vector<double>(), sigmoid_v, 1e-12);
  expect_all_near(Tanh()(x).to_vector<double>(), tanh_v, 1e-12);
}

TEST(LayersValues, FlattenKeepsTheOrder) {
  Tensor x = Tensor::arange(0, 24).reshape({2, 3, 2, 2});
  Tensor y = Flatten()(x);
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(Flatten(1, 2)(x).shape(), (Shape{2, 6, 2}));
  EXPECT_EQ(Flatten(0)(x).shape(), (Shape{24}));
}

TEST(LayersValues, EmbeddingLooksUpRows) {
  Generator gen(3);
  Embedding emb(5, 3, &gen);
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{4, 0, 4, 2}, {2, 2});
  Tensor y = emb(ids);
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3}));
  std::vector<int64_t> id_list = {4, 0, 4, 2};
  for (int p = 0; p < 4; ++p)
    for (int d = 0; d < 3; ++d) EXPECT_EQ(y.at({p / 2, p % 2, d}), emb.weight.at({id_list[p], d}));
}

TEST(LayersValues, LayerNormByHand) {
  LayerNorm ln(4);
  ln.weight.copy_(Tensor::from_vector(std::vector<float>{1, 2, 0.5, 1}, {4}));
  ln.bias.copy_(Tensor::from_vector(std::vector<float>{0, 0, 1, -1}, {4}));
  // row [1, 2, 3, 4]: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {1, 4});
  double rstd = 1 / std::sqrt(1.25 + 1e-5);
  expect_all_near(ln(x).to_vector<double>(),
                  {-1.5 * rstd * 1, -0.5 * rstd * 2, 0.5 * rstd * 0.5 + 1, 1.5 * rstd * 1 - 1}, 1e-5);
  // training and eval are the same for LayerNorm
  ln.eval();
  expect_all_near(ln(x).to_vector<double>(),
                  {-1.5 * rstd * 1, -0.5 * rstd * 2, 0.5 * rstd * 0.5 + 1, 1.5 * rstd * 1 - 1}, 1e-5);
}

TEST(LayersValues, BatchNormTrainUsesTheBatchAndUpdatesRunningStats) {
  BatchNorm2d bn(2, 1e-5, 0.1);
  // channel 0 holds 0..7, channel 1 holds 10 * (0..7), over N = 2 and 2x2 pictures
  std::vector<float> v(16);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int s = 0; s < 4; ++s) v[(n * 2 + c) * 4 + s] = static_cast<float>((c == 0 ? 1 : 10) * (n * 4 + s));
  Tensor x = Tensor::from_vector(v, {2, 2, 2, 2});
  Tensor y = bn(x);
  // batch statistics of 0..7: mean 3.5, biased variance 5.25, unbiased 6
  for (int c = 0; c < 2; ++c) {
    double scale = c == 0 ? 1 : 10;
    double rstd = 1 / std::sqrt(5.25 * scale * scale + 1e-5);
    for (int n = 0; n < 2; ++n)
      for (int s = 0; s < 4; ++s)
        EXPECT_NEAR(y.at({n, c, s / 2, s % 2}), (scale * (n * 4 + s) - scale * 3.5) * rstd, 1e-5);
  }
  expect_all_near(bn.running_mean.to_vector<double>(), {0.1 * 3.5, 0.1 * 35}, 1e-5);
  expect_all_near(bn.running_var.to_vector<double>(), {0.9 + 0.1 * 6, 0.9 + 0.1 * 600}, 1e-4);
  EXPECT_EQ(bn.num_batches_tracked.item(), 1.0);
}

TEST(LayersValues, BatchNormEvalUsesRunningStatsAndLeavesThem) {
  BatchNorm1d bn(2);
  bn.running_mean.copy_(Tensor::from_vector(std::vector<float>{1, -2}, {2}));
  bn.running_var.copy_(Tensor::from_vector(std::vector<float>{4, 0.25}, {2}));
  bn.weight.copy_(Tensor::from_vector(std::vector<float>{2, 1}, {2}));
  bn.bias.copy_(Tensor::from_vector(std::vector<float>{0.5, 0}, {2}));
  bn.eval();
  Tensor x = Tensor::from_vector(std::vector<float>{3, -2, 1, 0}, {2, 2});
  // y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, per channel (column)
  expect_all_near(bn(x).to_vector<double>(),
                  {(3 - 1) / std::sqrt(4 + 1e-5) * 2 + 0.5, (-2 + 2) / std::sqrt(0.25 + 1e-5),
                   (1 - 1) / std::sqrt(4 + 1e-5) * 2 + 0.5, (0 + 2) / std::sqrt(0.25 + 1e-5)},
                  1e-5);
  // eval works on a single example and changes nothing
  EXPECT_EQ(bn(Tensor::ones({1, 2})).shape(), (Shape{1, 2}));
  EXPECT_EQ(bn.running_mean.to_vector<float>(), (std::vector<float>{1, -2}));
  EXPECT_EQ(bn.running_var.to_vector<float>(), (std::vector<float>{4, 0.25}));
  EXPECT_EQ(bn.num_batches_tracked.item(), 0.0);
}

TEST(LayersValues, DropoutTrainVersusEval) {
  Generator mask_gen(5);
  Dropout drop(0.25, &mask_gen);
  Tensor x = Tensor::ones({100, 100});
  Tensor y = drop(x);
  int64_t zeros = 0;
  for (float v : y.to_vector<float>()) {
    if (v == 0.0f) ++zeros;
    else EXPECT_FLOAT_EQ(v, 1.0f / 0.75f);  // survivors are scaled by 1 / (1 - p)
  }
  EXPECT_NEAR(zeros / 10000.0, 0.25, 0.02);
  // the same seed drops the same elements
  mask_gen.manual_seed(5);
  EXPECT_EQ(drop(x).to_vector<float>(), y.to_vector<float>());
  // eval: the identity
  drop.eval();
  EXPECT_EQ(drop(x).to_vector<float>(), x.to_vector<float>());
  // inside a model, eval() reaches it
  Sequential model{std::make_shared<Dropout>(0.5, &mask_gen)};
  model.eval();
  EXPECT_EQ(model(x).to_vector<float>(), x.to_vector<float>());
  model.train();
  EXPECT_NE(model(x).to_vector<float>(), x.to_vector<float>());
}

TEST(LayersValues, BasicBlockIsConvBnReluPlusShortcut) {
  Generator gen(6);
  Tensor x = Tensor::randn({2, 3, 6, 6}, &gen);
  // identity shortcut: out = relu(bn2(conv2(relu(bn1(conv1(x))))) + x); in eval with fresh
  // statistics each batch norm is x / sqrt(1 + eps)
  BasicBlock same(3, 3, 1, &gen);
  same.eval();
  const double bn_scale = 1 / std::sqrt(1 + 1e-5);
  Conv2dOptions pad1{.stride = 1, .padding = 1};
  Tensor h = relu(conv2d(x, same.conv1->weight, Tensor(), pad1) * bn_scale);
  Tensor want = relu(conv2d(h, same.conv2->weight, Tensor(), pad1) * bn_scale + x);
  expect_all_near(same(x).to_vector<double>(), want.to_vector<double>(), 1e-5);

  // projection shortcut: stride 2 and 3 -> 5 channels; the shortcut is bn(conv1x1 stride 2 (x))
  BasicBlock down(3, 5, 2, &gen);
  down.eval();
  Tensor y = down(x);
  ASSERT_EQ(y.shape(), (Shape{2, 5, 3, 3}));
  h = relu(conv2d(x, down.conv1->weight, Tensor(), {.stride = 2, .padding = 1}) * bn_scale);
  Tensor shortcut = conv2d(x, down.downsample->at<Conv2d>(0)->weight, Tensor(), {.stride = 2}) * bn_scale;
  want = relu(conv2d(h, down.conv2->weight, Tensor(), pad1) * bn_scale + shortcut);
  expect_all_near(y.to_vector<double>(), want.to_vector<double>(), 1e-5);
  // the parameters torchvision's BasicBlock has, under the same names
  std::vector<std::string> keys = down.state_dict().keys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "downsample.0.weight"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "downsample.1.running_mean"), keys.end());
  EXPECT_EQ(down.num_parameters(), 5 * 3 * 9 + 5 * 2 + 5 * 5 * 9 + 5 * 2 + 5 * 3 + 5 * 2);
}

TEST(LayersValues, TrainingStepThroughLayersLowersTheLoss) {
  // A tiny end-to-end check that parameters(), backward and an update fit together: plain
  // gradient descent on a 2-layer net, squared error on a fixed batch, must lower the loss at
  // every step (the step is small enough).
  Generator gen(7);
  Sequential model{std::make_shared<Linear>(4, 8, true, &gen), std::make_shared<Tanh>(),
                   std::make_shared<Linear>(8, 3, true, &gen)};
  Tensor x = Tensor::randn({16, 4}, &gen);
  Tensor target = Tensor::randn({16, 3}, &gen);
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    model.zero_grad();
    Tensor diff = model(x) - target;
    Tensor loss = mean(diff * diff);
    loss.backward();
    losses.push_back(loss.item());
    NoGradGuard no_grad;
    for (Tensor& p : model.parameters()) axpy_(p, -0.1, p.grad());
  }
  for (size_t i = 1; i < losses.size(); ++i) EXPECT_LT(losses[i], losses[i - 1]) << "step " << i;
  EXPECT_LT(losses.back(), 0.9 * losses.front());
}
