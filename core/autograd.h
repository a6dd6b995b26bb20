#pragma once
// Reverse-mode automatic differentiation, define-by-run (as micrograd and PyTorch).
//
// Every op that produces a tensor from inputs that require grad attaches a Node to its result:
// the inputs, and a small function that turns dLoss/dOutput into dLoss/dInput for each input.
// loss.backward() sorts the nodes so that each runs after every node that uses its output
// (reverse topological order), calls them one by one, adds the returned gradients into each
// input's .grad, and frees the graph.
//
// Backward functions run with gradient recording switched off (NoGradGuard), so they may use
// ordinary ops; there is no double backward.
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/trace.h"  // OpScope, which every op function starts with

namespace ember {

// Given dLoss/dOutput, returns dLoss/dInput for each input, in the order of Node::inputs. An entry
// may be left undefined (Tensor()) for an input that needs no gradient.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;             // the op's name ("matmul", "conv2d"), shown in error messages
  std::vector<Tensor> inputs;   // the tensors the op read
  BackwardFn backward;
};

// Whether ops record the graph. Thread-local, like PyTorch's.
struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool on);
};

// Inside its scope no graph is recorded (evaluation, optimizer steps, backward itself).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when grad mode is on and at least one input requires grad: the op must record a Node.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a Node to `output` when needs_grad(inputs). Ops call this right after computing the
// forward result:
//   record(out, "mul", {a, b}, [a, b](const Tensor& g) { return std::vector<Tensor>{g * b, g * a}; });
// Never capture `out` itself in the lambda (that makes a reference cycle, and the graph is never
// freed); capture out.detach() instead, which shares the data but not the history.
void record(Tensor& output, const char* name, std::vector<Tensor> inputs, BackwardFn backward);

// Runs backpropagation from `root` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& grad_output);

}  // namespace ember
