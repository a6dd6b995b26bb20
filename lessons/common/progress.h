#pragma once
// Progress: the one-line status report of a long training loop.
//
//   Progress progress(steps_per_epoch, /*print_every=*/100);
//   progress.set_prefix("epoch 1/2");
//   for (...) {
//     ...
//     progress.step(batch_size, {{"loss", loss}, {"acc", accuracy}});
//   }
//
// prints every 100 steps (and at the last step):
//
//   epoch 1/2  step 300/1875  loss 0.4213  acc 0.871  2950 img/s  ETA 0:42
//
// The speed is measured over the steps since the previous line (so it shows the current speed,
// not an average that still remembers a slow first step). The ETA is the time left for the
// remaining steps of this Progress at the average speed so far. Time is read from a steady clock,
// which never jumps when the computer's wall clock is adjusted.
#include <chrono>
#include <concepts>
#include <cstdint>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace ember {

// "0:42", "12:05", "1:02:03" (hours:minutes:seconds once it is an hour or more), rounded to the
// nearest second. A negative or non-finite time (an unknown ETA) is "?:??".
std::string format_duration(double seconds);

// One "name value" pair of a progress line. Doubles keep 4 significant digits (0.4213),
// integers and text are written as they are.
struct ProgressField {
  ProgressField(std::string name, double value);
  ProgressField(std::string name, std::string value);
  ProgressField(std::string name, const char* value);
  template <std::integral T>
  ProgressField(std::string field_name, T value)
      : name(std::move(field_name)), text(std::to_string(value)) {}

  std::string name;
  std::string text;
};

// The line itself, from values already measured (Progress calls this; tests call it directly):
// "<prefix>  step <step>/<total>  <fields>  <rate> <rate_unit>  ETA <eta>".
// An empty prefix is left out; a negative rate means "not measured yet" and is left out.
std::string format_progress_line(const std::string& prefix, int64_t step, int64_t total,
                                 const std::vector<ProgressField>& fields,
                                 double items_per_second, const std::string& rate_unit,
                                 double eta_seconds);

class Progress {
 public:
  // total_steps: how many times step() will be called; print_every: print a line every N steps.
  // rate_unit names what step()'s `items` count: "img/s", "tok/s", ...
  Progress(int64_t total_steps, int64_t print_every, std::string rate_unit = "img/s",
           std::ostream& out = std::cout);

  // Shown at the start of every line, e.g. "epoch 1/2".
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

  // Call once after each step with the number of items (images, tokens) that step processed.
  // Prints a line every print_every steps and at the last step; returns true when it printed.
  bool step(int64_t items, const std::vector<ProgressField>& fields = {});

  int64_t steps_done() const { return steps_done_; }
  int64_t total_steps() const { return total_steps_; }
  double elapsed_seconds() const;  // since construction

 private:
  using Clock = std::chrono::steady_clock;

  int64_t total_steps_;
  int64_t print_every_;
  std::string rate_unit_;
  std::ostream& out_;
  std::string prefix_;

  int64_t steps_done_ = 0;
  Clock::time_point start_;
  // Where the previous line was printed, for the recent speed.
  Clock::time_point last_print_time_;
  int64_t items_since_last_print_ = 0;
};

}  // namespace ember
