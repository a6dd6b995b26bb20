// GPU tensors themselves: copies between devices, factories, conversions, printing, the caching
// allocator, and the errors of the seam that need a GPU to happen (a GPU tensor's data<T>() read on
// the CPU, ops on two devices, ops without a CUDA kernel). Every test skips where no GPU can be used.
#include <cstdlib>

#include "core/storage.h"
#include "tests/test_cuda_util.h"

using namespace ember;

namespace test_cuda_tensor {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

TEST(CudaTensor, CopiesToTheGpuAndBackAreExact) {
  SKIP_WITHOUT_GPU();
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor x = random_tensor({3, 17, 5}, dt, 1);
    Tensor g = x.cuda();
    EXPECT_EQ(g.device(), Device::CUDA);
    EXPECT_EQ(g.shape(), x.shape());
    EXPECT_EQ(g.cpu().to_vector<double>(), x.to_vector<double>());
    EXPECT_EQ(g.clone().cpu().to_vector<double>(), x.to_vector<double>());  // device to device
    EXPECT_EQ(g.cuda().impl(), g.impl());                                   // already there
  }
  Tensor labels = Tensor::from_vector(std::vector<int64_t>{3, -1, 1LL << 40}, {3});
  EXPECT_EQ(labels.cuda().cpu().to_vector<int64_t>(), labels.to_vector<int64_t>());
  Tensor empty = Tensor::empty({0, 4}).cuda();
  EXPECT_EQ(empty.numel(), 0);
}

TEST(CudaTensor, FactoriesConversionsAndValues) {
  SKIP_WITHOUT_GPU();
  EXPECT_EQ(Tensor::zeros({2, 3}, DType::Float32, Device::CUDA).to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(Tensor::ones({4}, DType::Float64, Device::CUDA).to_vector<double>(), std::vector<double>(4, 1.0));
  EXPECT_EQ(Tensor::full({2}, -2.5, DType::Float32, Device::CUDA).to_vector<float>(), (std::vector<float>{-2.5f, -2.5f}));
  Tensor s = Tensor::scalar(7.0, DType::Int64, Device::CUDA);
  EXPECT_EQ(s.item(), 7.0);
  Tensor x = random_tensor({5}, DType::Float64, 2);
  EXPECT_EQ(x.cuda().to(DType::Float32).cpu().to_vector<float>(), x.to(DType::Float32).to_vector<float>());
  EXPECT_EQ(x.cuda().at({3}), x.at({3}));
  Tensor t = Tensor::from_vector(std::vector<float>{1, 2}, {2}).cuda();
  EXPECT_NE(t.to_string().find("device=cuda"), std::string::npos) << t.to_string();
  EXPECT_NE(t.to_string().find("1.0000, 2.0000"), std::string::npos) << t.to_string();
  t.fill_(3.0);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{3, 3}));
  EXPECT_EQ(t.reshape({1, 2}).device(), Device::CUDA);
}

TEST(CudaTensor, GradientsFlowBackAcrossTheCopy) {
  SKIP_WITHOUT_GPU();
  Tensor x = random_tensor({4, 3}, DType::Float64, 3).requires_grad_();
  Tensor loss = sum(x.cuda() * 2.0).cpu();
  loss.backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().device(), Device::CPU);
  EXPECT_EQ(x.grad().to_vector<double>(), std::vector<double>(12, 2.0));
}

TEST(CudaTensor, ReadingGpuDataOnTheCpuNamesTheFix) {
  SKIP_WITHOUT_GPU();
  Tensor g = Tensor::zeros({2, 3}, DType::Float32, Device::CUDA);
  const std::string message = error_of([&] { g.data<float>(); });
  EXPECT_NE(message.find("data: this float32 tensor of shape [2, 3] is on cuda"), std::string::npos) << message;
  EXPECT_NE(message.find(".cpu()"), std::string::npos) << message;
  EXPECT_ERROR(g.raw_data(), "is on cuda");
  EXPECT_NO_THROW(g.device_data<float>());
}

TEST(CudaTensor, TwoDevicesInOneOpNameBoth) {
  SKIP_WITHOUT_GPU();
  Tensor a = Tensor::ones({2, 3}, DType::Float32, Device::CUDA), b = Tensor::ones({3});
  const std::string message = error_of([&] { add(a, b); });
  EXPECT_NE(message.find("add: the tensors are on different devices: [2, 3] float32 on cuda and [3] float32 on cpu"),
            std::string::npos)
      << message;
  EXPECT_ERROR(matmul(a, Tensor::ones({3, 2})), "matmul: the tensors are on different devices");
  EXPECT_ERROR(conv2d(Tensor::ones({1, 1, 3, 3}, DType::Float32, Device::CUDA), Tensor::ones({1, 1, 2, 2})),
               "conv2d: input, weight and bias must be on one device");
}

TEST(CudaTensor, OpsWithoutAKernelAreRefusedByName) {
  SKIP_WITHOUT_GPU();
  // every op of core/ops/ has a CUDA path now: what a new op without one says
  EXPECT_ERROR(require_cuda_kernel("my_new_op"), "op my_new_op has no CUDA kernel yet");
}

TEST(CudaTensor, TheCachingAllocatorReusesFreedBlocks) {
  SKIP_WITHOUT_GPU();
  const CudaMemoryStats before = cuda_memory_stats();
  { Tensor a = Tensor::empty({1000, 1000}, DType::Float32, Device::CUDA); }
  const CudaMemoryStats freed = cuda_memory_stats();
  EXPECT_GE(freed.cached_bytes, size_t(4000000));
  EXPECT_EQ(freed.allocated_bytes, before.allocated_bytes);
  { Tensor b = Tensor::empty({1000, 1000}, DType::Float32, Device::CUDA); }
  const CudaMemoryStats reused = cuda_memory_stats();
  EXPECT_EQ(reused.cuda_malloc_calls, freed.cuda_malloc_calls);  // the same block again: no cudaMalloc
  EXPECT_GT(reused.cache_hits, freed.cache_hits);
  EXPECT_GE(reused.peak_allocated_bytes, size_t(4000000));
  release_cached_memory();
  EXPECT_EQ(cuda_memory_stats().cached_bytes, size_t(0));
}

TEST(CudaTensor, AskingForMoreThanTheGpuHasIsAnErrorAndTheProcessGoesOn) {
  SKIP_WITHOUT_GPU();
  const std::string message = error_of([] { Tensor::empty({int64_t(1) << 48}, DType::Float32, Device::CUDA); });
  EXPECT_NE(message.find("the GPU has"), std::string::npos) << message;
  EXPECT_NE(message.find("[281474976710656]"), std::string::npos) << message;
  EXPECT_EQ(Tensor::ones({3}, DType::Float32, Device::CUDA).sum().item(), 3.0);
}

TEST(CudaTensor, TheDeviceHasANameAndTf32IsOffUnlessAsked) {
  SKIP_WITHOUT_GPU();
  EXPECT_NE(cuda_device_name().find("sm_"), std::string::npos) << cuda_device_name();
  if (std::getenv("EMBER_CUDA_TF32") == nullptr) {
    EXPECT_FALSE(cuda_tf32());
  }
}

}  // namespace test_cuda_tensor
