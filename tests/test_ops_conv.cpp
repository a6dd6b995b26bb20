// conv2d (im2col + GEMM) against a naive convolution written straight from the definition, its
// gradients against finite differences, im2col/col2im on their own, and the error messages.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/ops/im2col.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_conv {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

struct ConvCase {
  const char* name;
  int64_t N, C, H, W, K, KH, KW;
  int64_t stride, padding, dilation;
  bool bias;
};

// Every kind of geometry the im2col has a branch for: padding, stride, dilation, non-square,
// one channel, the 1x1 shortcut (and a 1x1 with stride, which is not the shortcut), a kernel that
// is larger than the image and only fits thanks to the padding.
const std::vector<ConvCase> kCases = {
    {"3x3_pad1", 2, 3, 7, 6, 4, 3, 3, 1, 1, 1, true},
    {"stride2_pad1", 2, 2, 9, 8, 3, 3, 3, 2, 1, 1, true},
    {"pad2_no_bias", 1, 3, 5, 5, 2, 3, 3, 1, 2, 1, false},
    {"dilation2", 2, 2, 9, 9, 3, 3, 3, 1, 2, 2, true},
    {"non_square_2x4", 2, 3, 6, 10, 2, 2, 4, 1, 1, 1, true},
    {"non_square_stride3_dil2", 1, 2, 7, 11, 3, 3, 2, 3, 1, 2, false},
    {"one_channel_5x5", 3, 1, 8, 8, 2, 5, 5, 1, 0, 1, true},
    {"pointwise_1x1", 2, 5, 4, 6, 3, 1, 1, 1, 0, 1, true},
    {"1x1_stride2", 2, 3, 5, 5, 2, 1, 1, 2, 0, 1, false},
    {"kernel_larger_than_image", 2, 2, 2, 3, 2, 3, 3, 1, 1, 1, true},
    {"more_channels", 3, 16, 12, 12, 20, 3, 3, 1, 1, 1, true},
    // cols of a whole image exceed conv2d's block budget: it goes in blocks of output rows
    // (float64: 11 + 11 + 9 rows, float32: 16 + 15)
    {"row_blocks", 1, 20, 31, 20, 3, 5, 5, 1, 2, 1, true},
};

int64_t out_size(int64_t in, int64_t k, const ConvCase& c) {
  return (in + 2 * c.padding - c.dilation * (k - 1) - 1) / c.stride + 1;
}

// The definition: y[n,k,oh,ow] = b[k] + sum_{c,i,j} w[k,c,i,j] x[n, c, oh*s - p + i*d, ow*s - p + j*d]
// (terms that fall outside the image are zero). Seven loops, no tricks.
std::vector<double> naive_conv2d(const std::vector<double>& x, const std::vector<double>& w,
                                 const std::vector<double>& b, const ConvCase& c) {
  const int64_t OH = out_size(c.H, c.KH, c), OW = out_size(c.W, c.KW, c);
  std::vector<double> y(c.N * c.K * OH * OW);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b.empty() ? 0.0 : b[k];
          for (int64_t ch = 0; ch < c.C; ++ch)
            for (int64_t i = 0; i < c.KH; ++i)
              for (int64_t j = 0; j < c.KW; ++j) {
                int64_t ih = oh * c.stride - c.padding + i * c.dilation;
                int64_t iw = ow * c.stride - c.padding + j * c.dilation;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                acc += w[((k * c.C + ch) * c.KH + i) * c.KW + j] * x[((n * c.C + ch) * c.H + ih) * c.W + iw];
              }
          y[((n * c.K + k) * OH + oh) * OW + ow] = acc;
        }
  return y;
}

Conv2dOptions options_of(const ConvCase& c) { return {.stride = c.stride, .padding = c.padding, .dilation = c.dilation}; }

TEST(Conv2d, HandComputedExample) {
  // x = [[1 2 3] [4 5 6] [7 8 9]], a 2x2 kernel of ones, bias 0.5: each output sums a 2x2 block.
  Tensor x = Tensor::arange(1, 10).reshape({1, 1, 3, 3});
  Tensor w = Tensor::ones({1, 1, 2, 2});
  Tensor b = Tensor::full({1}, 0.5);
  Tensor y = conv2d(x, w, b);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f}));
  // With padding 1 and stride 2 the windows are centred on the corners and the middle:
  // top-left sees only x[0,0] = 1, top-right x[0,2] = 3, and so on.
  Tensor yp = conv2d(x, w, Tensor(), {.stride = 2, .padding = 1});
  EXPECT_EQ(yp.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(yp.to_vector<float>(), (std::vector<float>{1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9}));
}

