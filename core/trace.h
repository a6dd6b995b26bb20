#pragma once
// The op trace: a switch that prints every op as it runs, as tinygrad's DEBUG does.
//
//   EMBER_TRACE=1 build/bin/mnist ...     one line per op, on stderr:
//     [trace] conv2d        in [64,1,28,28] [32,1,3,3] [32] -> [64,32,28,28]  412 us
//   EMBER_TRACE=2                          also one line per backward function, as backward() runs it:
//     [trace] backward conv2d  grad [64,32,28,28] -> [64,1,28,28] [32,1,3,3] [32]  903 us
//
// In code: { TraceGuard trace(1); ... } (optionally with a std::ostream to write to instead).
//
// What is traced: each op your code calls (the public functions of core/ops.h), once, with the
// shapes of its arguments and of its result and its wall time in microseconds. An op built from
// other ops (mean is sum then mul; var, stack) is one line: the ops inside it are not repeated.
// Ops that a backward function runs are not shown either; level 2 shows the backward functions
// themselves.
//
// Where it happens: every op function starts with `OpScope op("name", inputs...)`, which notes the
// start time and the input shapes; record() (core/autograd.cpp), which every op calls with its
// result, hands the result's shape to the scope; the scope prints its line when the op returns.
//
// Cost when off: the trace level is one global read once from the environment. OpScope's
// constructor and record() test it with one predictable branch; no clock is read, no string built.
#include <atomic>
#include <cstdint>
#include <iosfwd>

#include "core/cuda_backend.h"  // require_cuda_kernel
#include "core/tensor.h"

namespace ember {

namespace trace_detail {
// 0: off, 1: ops, 2: ops and backward functions. Set from EMBER_TRACE when the program starts.
extern std::atomic<int> level;
}  // namespace trace_detail

inline int trace_level() { return trace_detail::level.load(std::memory_order_relaxed); }

// Switches the trace on (level 1 or 2) or off (0) for a scope, and optionally sends it to `out`
// instead of stderr; both are restored when the guard ends. The level is global (all threads);
// use one guard at a time.
class TraceGuard {
 public:
  explicit TraceGuard(int level = 1, std::ostream* out = nullptr);
  ~TraceGuard();
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;

 private:
  int prev_level_;
  std::ostream* prev_out_;
};

// Put at the top of an op function, with the op's name and its tensor arguments (a Tensor, or a
// std::vector<Tensor> for concat/stack):
//   Tensor relu(const Tensor& x) {
//     OpScope op("relu", x);
class OpScope {
 public:
  // It is also where an op without a CUDA kernel refuses a CUDA input, by name (core/cuda_backend.h):
  // one place for every op, before the op would read GPU memory as CPU memory.
  template <typename... Inputs>
  explicit OpScope(const char* name, const Inputs&... inputs) {
    if ((on_cuda(inputs) || ...)) [[unlikely]] require_cuda_kernel(name);
    if (trace_level() != 0) [[unlikely]] {
      active_ = begin(name);
      if (active_) (add_input(inputs), ...);
    }
  }
  ~OpScope() {
    if (active_) [[unlikely]] end();
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

  // The result, for an op that records no graph node (argmax): record() does this for the others.
  void set_output(const Tensor& out) {
    if (active_) [[unlikely]] note_output(out);
  }

  // Called by record() with each result it sees while a traced op runs.
  static void note_output(const Tensor& out);

 private:
  static bool on_cuda(const Tensor& t) { return t.defined() && t.impl()->storage->device() == Device::CUDA; }
  static bool on_cuda(const std::vector<Tensor>& ts) {
    for (const Tensor& t : ts)
      if (on_cuda(t)) return true;
    return false;
  }
  static bool begin(const char* name);  // false: not traced (nested in another op, or in backward)
  static void add_input(const Tensor& t);
  static void add_input(const std::vector<Tensor>& ts);
  static void end();

  bool active_ = false;
};

// Used by run_backward: while it runs, ops are not traced (their backward functions are, at level 2).
class BackwardTraceScope {
 public:
  BackwardTraceScope();
  ~BackwardTraceScope();
  BackwardTraceScope(const BackwardTraceScope&) = delete;
  BackwardTraceScope& operator=(const BackwardTraceScope&) = delete;

 private:
  bool prev_;
};

// Times one backward function and prints its line (level 2).
class BackwardFnTrace {
 public:
  BackwardFnTrace(const std::string& name, const Tensor& grad_output);
  void done(const std::vector<Tensor>& input_grads);

 private:
  std::string name_;
  Shape grad_shape_;
  int64_t start_ns_;
};

// The shape as the trace prints it: [64,1,28,28]; [] for a scalar; "-" for an undefined tensor.
std::string trace_shape(const Shape& shape);
std::string trace_shape(const Tensor& t);

}  // namespace ember
