#pragma once
// Choosing the tick marks of a chart axis: round values (1, 2 or 5 times a power of ten apart)
// that a reader can interpolate between, with labels that show just enough digits.
#include <string>
#include <vector>

namespace ember {

struct Tick {
  double value;
  std::string label;
};

// Ticks inside [low, high], roughly `target` of them (never fewer than 2 for a non-empty range),
// evenly spaced by a step of 1, 2 or 5 times a power of ten: e.g. 0, 0.5, 1, 1.5, 2.
// whole_numbers: the data are counts (epochs), so a step below 1 is raised to 1 (a range that
// holds a single whole number then has a single tick).
std::vector<Tick> linear_ticks(double low, double high, int target, bool whole_numbers = false);

// Ticks for a logarithmic axis over [low, high] (both > 0): powers of ten when the range covers
// a few of them (0.01, 0.1, 1), otherwise 1-2-5 or 1..9 times powers of ten, and for very narrow
// ranges the linear ticks.
std::vector<Tick> log_ticks(double low, double high, int target);

// The step of linear_ticks: a round number near (high - low) / target.
double nice_step(double range, int target);

// A tick label with as many decimals as the step needs: (0.5, step 0.25) -> "0.50",
// (1500, step 500) -> "1500". Very large or small values use exponent form ("1e+06").
std::string tick_label(double value, double step);

}  // namespace ember
