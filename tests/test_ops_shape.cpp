// Shape ops (core/ops/shape.cpp and the Tensor methods that call them): reshape, flatten,
// (un)squeeze, permute, transpose, slice, concat, stack, index_select, and the copies clone / to.
//
// Known values are computed with multi-indices in the test: "output element [i, j, k] must be input
// element [k, i, j]" and so on, independently of the engine's stride arithmetic.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

using namespace ember;

namespace test_ops_shape {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// Multi-index <-> flat index, row-major.
std::vector<int64_t> unflatten(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

int64_t flatten_index(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + idx[d];
  return flat;
}

// out[i_0, ..., i_{r-1}] = x[j] with j[dims[k]] = i_k.
std::vector<double> naive_permute(const Tensor& x, const Shape& dims) {
  const int64_t r = x.dim();
  Shape out_shape(r);
  for (int64_t k = 0; k < r; ++k) out_shape[k] = x.shape()[dims[k]];
  std::vector<double> v = x.to_vector<double>(), out(x.numel());
  for (int64_t flat = 0; flat < x.numel(); ++flat) {
    std::vector<int64_t> i = unflatten(flat, out_shape), j(r);
    for (int64_t k = 0; k < r; ++k) j[dims[k]] = i[k];
    out[flat] = v[flatten_index(j, x.shape())];
  }
  return out;
}

// Elements of x with start <= index[dim] < end, in order.
std::vector<double> naive_slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  std::vector<double> v = x.to_vector<double>(), out;
  for (int64_t flat = 0; flat < x.numel(); ++flat) {
    int64_t i = unflatten(flat, x.shape())[dim];
    if (i >= start && i < end) out.push_back(v[flat]);
  }
  return out;
}

// ---- reshape and friends -----------------------------------------------------------------------

TEST(OpsShape, ReshapeKeepsOrderAndInfers) {
  Tensor x = Tensor::arange(0, 24).reshape({2, 3, 4});
  EXPECT_EQ(x.reshape({4, -1}).shape(), (Shape{4, 6}));
  EXPECT_EQ(x.reshape({-1}).shape(), (Shape{24}));
  EXPECT_EQ(x.reshape({-1, 2, 3}).shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(x.reshape({6, 4}).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(x.view({24}).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(Tensor::scalar(3).reshape({1, 1}).shape(), (Shape{1, 1}));
  EXPECT_EQ(Tensor::ones({1, 1}).reshape({}).shape(), (Shape{}));
  EXPECT_EQ(Tensor::ones({0, 3}).reshape({3, 0}).shape(), (Shape{3, 0}));
}

TEST(OpsShape, FlattenSqueezeUnsqueeze) {
  Tensor x = Tensor::zeros({2, 3, 4, 5});
  EXPECT_EQ(x.flatten().shape(), (Shape{120}));
  EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 60}));
  EXPECT_EQ(x.flatten(1, 2).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(x.flatten(-2, -1).shape(), (Shape{2, 3, 20}));
  EXPECT_EQ(x.unsqueeze(0).shape(), (Shape{1, 2, 3, 4, 5}));
  EXPECT_EQ(x.unsqueeze(4).shape(), (Shape{2, 3, 4, 5, 1}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{2, 3, 4, 5, 1}));
  EXPECT_EQ(x.unsqueeze(2).squeeze(2).shape(), x.shape());
  EXPECT_EQ(Tensor::zeros({3, 1}).squeeze(-1).shape(), (Shape{3}));
  EXPECT_TRUE(throws_with([&] { x.squeeze(0); }, "squeeze: dimension 0 has size 2, not 1, in shape [2, 3, 4, 5]"));
  EXPECT_TRUE(throws_with([&] { x.flatten(2, 1); }, "flatten: start_dim 2 comes after end_dim 1"));
  EXPECT_TRUE(throws_with([&] { x.unsqueeze(6); }, "unsqueeze: dimension 6 is out of range"));
}

TEST(OpsShape, ReshapeErrors) {
  Tensor x = Tensor::ones({2, 3});
  EXPECT_TRUE(throws_with([&] { x.reshape({-1, -1}); }, "reshape: only one dimension can be -1, got [-1, -1]"));
  EXPECT_TRUE(throws_with([&] { x.reshape({-2, 3}); }, "reshape: invalid size -2 in [-2, 3]"));
  EXPECT_TRUE(throws_with([&] { x.reshape({4, -1}); }, "reshape: cannot reshape [2, 3] (6 elements) into [4, -1]"));
  EXPECT_TRUE(throws_with([&] { x.reshape({7}); }, "reshape: cannot reshape [2, 3] (6 elements) into [7] (7 elements)"));
}

TEST(OpsShape, GradcheckReshapeFamily) {
  auto f = [](const std::vector<Tensor>& in) {
    Tensor x = in[0];  // [2, 3, 4]
    return x.reshape({4, -1}).flatten().unsqueeze(0).reshape({2, 12}) * x.flatten(1).unsqueeze(0).squeeze(0);
  };
  GradcheckResult r = gradcheck(f, {randn64({2, 3, 4}, 1)});
  ASSERT_TRUE(r.ok) << r.message;
}

// ---- permute and transpose ---------------------------------------------------------------------

TEST(OpsShape, PermuteEveryOrderOfFourDims) {
  Tensor x = randn64({2, 3, 4, 5}, 2);
  Shape dims = {0, 1, 2, 3};
  do {
    SCOPED_TRACE("dims " + shape_str(dims));
    Tensor y = x.permute(dims);
    EXPECT_EQ(y.shape(), (Shape{x.size(dims[0]), x.size(dims[1]), x.size(dims[2]), x.size(dims[3])}));
    EXPECT_EQ(y.to_vector<double>(), naive_permute(x, dims));
  } while (std::next_permutation(dims.begin(), dims.end()));
  // negative dims mean the same as positive ones
  EXPECT_EQ(x.permute({-1, 0, -2, 1}).to_vector<double>(), naive_permute(x, {3, 0, 2, 1}));
}

TEST(OpsShape, TransposeKnownValues) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor t = x.transpose(0, 1);
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(x.transpose(-1, -2).to_vector<float>(), t.to_vector<float>());
  EXPECT_EQ(x.transpose(1, 1).to_vector<float>(), x.to_vector<float>());
  Tensor y = randn64({2, 3, 4}, 3);
  EXPECT_EQ(transpose(y, 0, 2).to_vector<double>(), naive_permute(y, {2, 1, 0}));
}

TEST(OpsShape, GradcheckPermuteTranspose) {
  for (Shape dims : {Shape{0, 1, 2, 3}, Shape{3, 2, 1, 0}, Shape{0, 2, 3, 1}, Shape{-1, 0, -3, -2}}) {
    SCOPED_TRACE("dims " + shape_str(dims));
    auto f = [&](const std::vector<Tensor>& in) { return in[0].permute(dims); };
    GradcheckResult r = gradcheck(f, {randn64({2, 3, 4, 5}, 4)});
    ASSERT_TRUE(r.ok) << r.message;
  }
  auto f = [](const std::vector<Tensor>& in) { return in[0].transpose(-1, 0) * in[1]; };
  GradcheckResult r = gradcheck(f, {randn64({3, 4, 2}, 5), randn64({4, 1}, 6)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsShape, PermuteErrors) {
  Tensor x = Tensor::ones({2, 3, 4});
  EXPECT_TRUE(throws_with([&] { x.permute({0, 1}); }, "permute: got 2 dimensions [0, 1] for a tensor of shape [2, 3, 4]"));
  EXPECT_TRUE(throws_with([&] { x.permute({0, 0, 1}); }, "permute: dimension 0 appears twice in [0, 0, 1]"));
  EXPECT_TRUE(throws_with([&] { x.permute({0, 1, 3}); }, "permute: dimension 3 is out of range for a tensor with 3 dimensions"));
  EXPECT_TRUE(throws_with([&] { x.transpose(0, 3); }, "transpose: dimension 3 is out of range"));
}

// ---- slice -------------------------------------------------------------------------------------

TEST(OpsShape, SliceKnownValues) {
  Tensor x = randn64({3, 4, 5}, 7);
  struct Case {
    int64_t dim, start, end;       // as passed
    int64_t d, lo, hi;             // what they mean
  };
  std::vector<Case> cases = {
      {0, 1, 3, 0, 1, 3},   {1, 0, 2, 1, 0, 2},   {2, 2, 5, 2, 2, 5},  {-1, 1, 4, 2, 1, 4},
      {1, -3, -1, 1, 1, 3}, {2, 3, 100, 2, 3, 5}, {0, 2, 2, 0, 2, 2},  {-2, 0, 4, 1, 0, 4},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("slice(" + std::to_string(c.dim) + ", " + std::to_string(c.start) + ", " + std::to_string(c.end) + ")");
    Tensor y = x.slice(c.dim, c.start, c.end);
    Shape want_shape = x.shape();
    want_shape[c.d] = c.hi - c.lo;
    EXPECT_EQ(y.shape(), want_shape);
    EXPECT_EQ(y.to_vector<double>(), naive_slice(x, c.d, c.lo, c.hi));
  }
}

TEST(OpsShape, SliceAlongFirstDimensionIsAView) {
  Tensor x = Tensor::arange(0, 12).reshape({3, 4});
  Tensor rows = x.slice(0, 1, 3);
  rows.data<float>()[0] = -1;  // row 1, column 0 of x
  EXPECT_EQ(x.at({1, 0}), -1);
  // a leading dimension of size 1 makes any slice contiguous: also a view
  Tensor y = Tensor::arange(0, 12).reshape({1, 3, 4});
  Tensor mid = y.slice(1, 1, 2);
  mid.data<float>()[2] = 100;
  EXPECT_EQ(y.at({0, 1, 2}), 100);
  // slicing another dimension copies
  Tensor cols = x.slice(1, 0, 2);
  cols.data<float>()[0] = 42;
  EXPECT_EQ(x.at({0, 0}), 0);
}

TEST(OpsShape, GradcheckSlice) {
  for (Shape args : {Shape{0, 1, 3}, Shape{1, 1, 3}, Shape{2, 0, 2}, Shape{-1, -3, 5}, Shape{1, 0, 4}}) {
    SCOPED_TRACE("slice args " + shape_str(args));
    auto f = [&](const std::vector<Tensor>& in) { return in[0].slice(args[0], args[1], args[2]); };
    GradcheckResult r = gradcheck(f, {randn64({3, 4, 5}, 8)});
    ASSERT_TRUE(r.ok) << r.message;
  }
  // a slice of a slice, and a view slice used together with the whole tensor
  auto f = [](const std::vector<Tensor>& in) {
    Tensor x = in[0];
    return x.slice(1, 1, 4).slice(0, 1, 3) * x.slice(0, 0, 2).slice(1, 0, 3);
  };
  GradcheckResult r = gradcheck(f, {randn64({3, 4, 5}, 9)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsShape, SliceGradientIsZeroOutside) {
  Tensor x = Tensor::ones({2, 4}, DType::Float64).requires_grad_();
  x.slice(1, 1, 3).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 1, 0, 0, 1, 1, 0}));
}

TEST(OpsShape, SliceErrors) {
  Tensor x = Tensor::ones({2, 4});
  EXPECT_TRUE(throws_with([&] { x.slice(1, 3, 1); }, "slice: range [3, 1) is invalid for dimension 1 of size 4 in shape [2, 4]"));
  EXPECT_TRUE(throws_with([&] { x.slice(0, 5, 6); }, "slice: range [5, 2) is invalid for dimension 0 of size 2 in shape [2, 4]"));
  EXPECT_TRUE(throws_with([&] { x.slice(2, 0, 1); }, "slice: dimension 2 is out of range for a tensor with 2 dimensions"));
}

// ---- concat and stack --------------------------------------------------------------------------

TEST(OpsShape, ConcatKnownValues) {
  Tensor a = randn64({2, 3, 4}, 10);
  for (int64_t d : {0, 1, 2, -1, -3}) {
    SCOPED_TRACE("dim " + std::to_string(d));
    const int64_t dd = d < 0 ? d + 3 : d;
    Shape sb = a.shape(), sc = a.shape();
    sb[dd] = 1;
    sc[dd] = 5;
    Tensor b = randn64(sb, 11), c = randn64(sc, 12);
    Tensor y = concat({a, b, c}, d);
    Shape want_shape = a.shape();
    want_shape[dd] = a.shape()[dd] + 1 + 5;
    ASSERT_EQ(y.shape(), want_shape);
    // element [.., i, ..] of y comes from a, b or c depending on i along dd
    std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>(), vc = c.to_vector<double>();
    std::vector<double> got = y.to_vector<double>();
    for (int64_t flat = 0; flat < y.numel(); ++flat) {
      std::vector<int64_t> idx = unflatten(flat, want_shape);
      int64_t i = idx[dd];
      double want;
      if (i < a.shape()[dd]) {
        want = va[flatten_index(idx, a.shape())];
      } else if (i < a.shape()[dd] + 1) {
        idx[dd] = i - a.shape()[dd];
        want = vb[flatten_index(idx, sb)];
      } else {
        idx[dd] = i - a.shape()[dd] - 1;
        want = vc[flatten_index(idx, sc)];
      }
      ASSERT_EQ(got[flat], want) << "at flat index " << flat;
    }
  }
}

TEST(OpsShape, GradcheckConcat) {
  for (int64_t d : {0, 1, -1}) {
    SCOPED_TRACE("dim " + std::to_string(d));
    Shape sa = {2, 3, 4}, sb = {2, 3, 4}, sc = {2, 3, 4};
    const int64_t dd = d < 0 ? d + 3 : d;
    sb[dd] = 1;
    sc[dd] = 2;
    auto f = [&](const std::vector<Tensor>& in) { return concat({in[0], in[1], in[2]}, d); };
    GradcheckResult r = gradcheck(f, {randn64(sa, 13), randn64(sb, 14), randn64(sc, 15)});
    ASSERT_TRUE(r.ok) << r.message;
  }
  // the same tensor twice: its gradient is the sum of both parts
  auto f = [](const std::vector<Tensor>& in) { return concat({in[0], in[0] * 2.0}, 0); };
  GradcheckResult r = gradcheck(f, {randn64({2, 3}, 16)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsShape, ConcatGradientOnlyToInputsThatNeedIt) {
  Tensor a = Tensor::ones({2, 2}, DType::Float64).requires_grad_();
  Tensor b = Tensor::ones({1, 2}, DType::Float64);
  Tensor w = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 2});
  (concat({a, b}, 0) * w).sum().backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_FALSE(b.grad().defined());
}

TEST(OpsShape, StackKnownValues) {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector(std::vector<float>{10, 20, 30, 40, 50, 60}, {2, 3});
  Tensor s0 = stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(s0.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}));
  Tensor s1 = stack({a, b}, 1);
  EXPECT_EQ(s1.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(s1.to_vector<float>(), (std::vector<float>{1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60}));
  Tensor s2 = stack({a, b}, -1);
  EXPECT_EQ(s2.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s2.to_vector<float>(), (std::vector<float>{1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60}));
  EXPECT_EQ(stack({a, b}, 2).to_vector<float>(), s2.to_vector<float>());
  EXPECT_EQ(stack({a}, 0).shape(), (Shape{1, 2, 3}));
}

TEST(OpsShape, GradcheckStack) {
  for (int64_t d : {0, 1, 2, -1}) {
    SCOPED_TRACE("dim " + std::to_string(d));
    auto f = [&](const std::vector<Tensor>& in) { return stack({in[0], in[1], in[2]}, d); };
    GradcheckResult r = gradcheck(f, {randn64({2, 3}, 17), randn64({2, 3}, 18), randn64({2, 3}, 19)});
    ASSERT_TRUE(r.ok) << r.message;
  }
}

TEST(OpsShape, ConcatAndStackErrors) {
  Tensor a = Tensor::ones({3, 5}), b = Tensor::ones({2, 5});
  EXPECT_TRUE(throws_with([&] { concat({a, b}, 1); },
                          "concat: tensor 1 has shape [2, 5], which does not match [3, 5] outside dimension 1"));
  EXPECT_TRUE(throws_with([&] { concat({a, Tensor::ones({3})}, 0); },
                          "concat: tensor 1 has shape [3], which does not match [3, 5] outside dimension 0"));
  EXPECT_TRUE(throws_with([&] { concat({a, Tensor::ones({1, 5}, DType::Float64)}, 0); },
                          "concat: tensor 1 is float64, tensor 0 is float32"));
  EXPECT_TRUE(throws_with([&] { concat({}, 0); }, "concat: no tensors given"));
  EXPECT_TRUE(throws_with([&] { concat({a, b}, 2); }, "concat: dimension 2 is out of range for a tensor with 2 dimensions"));
  EXPECT_TRUE(throws_with([&] { stack({a, b}, 0); }, "stack: tensor 1 has shape [2, 5], tensor 0 has [3, 5]"));
  EXPECT_TRUE(throws_with([&] { stack({}, 0); }, "stack: no tensors given"));
  EXPECT_TRUE(throws_with([&] { stack({a, a}, 3); }, "stack: dimension 3 is out of range for a tensor with 3 dimensions"));
}

// ---- index_select ------------------------------------------------------------------------------

TEST(OpsShape, IndexSelectWithRepeatedIndices) {
  Tensor x = Tensor::from_vector(std::vector<double>{0, 1, 10, 11, 20, 21, 30, 31}, {4, 2});
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{3, 0, 3, 3, 1}, {5});
  Tensor y = index_select(x, idx);
  EXPECT_EQ(y.shape(), (Shape{5, 2}));
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{30, 31, 0, 1, 30, 31, 30, 31, 10, 11}));
  // backward scatter-adds: row 3 was picked three times, row 2 never
  x.requires_grad_();
  Tensor w = Tensor::arange(1, 11, 1, DType::Float64).reshape({5, 2});
  (index_select(x, idx) * w).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 4, 9, 10, 0, 0, 1 + 5 + 7, 2 + 6 + 8}));
  // rows of a 3-D tensor, and an empty index
  Tensor z = randn64({3, 2, 2}, 20);
  Tensor picked = index_select(z, Tensor::from_vector(std::vector<int64_t>{2, 2}, {2}));
  EXPECT_EQ(picked.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(picked.slice(0, 0, 1).to_vector<double>(), z.slice(0, 2, 3).to_vector<double>());
  EXPECT_EQ(index_select(z, Tensor::zeros({0}, DType::Int64)).shape(), (Shape{0, 2, 2}));
}

