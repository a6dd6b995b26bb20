// The CUDA backend's table (core/cuda_backend.h): found once, the first time core/ asks, after
// checking that a GPU can be used. Each entry is a host function of one cuda/ file (cuda/kernels.h).
#include <cstdio>
#include <string>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

// Is there a GPU we can use? Empty when yes; otherwise why not, in words.
std::string device_problem() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string("no CUDA device is available: the CUDA runtime says ") + cudaGetErrorName(err) + " (" +
           cudaGetErrorString(err) +
           "). Is there an NVIDIA GPU with its driver loaded (does nvidia-smi list it)? Tensors stay on the CPU "
           "without one";
  }
  if (count == 0)
    return "no CUDA device is available: the driver is loaded but sees no GPU (nvidia-smi lists none; "
           "CUDA_VISIBLE_DEVICES may hide them)";
  err = cudaSetDevice(0);
  if (err == cudaSuccess) err = cudaFree(nullptr);  // creates the context now, so a failure shows here
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string("no CUDA device is usable: cannot start CUDA on GPU 0: ") + cudaGetErrorName(err) + " (" +
           cudaGetErrorString(err) + ")";
  }
  return "";
}

// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)"
std::string device_name() {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  char memory[32];
  snprintf(memory, sizeof memory, "%.1f GiB", prop.totalGlobalMem / 1073741824.0);
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " + memory +
         ")";
}

const CudaKernels table = {
    .allocate = allocate,
    .release = release,
    .release_cached = release_cached,
    .memory_stats = memory_stats,
    .memory_info = memory_info,
    .copy = copy,
    .synchronize = synchronize,
    .device_name = device_name,
    .fill = fill,
    .cast = cast,
    .binary = binary,
    .axpy = axpy,
    .unary = unary,
    .unary_backward = activation_backward,
    .pointwise = pointwise,
    .pointwise_backward = pointwise_backward,
    .leaky_relu = leaky_relu,
    .leaky_relu_backward = leaky_relu_backward,
    .sum_dim = sum_dim,
    .sum_all = sum_all,
    .softmax = softmax,
    .softmax_backward = softmax_backward,
    .cross_entropy = cross_entropy,
    .cross_entropy_backward = cross_entropy_backward,
    .gemm = gemm,
    .set_tf32 = set_tf32,
    .tf32 = tf32,
    .conv2d_forward = conv2d_forward,
    .conv2d_backward = conv2d_backward,
    .copy_rows = copy_rows,
    .permute = permute,
    .index_add_rows = index_add_rows,
    .max_dim = max_dim,
    .max_dim_backward = max_dim_backward,
    .max_pool2d = max_pool2d,
    .max_pool2d_backward = max_pool2d_backward,
    .avg_pool2d = avg_pool2d,
    .avg_pool2d_backward = avg_pool2d_backward,
    .global_avg_pool2d = global_avg_pool2d,
    .global_avg_pool2d_backward = global_avg_pool2d_backward,
    .embedding = embedding,
    .embedding_backward = embedding_backward,
    .dropout = dropout,
    .masked_fill = masked_fill,
    .layer_norm = layer_norm,
    .layer_norm_backward = layer_norm_backward,
    .batch_norm = batch_norm,
    .batch_norm_backward = batch_norm_backward,
    .attention_softmax = attention_softmax,
    .attention_dropout = attention_dropout,
    .adam_step = adam_step,
    .sgd_step = sgd_step,
    .sum_of_squares = sum_of_squares,
    .scale = scale,
};

}  // namespace

// Called once by core/cuda_backend.cpp.
const CudaKernels* kernels_or_null(std::string* reason) {
  *reason = device_problem();
  return reason->empty() ? &table : nullptr;
}

}  // namespace ember::cuda