TEST(Conv2d, MatchesNaiveConvolution) {
  Generator gen(1);
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(c.name);
    Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, &gen, DType::Float64);
    Tensor w = Tensor::randn({c.K, c.C, c.KH, c.KW}, &gen, DType::Float64);
    Tensor b = c.bias ? Tensor::randn({c.K}, &gen, DType::Float64) : Tensor();
    std::vector<double> expected =
        naive_conv2d(x.to_vector<double>(), w.to_vector<double>(), c.bias ? b.to_vector<double>() : std::vector<double>{}, c);
    Shape out_shape{c.N, c.K, out_size(c.H, c.KH, c), out_size(c.W, c.KW, c)};

    Tensor y64 = conv2d(x, w, b, options_of(c));
    ASSERT_EQ(y64.shape(), out_shape);
    std::vector<double> got64 = y64.to_vector<double>();
    // float32: the same values with float rounding
    Tensor y32 = conv2d(x.to(DType::Float32), w.to(DType::Float32), c.bias ? b.to(DType::Float32) : Tensor(),
                        options_of(c));
    std::vector<double> got32 = y32.to_vector<double>();
    for (size_t i = 0; i < expected.size(); ++i) {
      ASSERT_NEAR(got64[i], expected[i], 1e-10 * (1 + std::abs(expected[i]))) << "element " << i;
      ASSERT_NEAR(got32[i], expected[i], 1e-4 * (1 + std::abs(expected[i]))) << "element " << i;
    }
  }
}

TEST(Conv2d, Gradcheck) {
  Generator gen(2);
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(c.name);
    Conv2dOptions opt = options_of(c);
    std::vector<Tensor> inputs = {Tensor::randn({c.N, c.C, c.H, c.W}, &gen, DType::Float64),
                                  Tensor::randn({c.K, c.C, c.KH, c.KW}, &gen, DType::Float64)};
    if (c.bias) inputs.push_back(Tensor::randn({c.K}, &gen, DType::Float64));
    auto f = [opt](const std::vector<Tensor>& in) {
      return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), opt);
    };
    GradcheckOptions gopt;
    gopt.max_elements_per_input = 60;  // a random subset of each input: keeps the test fast
    GradcheckResult r = gradcheck(f, inputs, gopt);
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(Conv2d, BackwardMatchesNaiveAdjoint) {
  // dx and dW from backward() against sums written from the definition, for a strided, dilated,
  // padded case: dx[n,c,ih,iw] = sum over (k, oh, ow, i, j) that read it of w[k,c,i,j] g[n,k,oh,ow].
  const ConvCase c{"adjoint", 2, 3, 8, 7, 4, 3, 2, 2, 1, 2, true};
  Generator gen(3);
  Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}, &gen, DType::Float64).requires_grad_();
  Tensor w = Tensor::randn({c.K, c.C, c.KH, c.KW}, &gen, DType::Float64).requires_grad_();
  Tensor b = Tensor::randn({c.K}, &gen, DType::Float64).requires_grad_();
  Tensor y = conv2d(x, w, b, options_of(c));
  Tensor g = Tensor::randn(y.shape(), &gen, DType::Float64);
  y.backward(g);

  const int64_t OH = y.size(2), OW = y.size(3);
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), gv = g.to_vector<double>();
  std::vector<double> dx(xv.size(), 0.0), dw(wv.size(), 0.0), db(c.K, 0.0);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double go = gv[((n * c.K + k) * OH + oh) * OW + ow];
          db[k] += go;
          for (int64_t ch = 0; ch < c.C; ++ch)
            for (int64_t i = 0; i < c.KH; ++i)
              for (int64_t j = 0; j < c.KW; ++j) {
                int64_t ih = oh * c.stride - c.padding + i * c.dilation;
                int64_t iw = ow * c.stride - c.padding + j * c.dilation;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                int64_t xi = ((n * c.C + ch) * c.H + ih) * c.W + iw, wi = ((k * c.C + ch) * c.KH + i) * c.KW + j;
                dx[xi] += wv[wi] * go;
                dw[wi] += xv[xi] * go;
              }
        }
  auto expect_close = [](const std::vector<double>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-10) << "element " << i;
  };
  expect_close(x.grad().to_vector<double>(), dx);
  expect_close(w.grad().to_vector<double>(), dw);
  expect_close(b.grad().to_vector<double>(), db);
}

