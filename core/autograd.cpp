#include "core/autograd.h"

#include <unordered_set>

#include "core/ops.h"

namespace ember {

namespace {
thread_local bool grad_mode_enabled = true;
}

bool GradMode::is_enabled() { return grad_mode_enabled; }
void GradMode::set_enabled(bool on) { grad_mode_enabled = on; }

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(Tensor& output, const char* name, std::vector<Tensor> inputs, BackwardFn backward) {
  if (trace_level() != 0) [[unlikely]] OpScope::note_output(output);  // the traced op's result shape
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
}

namespace {

// Adds g into t's .grad (creating it on first use). Gradients of broadcast inputs are already
// reduced to the input's shape by the op's backward; a mismatch here is a bug in that op.
void accumulate_grad(TensorImpl* t, Tensor g, const Node& from, size_t input_index) {
  check(g.shape() == t->shape, "autograd: backward of '", from.name, "' returned a gradient of shape ",
        shape_str(g.shape()), " for input ", input_index, " of shape ", shape_str(t->shape));
  check(g.dtype() == t->dtype, "autograd: backward of '", from.name, "' returned a ", dtype_name(g.dtype()),
        " gradient for ", dtype_name(t->dtype), " input ", input_index);
  check(g.device() == t->storage->device(), "autograd: backward of '", from.name, "' returned a gradient on ",
        device_name(g.device()), " for input ", input_index, " on ", device_name(t->storage->device()));
  if (t->grad) {
    Tensor acc(t->grad);
    add_(acc, g);
  } else if (g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1) {
    // Nobody else holds this gradient or its memory: take it as it is, no copy.
    t->grad = g.impl_ptr();
  } else {
    // It is shared (an op may return the same tensor for two inputs, or pass its own incoming
    // gradient through): own a copy, since .grad is added into in place later.
    t->grad = g.clone().impl_ptr();
  }
}

// Orders the tensors of the graph so that every tensor comes after all tensors computed from it
// (reverse topological order starting at the root). Iterative DFS: deep graphs do not overflow
// the stack.
// Shared pointers, not raw ones: freeing a node while we walk must not free a tensor still to come.
std::vector<std::shared_ptr<TensorImpl>> topo_order(const std::shared_ptr<TensorImpl>& root) {
  std::vector<std::shared_ptr<TensorImpl>> post_order;
  std::unordered_set<TensorImpl*> visited;
  // (tensor, index of the next input to visit)
  std::vector<std::pair<std::shared_ptr<TensorImpl>, size_t>> stack{{root, 0}};
  visited.insert(root.get());
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    check(!t->graph_freed, "backward: part of this graph was already freed by an earlier backward() "
          "(graphs are freed as backward runs); compute the result again from the inputs");
    Node* node = t->grad_fn.get();
    if (node && next < node->inputs.size()) {
      const std::shared_ptr<TensorImpl>& in = node->inputs[next++].impl_ptr();
      if (in && in->requires_grad && visited.insert(in.get()).second) stack.push_back({in, 0});
    } else {
      post_order.push_back(t);
      stack.pop_back();
    }
  }
  // post_order has inputs before outputs; backward wants outputs first.
  return {post_order.rbegin(), post_order.rend()};
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_output) {
  check(root.defined(), "backward: tensor is undefined");
  check(root.requires_grad(), "backward: tensor does not require grad (no parameter or input with "
        "requires_grad_() reached it, or it was computed under NoGradGuard)");
  Tensor seed;
  if (grad_output.defined()) {
    check(grad_output.shape() == root.shape(), "backward: gradient has shape ", shape_str(grad_output.shape()),
          " but the tensor has shape ", shape_str(root.shape()));
    check(grad_output.device() == root.device(), "backward: gradient is on ", device_name(grad_output.device()),
          " but the tensor is on ", device_name(root.device()));
    seed = grad_output.to(root.dtype());
  } else {
    check(root.numel() == 1, "backward: called on a tensor of shape ", shape_str(root.shape()),
          " without a gradient; only a one-element tensor (a loss) can start backward alone. "
          "Pass the gradient, or reduce first (e.g. loss.sum())");
    seed = Tensor::ones(root.shape(), root.dtype(), root.device());
  }

  NoGradGuard no_grad;  // backward functions use ordinary ops; record nothing
  BackwardTraceScope no_op_trace;  // nor trace them as ops (EMBER_TRACE=2 shows each backward function)
  std::vector<std::shared_ptr<TensorImpl>> order = topo_order(root.impl_ptr());
  // The root's gradient: accumulate (a leaf root may already have one).
  if (root.impl()->grad && !root.impl()->grad_fn) {
    Tensor acc(root.impl()->grad);
    add_(acc, seed);
  } else {
    // a fresh seed (ones, or a converted copy) is ours; the caller's own tensor is copied
    root.impl()->grad = seed.impl() == grad_output.impl() ? seed.clone().impl_ptr() : seed.impl_ptr();
  }

  for (const std::shared_ptr<TensorImpl>& t : order) {
    std::shared_ptr<Node> node = t->grad_fn;
    if (!node) continue;  // a leaf: its .grad is the result
    if (!t->grad) continue;  // no gradient flowed here (e.g. only used by integer outputs)
    Tensor g(t->grad);
    std::vector<Tensor> input_grads;
    if (trace_level() >= 2) [[unlikely]] {
      BackwardFnTrace trace(node->name, g);
      input_grads = node->backward(g);
      trace.done(input_grads);
    } else {
      input_grads = node->backward(g);
    }
    check(input_grads.size() == node->inputs.size(), "autograd: backward of '", node->name, "' returned ",
          input_grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < input_grads.size(); ++i) {
      TensorImpl* in = node->inputs[i].impl();
      if (!in || !in->requires_grad || !input_grads[i].defined()) continue;
      accumulate_grad(in, std::move(input_grads[i]), *node, i);
    }
    // Free the graph as we go: this tensor's history is no longer needed, nor its gradient
    // (unless asked for with retain_grad()).
    t->grad_fn.reset();
    t->graph_freed = true;
    if (!t->retain_grad) t->grad.reset();
  }
}

}  // namespace ember
