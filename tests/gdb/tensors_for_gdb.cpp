// A tiny program for the gdb tests (tests/CMakeLists.txt, "GdbPrintsTensors", "GdbPrintsModulesAndNodes"):
// gdb stops in look_here() and look_at_model() and prints their arguments with scripts/gdb/ember.py.
// Built without optimisation so that every variable is there to print.
#include <memory>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/tensor.h"
#include "layers/layers.h"

using namespace ember;

// noinline: gdb needs a real function to stop in
[[gnu::noinline]] double look_here(const Tensor& a, const Tensor& b, const Tensor& none) {
  return a.sum().item() + b.sum().item() + (none.defined() ? 1 : 0);
}

// model: a Sequential (Linear 3->2, ReLU, Linear 2->1 without bias); layer: its first Linear, seen
// as a Module&; node: what recorded y = relu(h) * w.
[[gnu::noinline]] int look_at_model(const Module& model, const Module& layer, const Node& node) {
  return static_cast<int>(model.parameters().size() + layer.parameters().size() + node.inputs.size());
}

int main() {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  a.requires_grad_();
  Tensor b = Tensor::from_vector(std::vector<double>{0.5, -2}, {2}) * 3.0;  // no grad: no grad_fn
  Tensor c = a * 2.0;                                                         // recorded for backward
  if (look_here(c, b, Tensor()) <= 0) return 1;

  auto model = std::make_shared<Sequential>(std::make_shared<Linear>(3, 2), std::make_shared<ReLU>(),
                                            std::make_shared<Linear>(2, 1, /*bias=*/false));
  Tensor w = Tensor::from_vector(std::vector<float>{1, -1}, {2}).requires_grad_();
  Tensor h = Tensor::from_vector(std::vector<float>{0.5f, -0.5f}, {2}).requires_grad_();
  Tensor y = relu(h) * w;
  return look_at_model(*model, *model->children()[0], *y.grad_fn()) == 7 ? 0 : 1;
}
