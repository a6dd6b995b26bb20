#pragma once
// DropoutMask: which elements dropout keeps, as a pure function of (seed, element index).
//
// Element `index` is kept when the index-th number of a splitmix64 stream started at `seed`, read
// as a uniform u in [0, 1), is >= p. No state is carried from element to element, so
// - any thread can compute any part of the mask, in any order: the mask is the same for every
//   thread count, and the loop that applies it has no dependency from one element to the next;
// - backward recomputes exactly the forward's mask from the seed: the mask is never stored.
// Used by dropout (core/ops/dropout.cpp) and by attention's dropout on the probabilities
// (core/ops/attention.cpp). The seed is one number drawn from the caller's Generator.
#include <cmath>
#include <cstdint>

// keep() is also compiled for the GPU (cuda/dropout.cu, nvcc defines __CUDACC__): one function, so
// one seed gives the same mask on both devices.
#ifdef __CUDACC__
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif

namespace ember {

struct DropoutMask {
  uint64_t seed = 0;
  uint64_t threshold = 0;  // keep when the top 53 bits of the hash >= p * 2^53 (i.e. u >= p)

  DropoutMask(uint64_t seed_, double p)
      : seed(seed_), threshold(static_cast<uint64_t>(std::ceil(std::ldexp(p, 53)))) {}

  EMBER_HOST_DEVICE bool keep(uint64_t index) const {
    // splitmix64: the state after index+1 steps, then its output mix
    uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (z >> 11) >= threshold;
  }
};

}  // namespace ember
