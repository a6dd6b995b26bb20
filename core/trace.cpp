#include "core/trace.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>

namespace ember {

namespace {

int level_from_environment() {
  const char* value = std::getenv("EMBER_TRACE");
  if (value == nullptr || *value == '\0') return 0;
  char* end = nullptr;
  long level = std::strtol(value, &end, 10);
  if (end == value) return 1;  // EMBER_TRACE=yes: switched on
  return level <= 0 ? 0 : (level >= 2 ? 2 : static_cast<int>(level));
}

std::ostream* trace_out = nullptr;  // nullptr: std::cerr
std::mutex trace_out_mutex;         // one line at a time, when ops run on several threads

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The op being traced on this thread (only the outermost one: ops it calls are part of it).
struct OpInProgress {
  bool open = false;
  const char* name = nullptr;
  std::string inputs;  // " [64,1,28,28] [32,1,3,3]"
  std::string output;  // "[64,32,28,28]", from record() or set_output
  int64_t start_ns = 0;
  int uncaught = 0;  // exceptions in flight when it started: more at the end means it threw
};

thread_local OpInProgress current_op;
thread_local bool in_backward = false;

std::string format_us(int64_t ns) {
  char text[32];
  const double us = static_cast<double>(ns) / 1000.0;
  std::snprintf(text, sizeof text, us < 100.0 ? "%.1f us" : "%.0f us", us);
  return text;
}

void write_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(trace_out_mutex);
  std::ostream& out = trace_out ? *trace_out : std::cerr;
  out << line << '\n';
  out.flush();
}

std::string padded(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

}  // namespace

namespace trace_detail {
std::atomic<int> level{level_from_environment()};
}  // namespace trace_detail

std::string trace_shape(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string trace_shape(const Tensor& t) { return t.defined() ? trace_shape(t.shape()) : "-"; }

TraceGuard::TraceGuard(int level, std::ostream* out) : prev_level_(trace_level()), prev_out_(trace_out) {
  if (out) {
    std::lock_guard<std::mutex> lock(trace_out_mutex);
    trace_out = out;
  }
  trace_detail::level.store(level < 0 ? 0 : (level > 2 ? 2 : level), std::memory_order_relaxed);
}

TraceGuard::~TraceGuard() {
  trace_detail::level.store(prev_level_, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(trace_out_mutex);
  trace_out = prev_out_;
}

bool OpScope::begin(const char* name) {
  if (in_backward || current_op.open) return false;
  current_op.open = true;
  current_op.name = name;
  current_op.inputs.clear();
  current_op.output.clear();
  current_op.uncaught = std::uncaught_exceptions();
  current_op.start_ns = now_ns();
  return true;
}

void OpScope::add_input(const Tensor& t) {
  current_op.inputs += ' ';
  current_op.inputs += trace_shape(t);
}

void OpScope::add_input(const std::vector<Tensor>& ts) {
  current_op.inputs += " {";
  for (size_t i = 0; i < ts.size(); ++i) {
    if (i) current_op.inputs += ' ';
    current_op.inputs += trace_shape(ts[i]);
  }
  current_op.inputs += "}";
}

void OpScope::note_output(const Tensor& out) {
  if (current_op.open) current_op.output = trace_shape(out);
}

void OpScope::end() {
  const int64_t elapsed = now_ns() - current_op.start_ns;
  current_op.open = false;
  std::string result = std::uncaught_exceptions() > current_op.uncaught ? "(threw)" : current_op.output;
  write_line("[trace] " + padded(current_op.name, 13) + " in" + current_op.inputs + " -> " + result + "  " +
             format_us(elapsed));
}

BackwardTraceScope::BackwardTraceScope() : prev_(in_backward) { in_backward = true; }
BackwardTraceScope::~BackwardTraceScope() { in_backward = prev_; }

BackwardFnTrace::BackwardFnTrace(const std::string& name, const Tensor& grad_output)
    : name_(name), grad_shape_(grad_output.shape()), start_ns_(now_ns()) {}

void BackwardFnTrace::done(const std::vector<Tensor>& input_grads) {
  const int64_t elapsed = now_ns() - start_ns_;
  std::string grads;
  for (const Tensor& g : input_grads) {
    grads += ' ';
    grads += trace_shape(g);
  }
  write_line("[trace] backward " + padded(name_, 13) + " grad " + trace_shape(grad_shape_) +
             " ->" + grads + "  " + format_us(elapsed));
}

}  // namespace ember
