// The CUDA kernels of the ops that layers are built from, against the CPU ops on the same random
// inputs, forward and backward (tests/test_cuda_util.h): pooling (cuda/pool.cu), batch_norm and
// layer_norm (cuda/batch_norm.cu, cuda/layer_norm.cu), embedding and dropout (cuda/embedding.cu,
// cuda/dropout.cu), masked_fill (cuda/masked_fill.cu), max/argmax (cuda/reduce.cu), the shape ops
// that copy (cuda/shape.cu) and attention (cuda/attention.cu with cuBLAS).
// Tolerances, relative to 1 + |cpu value|: float32 1e-5, float64 1e-12 (sums are taken in another
// order on the GPU: a tree of warp shuffles against the CPU's loop), except where stated. Ops that
// only move numbers (pooling's max, the shape ops, masked_fill, dropout's mask) must match exactly.
// Every test skips where no GPU can be used.
#include "tests/test_cuda_util.h"

using namespace ember;

namespace test_cuda_layers_ops {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

class CudaLayerOps : public testing::TestWithParam<DType> {};
INSTANTIATE_TEST_SUITE_P(Float, CudaLayerOps, testing::Values(DType::Float32, DType::Float64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST_P(CudaLayerOps, MaxAndAvgPoolingEveryWindowShape) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  Tensor x = random_tensor({2, 3, 9, 11}, dt, 1);
  struct Window { int64_t kernel, stride, padding; };
  // non-overlapping, overlapping (stride < kernel: an input collects several gradients), padded,
  // and strided past the kernel (inputs no window sees get 0)
  for (Window w : {Window{2, 2, 0}, Window{3, 1, 1}, Window{3, 2, 1}, Window{2, 3, 0}, Window{5, 1, 2}}) {
    SCOPED_TRACE("kernel " + std::to_string(w.kernel) + " stride " + std::to_string(w.stride) + " padding " +
                 std::to_string(w.padding));
    expect_gpu_matches_cpu([w](const auto& in) { return max_pool2d(in[0], w.kernel, w.stride, w.padding); }, {x}, 0.0);
    expect_gpu_matches_cpu([w](const auto& in) { return avg_pool2d(in[0], w.kernel, w.stride, w.padding); }, {x},
                           tol_for(dt));
  }
  expect_gpu_matches_cpu([](const auto& in) { return global_avg_pool2d(in[0]); }, {x}, tol_for(dt));
  Tensor large_plane = random_tensor({2, 4, 40, 50}, dt, 2);  // planes longer than a block of 256
  expect_gpu_matches_cpu([](const auto& in) { return global_avg_pool2d(in[0]); }, {large_plane}, tol_for(dt));
}

TEST_P(CudaLayerOps, BatchNormTrainingUpdatesTheSameRunningStatistics) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  const double tol = tol_for(dt);
  // M = N*S values per channel: 16, 252, 60, and 715 (more than the block's 256 threads, so each
  // thread's loop over the channel takes a second and third step)
  for (const Shape& shape : {Shape{16, 5}, Shape{4, 6, 7, 9}, Shape{3, 2, 20}, Shape{5, 3, 11, 13}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t C = shape[1];
    Tensor x = random_tensor(shape, dt, 3) * 2.0 + 0.5;
    Tensor w = random_tensor({C}, dt, 4), b = random_tensor({C}, dt, 5);
    Tensor rm_cpu = random_tensor({C}, dt, 6), rv_cpu = Tensor::full({C}, 1.5, dt);
    Tensor rm_gpu = rm_cpu.cuda(), rv_gpu = rv_cpu.cuda();
    // each device's call updates its own running statistics
    expect_gpu_matches_cpu(
        [&](const auto& in) {
          const bool gpu = in[0].device() == Device::CUDA;
          return batch_norm(in[0], gpu ? rm_gpu : rm_cpu, gpu ? rv_gpu : rv_cpu, in[1], in[2], /*training=*/true,
                            0.1, 1e-5);
        },
        {x, w, b}, tol);
    std::string message = compare(rm_gpu, rm_cpu, tol, "running_mean");
    EXPECT_TRUE(message.empty()) << message;
    message = compare(rv_gpu, rv_cpu, tol, "running_var");
    EXPECT_TRUE(message.empty()) << message;
    // eval: the running statistics normalise, and dx is weight rstd g
    expect_gpu_matches_cpu(
        [&](const auto& in) {
          const bool gpu = in[0].device() == Device::CUDA;
          return batch_norm(in[0], gpu ? rm_gpu : rm_cpu, gpu ? rv_gpu : rv_cpu, in[1], in[2], /*training=*/false,
                            0.1, 1e-5);
        },
        {x, w, b}, tol);
  }
  // without weight, bias or running statistics
  Tensor x = random_tensor({8, 3, 4, 4}, dt, 7);
  expect_gpu_matches_cpu([](const auto& in) { return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                         {x}, tol);
}

TEST_P(CudaLayerOps, LayerNormWithAndWithoutParameters) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  const double tol = tol_for(dt);
  for (const Shape& shape : {Shape{4, 7}, Shape{2, 5, 100}, Shape{3, 1000}, Shape{130, 16}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t D = shape.back();
    Tensor x = random_tensor(shape, dt, 8) * 3.0 + 1.0;
    Tensor w = random_tensor({D}, dt, 9), b = random_tensor({D}, dt, 10);
    expect_gpu_matches_cpu([](const auto& in) { return layer_norm(in[0], in[1], in[2]); }, {x, w, b}, tol);
    expect_gpu_matches_cpu([](const auto& in) { return layer_norm(in[0], Tensor(), Tensor()); }, {x}, tol);
    expect_gpu_matches_cpu([](const auto& in) { return layer_norm(in[0], in[1], Tensor()); }, {x, w}, tol);
  }
}

TEST_P(CudaLayerOps, EmbeddingWithRepeatedIds) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  Tensor weight = random_tensor({11, 40}, dt, 11);
  // ids repeat, so the backward's atomicAdd adds several rows of g into one row of dweight
  Tensor ids = Tensor::from_vector(std::vector<int64_t>{3, 0, 3, 10, 7, 3, 0, 1}, {2, 4});
  expect_gpu_matches_cpu([](const auto& in) { return embedding(in[0], in[1]); }, {ids, weight}, tol_for(dt));
  Tensor bad = Tensor::from_vector(std::vector<int64_t>{1, 11}, {2});
  EXPECT_EQ(error_of([&] { embedding(bad.cuda(), weight.cuda()); }), error_of([&] { embedding(bad, weight); }));
  EXPECT_ERROR(embedding(ids, weight.cuda()), "move one with .cuda() or .cpu()");
}

TEST_P(CudaLayerOps, DropoutMaskIsTheCpusForTheSameSeed) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  Tensor x = random_tensor({37, 129}, dt, 12);
  for (double p : {0.1, 0.5, 0.9}) {
    Generator cpu_gen(42), gpu_gen(42);
    Tensor x_cpu = x.clone().requires_grad_(), x_gpu = x.cuda().requires_grad_();
    Tensor y_cpu = dropout(x_cpu, p, true, &cpu_gen), y_gpu = dropout(x_gpu, p, true, &gpu_gen);
    // the same elements dropped, the survivors scaled by the same 1/(1-p): bit for bit
    EXPECT_EQ(y_gpu.to_vector<double>(), y_cpu.to_vector<double>()) << "p = " << p;
    Tensor g = random_tensor(x.shape(), dt, 13);
    y_cpu.backward(g);
    y_gpu.backward(g.cuda());
    EXPECT_EQ(x_gpu.grad().to_vector<double>(), x_cpu.grad().to_vector<double>()) << "p = " << p;
  }
  // p = 1 drops everything, eval is the identity
  EXPECT_EQ(sum(dropout(x.cuda(), 1.0, true)).item(), 0.0);
  Tensor xc = x.cuda();
  EXPECT_EQ(dropout(xc, 0.5, false).impl(), xc.impl());
}

TEST_P(CudaLayerOps, MaskedFillWithABroadcastMask) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  Tensor scores = random_tensor({2, 3, 5, 5}, dt, 14);
  // The mask is captured, not passed as an input: a float mask given as an input would be made
  // requires_grad by expect_gpu_matches_cpu and then have no gradient (masked_fill has none for it).
  // mask_on(x) is the mask on x's device.
  // a [T, T] causal mask for [B, H, T, T] scores, in each mask dtype
  for (DType mask_dt : {DType::Float32, DType::Float64, DType::Int64}) {
    SCOPED_TRACE(std::string("mask ") + dtype_name(mask_dt));
    const Tensor mask = causal_mask(5, mask_dt), mask_gpu = mask.cuda();
    auto mask_on = [=](const Tensor& x) { return x.device() == Device::CUDA ? mask_gpu : mask; };
    expect_gpu_matches_cpu([=](const auto& in) { return masked_fill(in[0], mask_on(in[0]), -1e9); }, {scores}, 0.0);
  }
  Tensor row_mask = Tensor::from_vector(std::vector<int64_t>{1, 0, 0, 1, 0}, {5});
  expect_gpu_matches_cpu([](const auto& in) { return masked_fill(in[0], in[1], 2.5); }, {scores, row_mask}, 0.0);
  // followed by a softmax, as attention does
  const Tensor mask = causal_mask(5, dt), mask_gpu = mask.cuda();
  expect_gpu_matches_cpu(
      [=](const auto& in) {
        return softmax(masked_fill(in[0], in[0].device() == Device::CUDA ? mask_gpu : mask, -INFINITY));
      },
      {scores}, tol_for(dt));
}

