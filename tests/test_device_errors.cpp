// The device seam's errors that need no GPU (fast tier): asking for a CUDA tensor where the build
// has no CUDA backend says how to build with it; where the backend is built but no GPU can be used,
// it says there is no CUDA device and why. CPU tensors behave as before. (The GPU's own tests are
// tests/test_cuda_*.cpp, label gpu.)
#include <gtest/gtest.h>

#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/storage.h"
#include "lessons/common/device.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_device_errors {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

// What asking for the GPU must say on this machine; empty when a GPU can be used (then the tests
// of the errors have nothing to check, and the gpu tier checks the real thing).
std::string expected_refusal() {
  if (!cuda_is_built()) return "ember was built without CUDA";
  if (!cuda_is_available()) return "no CUDA device";
  return "";
}

TEST(DeviceErrors, CudaTensorWithoutABackendOrAGpuSaysWhyAndHowToGetOne) {
  const std::string expected = expected_refusal();
  if (expected.empty()) GTEST_SKIP() << "a GPU is usable here: " << cuda_device_name();
  EXPECT_ERROR(Tensor::zeros({2, 3}, DType::Float32, Device::CUDA), expected);
  EXPECT_ERROR(Tensor::empty({4}, DType::Float64, Device::CUDA), expected);
  EXPECT_ERROR(Tensor::ones({1}, DType::Float32, Device::CUDA), expected);
  EXPECT_ERROR(Tensor::full({1}, 2.0, DType::Float32, Device::CUDA), expected);
  Tensor x = Tensor::randn({2, 3});
  EXPECT_ERROR(x.cuda(), expected);
  EXPECT_ERROR(x.to(Device::CUDA), expected);
  EXPECT_ERROR(cuda_memory_stats(), expected);
  EXPECT_ERROR(set_cuda_tf32(true), expected);
  EXPECT_FALSE(cuda_is_available());
  EXPECT_NE(cuda_unavailable_reason().find(expected), std::string::npos) << cuda_unavailable_reason();
  EXPECT_FALSE(cuda_tf32());
}

TEST(DeviceErrors, ACpuOnlyBuildNamesTheCmakeOption) {
  if (cuda_is_built()) GTEST_SKIP() << "this build has the CUDA backend";
  const std::string message = error_of([] { Tensor::zeros({2}, DType::Float32, Device::CUDA); });
  EXPECT_NE(message.find("-DEMBER_CUDA=ON"), std::string::npos) << message;
  EXPECT_NE(message.find("nvcc"), std::string::npos) << message;
}

TEST(DeviceErrors, ABuildWithCudaButNoGpuSaysSoWithTheRuntimesReason) {
  if (!cuda_is_built()) GTEST_SKIP() << "this build has no CUDA backend";
  if (cuda_is_available()) GTEST_SKIP() << "a GPU is usable here: " << cuda_device_name();
  const std::string message = error_of([] { Tensor::zeros({2}, DType::Float32, Device::CUDA); });
  EXPECT_NE(message.find("cuda: no CUDA device"), std::string::npos) << message;
  // the runtime's own name for what went wrong (cudaErrorNoDevice, cudaErrorInsufficientDriver, ...)
  EXPECT_NE(message.find("cudaError"), std::string::npos) << message;
  // and the process goes on: CPU tensors work as before
  EXPECT_EQ(Tensor::ones({3}).sum().item(), 3.0);
}

TEST(DeviceErrors, CpuTensorsStayWhereTheyAre) {
  Tensor x = Tensor::randn({3, 4});
  EXPECT_EQ(x.device(), Device::CPU);
  EXPECT_EQ(x.cpu().impl(), x.impl());              // already there: the same tensor, no copy
  EXPECT_EQ(x.to(Device::CPU).impl(), x.impl());
  Tensor z = Tensor::zeros({2, 2}, DType::Float64, Device::CPU);
  EXPECT_EQ(z.dtype(), DType::Float64);
  EXPECT_EQ(z.sum().item(), 0.0);
  EXPECT_EQ(Tensor::full({2}, 1.5, DType::Float32, Device::CPU).to_vector<float>(), (std::vector<float>{1.5f, 1.5f}));
  EXPECT_EQ(Tensor::scalar(4.0, DType::Float64, Device::CPU).item(), 4.0);
  EXPECT_EQ(x.to_string().find("device="), std::string::npos);  // CPU tensors print as before
}

TEST(DeviceErrors, TheOpsWithoutACudaKernelAreRefusedByName) {
  // require_cuda_kernel is what OpScope asks when an input is on the GPU; it needs no GPU itself
  // every op of core/ops/ has a CUDA path now; a new op is refused until it is added to the list
  EXPECT_ERROR(require_cuda_kernel("my_new_op"), "op my_new_op has no CUDA kernel yet");
  EXPECT_ERROR(require_cuda_kernel("my_new_op"), "x.cpu()");
  for (const char* op : {"add", "sub", "mul", "div", "neg", "exp", "log", "relu", "sigmoid", "tanh", "gelu", "sum",
                         "mean", "var", "max", "argmax", "softmax", "log_softmax", "cross_entropy", "matmul", "linear",
                         "conv2d", "reshape", "permute", "transpose", "slice", "concat", "stack", "index_select",
                         "max_pool2d", "avg_pool2d", "global_avg_pool2d", "batch_norm", "layer_norm", "embedding",
                         "dropout", "masked_fill", "scaled_dot_product_attention", "self_attention", "sqrt",
                         "pow", "abs", "clamp", "leaky_relu", "mse_loss", "binary_cross_entropy_with_logits"})
    EXPECT_NO_THROW(require_cuda_kernel(op)) << op;
}

TEST(DeviceErrors, CpuMemoryErrorsStillSayCpu) {
  const std::string message = error_of([] { Storage storage(size_t(1) << 50, Device::CPU); });
  EXPECT_NE(message.find("of cpu memory"), std::string::npos) << message;
}

// --device in the lessons (lessons/common/device.h): cpu always, cuda only with a usable GPU (an
// error with the runtime's reason otherwise), auto whichever there is.
TEST(DeviceErrors, TheLessonsDeviceSetting) {
  EXPECT_EQ(choose_device("cpu"), Device::CPU);
  EXPECT_EQ(choose_device("auto"), cuda_is_available() ? Device::CUDA : Device::CPU);
  if (cuda_is_available()) {
    EXPECT_EQ(choose_device("cuda"), Device::CUDA);
  } else {
    const std::string message = error_of([] { choose_device("cuda"); });
    EXPECT_NE(message.find("--device=cuda: " + cuda_unavailable_reason()), std::string::npos) << message;
    EXPECT_NE(message.find("--device=cpu"), std::string::npos) << message;
  }
  EXPECT_ERROR(choose_device("gpu"), "--device must be cpu, cuda or auto, got \"gpu\"");
  EXPECT_TRUE(memory_line(Device::CPU).empty());
  EXPECT_NE(device_line(Device::CPU).find("device: cpu ("), std::string::npos);
}

}  // namespace test_device_errors
