#pragma once
// Seeded random numbers. Every random thing in the engine (initialisation, dropout, shuffling,
// augmentation, sampling) draws from a Generator: the same seed gives the same numbers on every
// machine. The numbers come from xoshiro256** (a small, fast, well-tested generator) and are turned
// into uniform and normal values here rather than with <random>'s distributions, whose results
// differ between standard libraries.
#include <array>
#include <cstdint>

namespace ember {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);

  uint64_t next_u64();
  double uniform();                  // [0, 1)
  double uniform(double lo, double hi);
  double normal();                   // N(0, 1), Box-Muller
  int64_t randint(int64_t lo, int64_t hi);  // [lo, hi)

  // The whole state (4 xoshiro words, has-spare flag, spare normal), for checkpoints: restoring it continues the exact same sequence.
  std::array<uint64_t, 6> state() const;
  // Refuses a state whose four xoshiro words are all zero: from there it would give zeros forever
  // (no seed leads to it, so it can only come from a damaged checkpoint).
  void set_state(const std::array<uint64_t, 6>& s);

 private:
  std::array<uint64_t, 4> s_{};
  double spare_normal_ = 0.0;  // Box-Muller makes two normals at a time
  bool has_spare_ = false;
};

// The global generator used when an op is not given one (like torch.manual_seed).
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace ember