TEST_P(CudaLayerOps, MaxAndArgmaxAlongEachDimension) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  Tensor x = random_tensor({4, 6, 5}, dt, 15);
  for (int64_t d : {0, 1, 2}) {
    expect_gpu_matches_cpu([d](const auto& in) { return max(in[0], d); }, {x}, 0.0);
    expect_gpu_matches_cpu([d](const auto& in) { return max(in[0], d, /*keepdim=*/true); }, {x}, 0.0);
    EXPECT_EQ(argmax(x.cuda(), d).to_vector<int64_t>(), argmax(x, d).to_vector<int64_t>()) << "dim " << d;
  }
  expect_gpu_matches_cpu([](const auto& in) { return max(in[0]); }, {x}, 0.0);
  // the first of equal values, and a NaN wins, as on the CPU
  Tensor ties = Tensor::from_vector(std::vector<double>{1, 3, 3, 2, NAN, 5}, {2, 3}).to(dt);
  EXPECT_EQ(argmax(ties.cuda(), 1).to_vector<int64_t>(), argmax(ties, 1).to_vector<int64_t>());
}

TEST_P(CudaLayerOps, ShapeOpsThatCopy) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  Tensor x = random_tensor({3, 4, 5, 2}, dt, 16);
  expect_gpu_matches_cpu([](const auto& in) { return permute(in[0], {2, 0, 3, 1}); }, {x}, 0.0);
  expect_gpu_matches_cpu([](const auto& in) { return transpose(in[0], 1, 3); }, {x}, 0.0);
  expect_gpu_matches_cpu([](const auto& in) { return slice(in[0], 0, 1, 3); }, {x}, 0.0);  // a view
  expect_gpu_matches_cpu([](const auto& in) { return slice(in[0], 2, 1, -1); }, {x}, 0.0);
  Tensor y = random_tensor({3, 2, 5, 2}, dt, 17);
  expect_gpu_matches_cpu([](const auto& in) { return concat({in[0], in[1]}, 1); }, {x, y}, 0.0);
  expect_gpu_matches_cpu([](const auto& in) { return stack({in[0], in[0] * 2.0}, 2); }, {x}, 0.0);
  Tensor index = Tensor::from_vector(std::vector<int64_t>{2, 0, 2, 1}, {4});  // row 2 twice: gradients add
  expect_gpu_matches_cpu([](const auto& in) { return index_select(in[0], in[1]); }, {x, index}, tol_for(dt));
  // int64 tensors move too
  Tensor ids = Tensor::randint(0, 100, {6, 7}, nullptr);
  EXPECT_EQ(transpose(ids.cuda(), 0, 1).to_vector<int64_t>(), transpose(ids, 0, 1).to_vector<int64_t>());
  EXPECT_ERROR(concat({x, y.cuda()}, 1), "move one with .cuda() or .cpu()");
}

