#pragma once
// fast_erfc(x): the complementary error function erfc(x) = 1 - erf(x) for float32, written so
// that the compiler can vectorise a loop of it (like fast_exp, whose e^x it uses).
//
// Why: the exact GELU, y = x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2, is computed for every
// hidden unit of a transformer's MLP, forward and backward. std::erfc is a scalar library call:
// in the char-level GPT it took about 20% of a training step. This version is plain arithmetic.
// Accuracy (measured against std::erfc in double on a grid of step 1e-4): within 4e-7 absolute
// everywhere; relative, within 1.5e-6 for |x| <= 4 and 8e-6 up to |x| = 9.1, where erfc leaves the
// normal floats (the float rounding of -z^2 + P(t) grows with z). tests/test_ops_activations.cpp.
//
// How (a classic Chebyshev fit, e.g. in Numerical Recipes, section 6.2, "erfcc"): for z = |x|
// and t = 1 / (1 + z/2),
//     erfc(z) = t exp(-z^2 + P(t)),   P a polynomial of degree 9,
// with a relative error below 1.2e-7 for every z >= 0. For x < 0, erfc(x) = 2 - erfc(-x).
//
// float64 is for gradient checks, where accuracy matters more than speed: there it is std::erfc.
#include <cmath>

#include "core/ops/fast_exp.h"

namespace ember {

inline float fast_erfc(float x) {
  const float z = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.5f * z);
  // P(t), by Horner's scheme
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float r = t * fast_exp(p - z * z);  // erfc(|x|); fast_exp gives 0 once -z^2 < -87
  return x >= 0.0f ? r : 2.0f - r;          // NaN: t, r and so the result are NaN
}

inline double fast_erfc(double x) { return std::erfc(x); }

}  // namespace ember
