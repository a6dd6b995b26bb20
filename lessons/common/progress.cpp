#include "lessons/common/progress.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "lessons/common/number_format.h"

namespace ember {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?:??";
  int64_t total = static_cast<int64_t>(std::llround(seconds));
  int64_t hours = total / 3600;
  int64_t minutes = (total / 60) % 60;
  int64_t secs = total % 60;
  char buffer[64];
  if (hours > 0) {
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes), static_cast<long long>(secs));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld", static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  }
  return buffer;
}

ProgressField::ProgressField(std::string field_name, double value)
    : name(std::move(field_name)), text(format_significant(value, 4)) {}

ProgressField::ProgressField(std::string field_name, std::string value)
    : name(std::move(field_name)), text(std::move(value)) {}

ProgressField::ProgressField(std::string field_name, const char* value)
    : name(std::move(field_name)), text(value == nullptr ? "" : value) {}

namespace {

// Speeds of 100 and more as whole numbers ("2950"), slower ones with 3 significant digits ("12.5").
std::string format_rate(double items_per_second) {
  if (items_per_second >= 100) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.0f", items_per_second);
    return buffer;
  }
  return format_significant(items_per_second, 3);
}

}  // namespace

std::string format_progress_line(const std::string& prefix, int64_t step, int64_t total,
                                 const std::vector<ProgressField>& fields,
                                 double items_per_second, const std::string& rate_unit,
                                 double eta_seconds) {
  const std::string gap = "  ";  // two spaces between fields keep the line easy to scan
  std::string line;
  if (!prefix.empty()) line += prefix + gap;
  line += "step " + std::to_string(step) + "/" + std::to_string(total);
  for (const ProgressField& field : fields) line += gap + field.name + " " + field.text;
  if (items_per_second >= 0) line += gap + format_rate(items_per_second) + " " + rate_unit;
  line += gap + "ETA " + format_duration(eta_seconds);
  return line;
}

Progress::Progress(int64_t total_steps, int64_t print_every, std::string rate_unit,
                   std::ostream& out)
    : total_steps_(total_steps),
      print_every_(print_every),
      rate_unit_(std::move(rate_unit)),
      out_(out),
      start_(Clock::now()),
      last_print_time_(start_) {
  check(total_steps > 0, "Progress: total_steps must be positive, got ", total_steps);
  check(print_every > 0, "Progress: print_every must be positive, got ", print_every);
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

bool Progress::step(int64_t items, const std::vector<ProgressField>& fields) {
  ++steps_done_;
  items_since_last_print_ += items;
  bool last = steps_done_ == total_steps_;
  if (steps_done_ % print_every_ != 0 && !last) return false;

  Clock::time_point now = Clock::now();
  double since_last = std::chrono::duration<double>(now - last_print_time_).count();
  double since_start = std::chrono::duration<double>(now - start_).count();
  double rate = since_last > 0 ? items_since_last_print_ / since_last : -1.0;
  int64_t steps_left = total_steps_ > steps_done_ ? total_steps_ - steps_done_ : 0;
  double eta = since_start / steps_done_ * steps_left;

  out_ << format_progress_line(prefix_, steps_done_, total_steps_, fields, rate, rate_unit_, eta)
       << std::endl;  // endl flushes: the line shows up at once, even when piped to a log file

  last_print_time_ = now;
  items_since_last_print_ = 0;
  return true;
}

}  // namespace ember
