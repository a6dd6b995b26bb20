// The smallest lesson: a two-layer network learns to separate two interleaved spirals.
// It shows the whole training loop in one screen: forward, loss, backward, update.
//
//   ./run.sh demo            (or build/bin/demo)
//
// x: [N, 2] points, y: [N] labels 0/1  ->  hidden [N, 64] (tanh)  ->  logits [N, 2]
#include <cmath>
#include <cstdio>

#include "core/ops.h"
#include "core/random.h"
#include "optim/adam.h"

using namespace ember;

int main() {
  Generator gen(0);
  // Two spirals, 200 points each.
  const int64_t per_class = 200, n = 2 * per_class;
  std::vector<float> points;
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t i = 0; i < per_class; ++i) {
      double r = 0.1 + 0.9 * i / per_class;
      double t = 3.0 * r * M_PI + c * M_PI + 0.15 * gen.normal();
      points.push_back(static_cast<float>(r * std::cos(t)));
      points.push_back(static_cast<float>(r * std::sin(t)));
      labels.push_back(c);
    }
  }
  Tensor x = Tensor::from_vector(points, {n, 2});
  Tensor y = Tensor::from_vector(labels, {n});

  // Parameters, initialised U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch's Linear does.
  const int64_t hidden = 64;
  Tensor w1 = Tensor::uniform({hidden, 2}, -0.7, 0.7, &gen).requires_grad_();
  Tensor b1 = Tensor::zeros({hidden}).requires_grad_();
  Tensor w2 = Tensor::uniform({2, hidden}, -0.125, 0.125, &gen).requires_grad_();
  Tensor b2 = Tensor::zeros({2}).requires_grad_();
  std::vector<Tensor> params = {w1, b1, w2, b2};

  AdamW optimizer(params, {.lr = 0.02, .weight_decay = 0.0});
  for (int step = 0; step <= 2000; ++step) {
    Tensor h = tanh(linear(x, w1, b1));       // [N, 64]
    Tensor logits = linear(h, w2, b2);        // [N, 2]
    Tensor loss = cross_entropy(logits, y);   // scalar
    optimizer.zero_grad();  // gradients add up until cleared
    loss.backward();        // d loss / d parameter, into each p.grad()
    optimizer.step();       // move every parameter a little downhill
    if (step % 200 == 0) {
      Tensor correct = argmax(logits, 1);
      int64_t right = 0;
      for (int64_t i = 0; i < n; ++i) right += correct.data<int64_t>()[i] == labels[i];
      std::printf("step %4d  loss %.4f  accuracy %.3f\n", step, loss.item(), static_cast<double>(right) / n);
    }
  }
  return 0;
}