TEST(OpsShape, GradcheckIndexSelect) {
  // the index is an int64 input: gradcheck passes it through untouched
  auto f = [](const std::vector<Tensor>& in) { return index_select(in[0], in[1]); };
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{2, 0, 2, 2, 4, 1, 0}, {7});
  GradcheckResult r = gradcheck(f, {randn64({5, 3, 2}, 21), idx});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsShape, IndexSelectErrors) {
  Tensor x = Tensor::ones({4, 2});
  EXPECT_TRUE(throws_with([&] { index_select(x, Tensor::from_vector(std::vector<int64_t>{0, 1, 5}, {3})); },
                          "index_select: index 5 at position 2 is out of range for dimension 0 of size 4"));
  EXPECT_TRUE(throws_with([&] { index_select(x, Tensor::from_vector(std::vector<int64_t>{-1}, {1})); },
                          "index_select: index -1 at position 0 is out of range for dimension 0 of size 4"));
  EXPECT_TRUE(throws_with([&] { index_select(x, Tensor::ones({2})); },
                          "index_select: index must be a 1-D int64 tensor, got float32 [2]"));
  EXPECT_TRUE(throws_with([&] { index_select(x, Tensor::zeros({1, 2}, DType::Int64)); },
                          "index_select: index must be a 1-D int64 tensor, got int64 [1, 2]"));
  EXPECT_TRUE(throws_with([&] { index_select(Tensor::scalar(1), Tensor::zeros({1}, DType::Int64)); },
                          "index_select: cannot index a 0-d tensor"));
}

