// A program outside ember's tree: fits y = 3 x0 - 2 x1 + 1 with one Linear layer and SGD, then
// checks a small op's gradient. Prints the fitted weights and the gradient check's line.
#include <cstdio>
#include <iostream>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"
#include "layers/linear.h"
#include "optim/sgd.h"

using namespace ember;

int main() {
  Generator gen(7);
  Tensor x = Tensor::randn({64, 2}, &gen);
  Tensor w_true = Tensor::from_vector(std::vector<float>{3.0f, -2.0f}, {2, 1});
  Tensor y = matmul(x, w_true) + 1.0;

  Linear model(2, 1, /*bias=*/true, &gen);
  SGD opt(model.parameters(), {.lr = 0.1});
  double loss_value = 0;
  for (int step = 0; step < 200; ++step) {
    opt.zero_grad();
    Tensor loss = mse_loss(model(x), y);
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  std::printf("loss %.6f weight %.4f %.4f bias %.4f\n", loss_value, model.weight.at({0, 0}),
              model.weight.at({0, 1}), model.bias.at({0}));

  GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]) * in[1]; },
                                {Tensor::randn({3, 4}, &gen), Tensor::randn({4}, &gen)});
  std::cout << r.message << "\n";
  return r.ok ? 0 : 1;
}
