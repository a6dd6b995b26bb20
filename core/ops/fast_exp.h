#pragma once
// fast_exp(x): e^x for float32, written so that the compiler can vectorise a loop of it.
//
// Why: std::exp is a library call, so a loop of it handles one element at a time; softmax and
// cross-entropy spend most of their time there. This version is plain arithmetic that the
// compiler turns into 8- or 16-wide vector instructions (about 2x faster softmax rows on one
// thread, measured with bench/bench_softmax.cpp). Accuracy: within 3e-7 of e^x relative
// (a few float roundings), which float32 training cannot tell apart from std::exp.
//
// How (the textbook method):
//   1. x = k ln2 + r with k = round(x / ln2) an integer and |r| <= ln2 / 2
//   2. e^x = 2^k e^r
//   3. e^r by its Taylor series to r^6: 1 + r + r^2/2 + ... + r^6/720 (the next term is < 2e-7)
//   4. 2^k by writing k + 127 into the exponent bits of a float
// Special values: below -87 (where 2^k would leave the normal floats) the result is 0, so
// exp(-inf) = 0 as masked softmax needs; above 88 it is inf; NaN stays NaN.
//
// float64 is for gradient checks, where accuracy matters more than speed: there it is std::exp.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ember {

inline float fast_exp(float x) {
  constexpr float log2e = 1.44269504088896341f;  // 1 / ln 2
  // ln 2 split in two: k * ln2_hi is exact in float (ln2_hi has few mantissa bits), so r loses
  // nothing when k is large
  constexpr float ln2_hi = 0.693145751953125f, ln2_lo = 1.428606765330187045e-06f;
  // Adding 1.5 * 2^23 to a float of magnitude < 2^22 rounds it to an integer (the fraction bits
  // fall off the end of the mantissa), and leaves that integer in the low mantissa bits.
  constexpr float round_magic = 12582912.0f;

  float xc = x >= -87.0f ? x : -87.0f;  // NaN goes to -87 here and is restored at the end
  xc = xc <= 88.0f ? xc : 88.0f;
  const float k_magic = xc * log2e + round_magic;
  const float k = k_magic - round_magic;  // round(xc / ln2), in [-126, 127]
  const float r = xc - k * ln2_hi - k * ln2_lo;
  float p = 1.0f / 720;  // Horner's scheme for the Taylor polynomial
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t k_int = std::bit_cast<int32_t>(k_magic) - std::bit_cast<int32_t>(round_magic);
  const float two_to_k = std::bit_cast<float>((k_int + 127) << 23);
  float e = p * two_to_k;
  e = x < -87.0f ? 0.0f : e;
  e = x > 88.0f ? std::numeric_limits<float>::infinity() : e;
  return x == x ? e : x;  // x != x only for NaN
}

inline double fast_exp(double x) { return std::exp(x); }

}  // namespace ember