TEST(Conv2d, OnlyWantedGradientsAreComputed) {
  Generator gen(4);
  // A first layer: the images need no gradient; the weight and bias do.
  Tensor x = Tensor::randn({2, 3, 6, 6}, &gen);
  Tensor w = Tensor::randn({4, 3, 3, 3}, &gen).requires_grad_();
  Tensor b = Tensor::randn({4}, &gen).requires_grad_();
  conv2d(x, w, b, {.padding = 1}).sum().backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(w.grad().defined());
  EXPECT_TRUE(b.grad().defined());
  // The sum's gradient is 1 everywhere, so db[k] is the number of output positions.
  EXPECT_EQ(b.grad().to_vector<float>(), std::vector<float>(4, 2 * 6 * 6));

  // A frozen layer (transfer learning): the weight needs no gradient, the input does.
  Tensor x2 = Tensor::randn({2, 3, 6, 6}, &gen, DType::Float64).requires_grad_();
  Tensor w2 = Tensor::randn({4, 3, 3, 3}, &gen, DType::Float64);
  GradcheckResult r = gradcheck([&](const std::vector<Tensor>& in) { return conv2d(in[0], w2, Tensor(), {.padding = 1}); },
                                {x2});
  ASSERT_TRUE(r.ok) << r.message;
  conv2d(x2, w2, Tensor(), {.padding = 1}).sum().backward();
  EXPECT_TRUE(x2.grad().defined());
  EXPECT_FALSE(w2.grad().defined());
}

TEST(Conv2d, SameResultOnOneAndTwoThreads) {
  const int saved_threads = get_num_threads();
  Generator gen(5);
  // Large enough per image (16 * 144 * 256 multiply-adds) to be split across threads; an odd N.
  Tensor x = Tensor::randn({5, 16, 16, 16}, &gen);
  Tensor w = Tensor::randn({16, 16, 3, 3}, &gen);
  Tensor b = Tensor::randn({16}, &gen);
  Tensor g = Tensor::randn({5, 16, 16, 16}, &gen);
  struct Result {
    std::vector<float> y, dx, dw, db;
  };
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor xl = x.detach().requires_grad_(), wl = w.detach().requires_grad_(), bl = b.detach().requires_grad_();
    Tensor y = conv2d(xl, wl, bl, {.padding = 1});
    y.backward(g);
    return Result{y.to_vector<float>(), xl.grad().to_vector<float>(), wl.grad().to_vector<float>(),
                  bl.grad().to_vector<float>()};
  };
  Result one = run(1), two = run(2), two_again = run(2);
  set_num_threads(saved_threads);
  // Each image is computed the same way whichever thread takes it: y and dx are bit-identical.
  EXPECT_EQ(one.y, two.y);
  EXPECT_EQ(one.dx, two.dx);
  // dW and db add per-thread partial sums: equal up to rounding across thread counts, and
  // bit-identical between runs with the same thread count.
  for (size_t i = 0; i < one.dw.size(); ++i) EXPECT_NEAR(one.dw[i], two.dw[i], 1e-4 * (1 + std::abs(one.dw[i])));
  for (size_t i = 0; i < one.db.size(); ++i) EXPECT_NEAR(one.db[i], two.db[i], 1e-4 * (1 + std::abs(one.db[i])));
  EXPECT_EQ(two.dw, two_again.dw);
  EXPECT_EQ(two.db, two_again.db);
}

TEST(Im2col, KnownValuesWithPaddingAndStride) {
  // x: one 3x3 channel 1..9, a 2x2 kernel, stride 2, padding 1 -> OH = OW = 2.
  // Row (kh, kw) of cols holds, for each output (oh, ow), x[2 oh - 1 + kh, 2 ow - 1 + kw] or 0.
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  ConvGeometry g = make_conv_geometry(1, 3, 3, 2, 2, 2, 1, 1);
  ASSERT_EQ(g.out_h, 2);
  ASSERT_EQ(g.out_w, 2);
  std::vector<float> cols(4 * 4, -1.0f);
  im2col(x.data(), g, 0, g.out_h, cols.data());
  std::vector<float> expected = {
      0, 0, 0, 5,  // tap (0, 0): x[-1,-1], x[-1,1], x[1,-1], x[1,1]
      0, 0, 4, 6,  // tap (0, 1): x[-1,0], x[-1,2], x[1,0], x[1,2]
      0, 2, 0, 8,  // tap (1, 0): x[0,-1], x[0,1], x[2,-1], x[2,1]
      1, 3, 7, 9,  // tap (1, 1): x[0,0], x[0,2], x[2,0], x[2,2]
  };
  EXPECT_EQ(cols, expected);
}

