#include "core/random.h"

#include <cmath>
#include <cstring>

#include "core/error.h"

namespace ember {

namespace {
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// splitmix64 spreads one seed over the four state words (the recommended way to seed xoshiro).
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

void Generator::manual_seed(uint64_t seed) {
  uint64_t x = seed;
  for (auto& w : s_) w = splitmix64(x);
  has_spare_ = false;
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() {
  // the top 53 bits make a double in [0, 1) with every value equally likely
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double Generator::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u1 = uniform();
  double u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;  // log(0) guard
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * M_PI * u2;
  spare_normal_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

int64_t Generator::randint(int64_t lo, int64_t hi) {
  check(hi > lo, "randint: empty range [", lo, ", ", hi, ")");
  uint64_t range = static_cast<uint64_t>(hi - lo);
  // rejection sampling removes the bias of a plain modulo
  uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return lo + static_cast<int64_t>(x % range);
}

std::array<uint64_t, 6> Generator::state() const {
  uint64_t spare_bits;
  std::memcpy(&spare_bits, &spare_normal_, 8);
  return {s_[0], s_[1], s_[2], s_[3], has_spare_ ? 1u : 0u, spare_bits};
}

void Generator::set_state(const std::array<uint64_t, 6>& st) {
  check(st[0] != 0 || st[1] != 0 || st[2] != 0 || st[3] != 0,
        "Generator::set_state: the four state words are all zero, a state xoshiro256** never leaves (it would "
        "draw zeros forever); a state comes from Generator::state()");
  for (int i = 0; i < 4; ++i) s_[i] = st[i];
  has_spare_ = st[4] != 0;
  std::memcpy(&spare_normal_, &st[5], 8);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace ember