// ---- clone and to ------------------------------------------------------------------------------

TEST(OpsShape, CloneIsADeepCopyWithGradient) {
  Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}).requires_grad_();
  Tensor c = x.clone();
  EXPECT_NE(c.raw_data(), x.raw_data());
  EXPECT_EQ(c.to_vector<double>(), x.to_vector<double>());
  EXPECT_EQ(c.grad_fn()->name, "clone");
  (c * c).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 4, 6}));
  c.detach().fill_(0);
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{1, 2, 3}));
  auto f = [](const std::vector<Tensor>& in) { return in[0].clone() * in[0]; };
  GradcheckResult r = gradcheck(f, {randn64({3, 4}, 22)});
  ASSERT_TRUE(r.ok) << r.message;
}

TEST(OpsShape, ToConvertsAndCarriesGradient) {
  // float32 -> float64 and back: the gradient arrives in the input's own dtype
  Tensor x = Tensor::from_vector(std::vector<float>{1.5f, -2.0f}, {2}).requires_grad_();
  Tensor y = x.to(DType::Float64);
  EXPECT_EQ(y.dtype(), DType::Float64);
  EXPECT_EQ(y.grad_fn()->name, "to");
  (y * Tensor::from_vector(std::vector<double>{3, 4}, {2})).sum().backward();
  EXPECT_EQ(x.grad().dtype(), DType::Float32);
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{3, 4}));
  // converting to the same dtype returns the same tensor
  Tensor same = x.to(DType::Float32);
  EXPECT_EQ(same.impl(), x.impl());
  // to int64 truncates toward zero and leaves the graph
  Tensor i = x.to(DType::Int64);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, -2}));
  EXPECT_FALSE(i.requires_grad());
  Tensor back = Tensor::from_vector(std::vector<int64_t>{7, -3}, {2}).to(DType::Float32);
  EXPECT_EQ(back.to_vector<float>(), (std::vector<float>{7, -3}));
  // gradcheck through a round trip that stays in float64
  auto f = [](const std::vector<Tensor>& in) { return in[0].to(DType::Float64).clone() * 2.0; };
  GradcheckResult r = gradcheck(f, {randn64({4}, 23)});
  ASSERT_TRUE(r.ok) << r.message;
}