TEST(Im2col, Col2imIsTheAdjoint) {
  // <im2col(x), c> = <x, col2im(c)> for every geometry: col2im is the transpose of im2col.
  Generator gen(6);
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(c.name);
    ConvGeometry g = make_conv_geometry(c.C, c.H, c.W, c.KH, c.KW, c.stride, c.padding, c.dilation);
    std::vector<double> x = Tensor::randn({c.C * c.H * c.W}, &gen, DType::Float64).to_vector<double>();
    std::vector<double> cols_in = Tensor::randn({g.patch_size() * g.positions()}, &gen, DType::Float64).to_vector<double>();
    std::vector<double> cols(cols_in.size()), back(x.size(), 0.0);
    im2col(x.data(), g, 0, g.out_h, cols.data());
    col2im(cols_in.data(), g, 0, g.out_h, back.data());
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < cols.size(); ++i) lhs += cols[i] * cols_in[i];
    for (size_t i = 0; i < x.size(); ++i) rhs += x[i] * back[i];
    EXPECT_NEAR(lhs, rhs, 1e-9 * (1 + std::abs(lhs)));
  }
}

TEST(Im2col, BlocksOfRowsAreSlicesOfTheWhole) {
  // im2col of output rows [oh0, oh1) is the columns oh0*OW ... oh1*OW of the whole cols, and
  // col2im over consecutive blocks adds up to col2im of the whole.
  Generator gen(7);
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(c.name);
    ConvGeometry g = make_conv_geometry(c.C, c.H, c.W, c.KH, c.KW, c.stride, c.padding, c.dilation);
    const int64_t R = g.patch_size(), P = g.positions(), OW = g.out_w;
    std::vector<double> x = Tensor::randn({c.C * c.H * c.W}, &gen, DType::Float64).to_vector<double>();
    std::vector<double> whole(R * P), whole_back(x.size(), 0.0), blocks_back(x.size(), 0.0);
    im2col(x.data(), g, 0, g.out_h, whole.data());
    col2im(whole.data(), g, 0, g.out_h, whole_back.data());
    for (int64_t oh0 = 0; oh0 < g.out_h; oh0 += 2) {  // blocks of 2 rows (the last may have 1)
      const int64_t oh1 = std::min<int64_t>(oh0 + 2, g.out_h), Q = (oh1 - oh0) * OW;
      std::vector<double> block(R * Q, -1.0);
      im2col(x.data(), g, oh0, oh1, block.data());
      for (int64_t r = 0; r < R; ++r)
        for (int64_t q = 0; q < Q; ++q) ASSERT_EQ(block[r * Q + q], whole[r * P + oh0 * OW + q]) << "row " << r;
      col2im(block.data(), g, oh0, oh1, blocks_back.data());
    }
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(blocks_back[i], whole_back[i], 1e-12) << "element " << i;
  }
}

TEST(Conv2d, ErrorsNameTheOpAndShapes) {
  Tensor x = Tensor::zeros({2, 3, 8, 8});
  std::string e = error_of([&] { conv2d(x, Tensor::zeros({16, 64, 3, 3})); });
  EXPECT_NE(e.find("conv2d: input has 3 channels, weight expects 64 (input [2, 3, 8, 8], weight [16, 64, 3, 3])"),
            std::string::npos)
      << e;

  e = error_of([&] { conv2d(Tensor::zeros({1, 1, 2, 2}), Tensor::zeros({1, 1, 5, 5})); });
  EXPECT_NE(e.find("conv2d: output would be 0x0"), std::string::npos) << e;
  EXPECT_NE(e.find("[1, 1, 2, 2]"), std::string::npos) << e;
  EXPECT_NE(e.find("5x5"), std::string::npos) << e;

  e = error_of([&] { conv2d(Tensor::zeros({3, 8, 8}), Tensor::zeros({4, 3, 3, 3})); });
  EXPECT_NE(e.find("conv2d: input must be [N, C, H, W], got [3, 8, 8]"), std::string::npos) << e;

  e = error_of([&] { conv2d(x, Tensor::zeros({4, 3, 3})); });
  EXPECT_NE(e.find("conv2d: weight must be [K, C, KH, KW], got [4, 3, 3]"), std::string::npos) << e;

  e = error_of([&] { conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({5})); });
  EXPECT_NE(e.find("conv2d: bias must be [4]"), std::string::npos) << e;
  EXPECT_NE(e.find("got [5]"), std::string::npos) << e;

  e = error_of([&] { conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor(), {.stride = 0}); });
  EXPECT_NE(e.find("conv2d: need stride >= 1"), std::string::npos) << e;

  e = error_of([] { conv2d(Tensor::zeros({1, 0, 4, 4}), Tensor::zeros({2, 0, 3, 3})); });
  EXPECT_NE(e.find("conv2d: weight [2, 0, 3, 3] is empty"), std::string::npos) << e;

  e = error_of([&] { conv2d(x, Tensor::zeros({4, 3, 3, 3}, DType::Float64)); });
  EXPECT_NE(e.find("conv2d: input is float32, weight is float64"), std::string::npos) << e;
}

}  // namespace test_ops_conv
