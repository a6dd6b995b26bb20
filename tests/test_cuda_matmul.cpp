// matmul and linear on the GPU (cuBLAS) against the CPU (OpenBLAS), forward and backward; the three
// teaching GEMMs of cuda/gemm_teaching.cu against the CPU; TF32 on request. Tolerances relative to
// 1 + |cpu value|: 1e-5 in float32 for K up to a few hundred (the two libraries add in different
// orders), 1e-12 in float64; TF32 (10-bit mantissas) 1e-2. Every test skips where no GPU can be used.
#include <array>

#include "cuda/gemm_teaching.h"
#include "tests/test_cuda_util.h"

using namespace ember;

namespace test_cuda_matmul {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

TEST(CudaMatmul, ShapesBatchesAndBroadcastingMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{1, 1}, {1, 1}},          {{37, 53}, {53, 29}},       {{128, 64}, {64, 256}},
        {{2, 3, 4, 5}, {3, 5, 6}}, {{2, 3, 4, 5}, {5, 6}},    {{1, 4, 5}, {3, 5, 2}}};
    for (const auto& [sa, sb] : shapes) {
      SCOPED_TRACE(shape_str(sa) + " @ " + shape_str(sb) + " " + dtype_name(dt));
      expect_gpu_matches_cpu([](const auto& in) { return matmul(in[0], in[1]); },
                             {random_tensor(sa, dt, 1), random_tensor(sb, dt, 2)}, tol);
    }
  }
}

TEST(CudaMatmul, LinearWithAndWithoutBias) {
  SKIP_WITHOUT_GPU();
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
    Tensor x = random_tensor({4, 7, 33}, dt, 3), w = random_tensor({17, 33}, dt, 4), b = random_tensor({17}, dt, 5);
    expect_gpu_matches_cpu([](const auto& in) { return linear(in[0], in[1], in[2]); }, {x, w, b}, tol);
    expect_gpu_matches_cpu([](const auto& in) { return linear(in[0], in[1]); }, {x, w}, tol);
  }
}

TEST(CudaMatmul, Tf32IsCloseAndSwitchesBackOff) {
  SKIP_WITHOUT_GPU();
  Tensor a = random_tensor({256, 256}, DType::Float32, 6), b = random_tensor({256, 256}, DType::Float32, 7);
  set_cuda_tf32(true);
  EXPECT_TRUE(cuda_tf32());
  const std::string loose = compare(matmul(a.cuda(), b.cuda()), matmul(a, b), 1e-2, "tf32");
  set_cuda_tf32(false);
  EXPECT_FALSE(cuda_tf32());
  EXPECT_TRUE(loose.empty()) << loose;
  const std::string exact = compare(matmul(a.cuda(), b.cuda()), matmul(a, b), 1e-5, "float32");
  EXPECT_TRUE(exact.empty()) << exact;
}

TEST(CudaGemmTeaching, EveryKernelComputesTheSameProductAsTheCpu) {
  SKIP_WITHOUT_GPU();
  const std::vector<std::array<int64_t, 3>> sizes = {{1, 1, 1}, {33, 65, 17}, {128, 128, 128}, {130, 257, 70}};
  for (auto kind : {cuda::TeachingGemm::Naive, cuda::TeachingGemm::Tiled, cuda::TeachingGemm::RegisterBlocked}) {
    for (const auto& [M, N, K] : sizes) {
      SCOPED_TRACE(std::string(cuda::teaching_gemm_name(kind)) + " " + std::to_string(M) + "x" + std::to_string(N) +
                   "x" + std::to_string(K));
      Tensor a = random_tensor({M, K}, DType::Float32, 8), b = random_tensor({K, N}, DType::Float32, 9);
      Tensor ga = a.cuda(), gb = b.cuda();
      Tensor c = Tensor::full({M, N}, 123.0, DType::Float32, Device::CUDA);  // every element must be written
      cuda::teaching_gemm(kind, M, N, K, ga.device_data<float>(), gb.device_data<float>(), c.device_data<float>());
      const std::string message = compare(c, matmul(a, b), 1e-5, cuda::teaching_gemm_name(kind));
      EXPECT_TRUE(message.empty()) << message;
    }
  }
}

}  // namespace test_cuda_matmul