TEST_P(CudaLayerOps, AttentionCausalOrNotWithTheCpusDropout) {
  SKIP_WITHOUT_GPU();
  const DType dt = GetParam();
  const double tol = dt == DType::Float32 ? 1e-4 : kCudaTol64;  // float32: GEMMs in another order, softmax, GEMMs
  Tensor q = random_tensor({2, 3, 37, 8}, dt, 20), k = random_tensor({2, 3, 37, 8}, dt, 21);
  Tensor v = random_tensor({2, 3, 37, 8}, dt, 22);
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "not causal");
    expect_gpu_matches_cpu([causal](const auto& in) { return scaled_dot_product_attention(in[0], in[1], in[2], causal); },
                           {q, k, v}, tol);
    // dropout on the probabilities: each device's generator starts from the same seed, so both draw
    // the same per-head seeds and drop the same elements
    expect_gpu_matches_cpu(
        [causal](const auto& in) {
          Generator gen(11);
          return scaled_dot_product_attention(in[0], in[1], in[2], causal, 0.3, /*training=*/true, &gen);
        },
        {q, k, v}, tol);
  }
  // the packed layout of a transformer: qkv [B, T, 3C] with 4 heads of 6 features
  Tensor qkv = random_tensor({2, 19, 3 * 24}, dt, 23);
  expect_gpu_matches_cpu(
      [](const auto& in) {
        Generator gen(12);
        return self_attention(in[0], 4, /*causal=*/true, 0.2, /*training=*/true, &gen);
      },
      {qkv}, tol);
}

}  // namespace test_cuda_layers_ops
