// A tiny program for the gdb test (tests/CMakeLists.txt, "GdbPrintsTensors"): gdb stops in
// look_here() and prints its arguments with scripts/gdb/ember.py. Built without optimisation so
// that every variable is there to print.
#include "core/ops.h"
#include "core/tensor.h"

using namespace ember;

// noinline: gdb needs a real function to stop in
[[gnu::noinline]] double look_here(const Tensor& a, const Tensor& b, const Tensor& none) {
  return a.sum().item() + b.sum().item() + (none.defined() ? 1 : 0);
}

int main() {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  a.requires_grad_();
  Tensor b = Tensor::from_vector(std::vector<double>{0.5, -2}, {2}) * 3.0;  // no grad: no grad_fn
  Tensor c = a * 2.0;                                                         // recorded for backward
  return look_here(c, b, Tensor()) > 0 ? 0 : 1;
}