// ---- int64 and threads -------------------------------------------------------------------------

TEST(OpsShape, Int64ShapeOpsAreExact) {
  const int64_t big = (int64_t{1} << 60) + 7;
  Tensor x = Tensor::from_vector(std::vector<int64_t>{big, 1, 2, 3, 4, 5}, {2, 3});
  EXPECT_EQ(x.transpose(0, 1).to_vector<int64_t>(), (std::vector<int64_t>{big, 3, 1, 4, 2, 5}));
  EXPECT_EQ(x.slice(1, 0, 1).to_vector<int64_t>(), (std::vector<int64_t>{big, 3}));
  EXPECT_EQ(concat({x, x.slice(0, 1, 2)}, 0).to_vector<int64_t>(), (std::vector<int64_t>{big, 1, 2, 3, 4, 5, 3, 4, 5}));
  EXPECT_EQ(stack({x, x}, 0).dtype(), DType::Int64);
  EXPECT_EQ(index_select(x, Tensor::from_vector(std::vector<int64_t>{1, 0}, {2})).to_vector<int64_t>(),
            (std::vector<int64_t>{3, 4, 5, big, 1, 2}));
  EXPECT_EQ(x.reshape({3, 2}).at({0, 0}), static_cast<double>(big));
  EXPECT_EQ(x.clone().to_vector<int64_t>()[0], big);
}

TEST(OpsShape, PermuteSameResultOnOneAndTwoThreads) {
  Generator gen(24);
  Tensor x = Tensor::randn({32, 48, 64}, &gen);
  std::vector<float> one, two;
  {
    ThreadsGuard guard(1);
    one = x.permute({2, 0, 1}).to_vector<float>();
  }
  {
    ThreadsGuard guard(2);
    two = x.permute({2, 0, 1}).to_vector<float>();
  }
  EXPECT_EQ(one, two);
  std::vector<double> want = naive_permute(x, {2, 0, 1});
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(static_cast<double>(two[i]), want[i]) << i;
}

}  // namespace test_ops_shape
