// Cross-entropy fused with log-softmax on the GPU: the kernels of core/ops/cross_entropy.cpp.
//
// logits [N, K, inner] (inner = 1 for [N, K]), target [N, inner]; position p = (n, j) has its K
// scores `inner` apart, starting at (n * K) * inner + j. At each position with label t:
//   lse_p = m + log sum_k exp(x_pk - m),  m = max_k x_pk        l_p = lse_p - x_pt
//   backward: dx_pk = (exp(x_pk - lse_p) - [k == t]) * s,  s = g_p (None) or g * factor (Sum, Mean)
// One warp per position, as in cuda/softmax.cu. Ignored positions (target == ignore_index) get
// loss 0 and gradient 0.
//
// The targets are checked here, where they are: the kernel counts the positions that count and
// keeps the first position whose target is out of range (atomicMin), which the CPU reads back
// (two numbers) to raise the same error as the CPU op.
#include <climits>

#include "cuda/common.cuh"
#include "cuda/kernels.h"

namespace ember::cuda {

namespace {

constexpr int kPositionsPerBlock = kThreads / kWarp;

struct Found {
  unsigned long long counted;
  unsigned long long first_bad;  // ULLONG_MAX: none
};

template <typename T>
__global__ void cross_entropy_kernel(const T* x, const int64_t* target, T* loss, T* lse, int64_t positions, int64_t K,
                                     int64_t inner, int64_t ignore_index, Found* found) {
  const int64_t p = int64_t(blockIdx.x) * kPositionsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (p >= positions) return;
  const int64_t t = target[p];
  if (t == ignore_index || t < 0 || t >= K) {
    if (lane == 0) {
      loss[p] = T(0);
      lse[p] = T(0);
      if (t != ignore_index) atomicMin(&found->first_bad, static_cast<unsigned long long>(p));
    }
    return;
  }
  const T* xp = x + (p / inner) * K * inner + p % inner;
  T m = -INFINITY;
  for (int64_t k = lane; k < K; k += kWarp) m = xp[k * inner] > m ? xp[k * inner] : m;
  m = warp_max(m);
  double sum = 0;
  for (int64_t k = lane; k < K; k += kWarp) sum += exp(xp[k * inner] - m);
  sum = warp_sum(sum);
  if (lane == 0) {
    const double lse_p = m + ::log(sum);
    lse[p] = static_cast<T>(lse_p);
    loss[p] = static_cast<T>(lse_p - xp[t * inner]);
    atomicAdd(&found->counted, 1ull);
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* x, const int64_t* target, const T* lse, const T* g,
                                              bool per_position, T factor, T* dx, int64_t positions, int64_t K,
                                              int64_t inner, int64_t ignore_index) {
  const int64_t p = int64_t(blockIdx.x) * kPositionsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (p >= positions) return;
  const int64_t start = (p / inner) * K * inner + p % inner;
  const int64_t t = target[p];
  if (t == ignore_index) {
    for (int64_t k = lane; k < K; k += kWarp) dx[start + k * inner] = T(0);
    return;
  }
  const T s = per_position ? g[p] : g[0] * factor;
  const T l = lse[p];
  for (int64_t k = lane; k < K; k += kWarp) {
    const T softmax_k = exp(x[start + k * inner] - l);
    dx[start + k * inner] = softmax_k * s - (k == t ? s : T(0));
  }
}

unsigned blocks_for_positions(int64_t positions) {
  return static_cast<unsigned>((positions + kPositionsPerBlock - 1) / kPositionsPerBlock);
}

}  // namespace

CrossEntropyCheck cross_entropy(DType dtype, const void* logits, const int64_t* target, void* loss, void* lse,
                                int64_t N, int64_t K, int64_t inner, int64_t ignore_index) {
  const int64_t positions = N * inner;
  Workspace scratch(sizeof(Found));
  Found* found = static_cast<Found*>(scratch.data);
  const Found start{0, ULLONG_MAX};
  copy(found, &start, sizeof start, CopyKind::HostToDevice);
  dispatch_float(dtype, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_kernel<<<blocks_for_positions(positions), kThreads>>>(
        static_cast<const T*>(logits), target, static_cast<T*>(loss), static_cast<T*>(lse), positions, K, inner,
        ignore_index, found);
  });
  CUDA_CHECK_LAUNCH();
  Found result{};
  copy(&result, found, sizeof result, CopyKind::DeviceToHost);  // waits for the kernel
  CrossEntropyCheck check;
  check.counted = static_cast<int64_t>(result.counted);
  if (result.first_bad != ULLONG_MAX) {
    check.first_bad = static_cast<int64_t>(result.first_bad);
    copy(&check.first_bad_value, target + check.first_bad, sizeof(int64_t), CopyKind::DeviceToHost);
  }
  return check;
}

void cross_entropy_backward(DType dtype, const void* logits, const int64_t* target, const void* lse, const void* g,
                            bool per_position, double factor, void* dx, int64_t N, int64_t K, int64_t inner,
                            int64_t ignore_index) {
  const int64_t positions = N * inner;
  dispatch_float(dtype, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_backward_kernel<<<blocks_for_positions(positions), kThreads>>>(
        static_cast<const T*>(logits), target, static_cast<const T*>(lse), static_cast<const T*>(g), per_position,
        static_cast<T>(factor), static_cast<T*>(dx), positions, K, inner, ignore_index);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace ember::cuda
