#include "lessons/common/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace ember {

double nice_step(double range, int target) {
  check(range > 0 && std::isfinite(range), "nice_step: the range must be positive, got ", range);
  check(target >= 1, "nice_step: target must be at least 1, got ", target);
  double raw = range / target;
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  double fraction = raw / power;  // in [1, 10)
  // The nearest of 1, 2, 5, 10 (nearest on a log scale, roughly): about `target` steps.
  double nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * power;
}

std::string tick_label(double value, double step) {
  char buffer[64];
  if (std::fabs(value) < step * 1e-6) value = 0.0;  // no "-0.0" or "1.2e-17" for what is zero
  if (std::fabs(value) >= 1e6 || step < 1e-4) {
    std::snprintf(buffer, sizeof(buffer), "%.3g", value);
    return buffer;
  }
  // As many decimals as the step has: step 0.05 needs 2, step 2.5 needs 1, step 500 none.
  int decimals = 0;
  while (decimals < 10) {
    double scaled = step * std::pow(10.0, decimals);
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) break;
    ++decimals;
  }
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

std::vector<Tick> linear_ticks(double low, double high, int target, bool whole_numbers) {
  check(std::isfinite(low) && std::isfinite(high) && high > low, "linear_ticks: bad range [", low,
        ", ", high, "]");
  // Ticks are k * step for whole numbers k: computed from k (not by adding steps) so rounding
  // errors do not pile up. A tiny tolerance keeps ticks that sit exactly on an end.
  double step = 0, first = 0, last = 0;
  for (int wanted = std::max(1, target); wanted <= 64 * std::max(1, target); wanted *= 2) {
    step = nice_step(high - low, wanted);
    if (whole_numbers) step = std::max(step, 1.0);
    first = std::ceil(low / step - 1e-9);
    last = std::floor(high / step + 1e-9);
    if (last - first >= 1) break;  // at least 2 ticks; otherwise ask for a finer step
  }
  std::vector<Tick> ticks;
  for (double k = first; k <= last; ++k) ticks.push_back({k * step, tick_label(k * step, step)});
  return ticks;
}

std::vector<Tick> log_ticks(double low, double high, int target) {
  check(low > 0 && std::isfinite(high) && high > low, "log_ticks: bad range [", low, ", ", high,
        "] (a log axis needs positive values)");
  const int first_power = static_cast<int>(std::floor(std::log10(low)));
  const int last_power = static_cast<int>(std::ceil(std::log10(high)));

  // Try sparser patterns first: powers of ten, then 1-2-5, then every digit.
  const std::vector<std::vector<int>> patterns = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  for (const std::vector<int>& multiples : patterns) {
    std::vector<Tick> ticks;
    for (int power = first_power; power <= last_power; ++power) {
      for (int m : multiples) {
        double value = m * std::pow(10.0, power);
        if (value < low * (1 - 1e-9) || value > high * (1 + 1e-9)) continue;
        char buffer[32];
        std::snprintf(buffer, sizeof(buffer), "%g", value);
        ticks.push_back({value, buffer});
      }
    }
    if (ticks.size() < 3) continue;
    // Many decades: keep only the powers whose exponent is a multiple of 2 (or 3, ...) so the
    // labels do not crowd. (The denser patterns are only reached for ranges under about two
    // decades, where there are never too many.)
    int stride = (static_cast<int>(ticks.size()) + target - 1) / std::max(1, target);
    if (stride <= 1) return ticks;
    std::vector<Tick> thinned;
    for (const Tick& tick : ticks) {
      int power = static_cast<int>(std::lround(std::log10(tick.value)));
      if (((power % stride) + stride) % stride == 0) thinned.push_back(tick);
    }
    if (thinned.size() >= 2) return thinned;
    return {ticks.front(), ticks.back()};
  }
  // A range too narrow for any of the patterns: plain linear ticks (drawn on the log axis).
  return linear_ticks(low, high, target);
}

}  // namespace ember
