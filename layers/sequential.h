#pragma once
// Sequential: layers run one after another, each on the previous one's output. Its children are
// named "0", "1", ... so parameters are "0.weight", "3.bias", as in PyTorch.
//
//   auto model = std::make_shared<Sequential>(
//       std::make_shared<Flatten>(), std::make_shared<Linear>(784, 100), std::make_shared<ReLU>(),
//       std::make_shared<Linear>(100, 10));
//   Tensor logits = (*model)(images);
//
//   // or on the stack, with braces:  Sequential model{std::make_shared<Linear>(784, 100), ...};
//   // or one layer at a time:        Sequential model; model.push_back(std::make_shared<ReLU>());
#include <initializer_list>

#include "layers/module.h"

namespace ember {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> layers);
  template <typename... M>
  explicit Sequential(std::shared_ptr<M>... layers) {
    (push_back(std::move(layers)), ...);
  }

  // Appends a layer under the next index; returns it with its own type, for keeping a handle:
  //   auto fc = seq.push_back(std::make_shared<Linear>(100, 10));
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> layer) {
    return register_module(std::to_string(size()), std::move(layer));
  }
  size_t size() const { return named_children().size(); }
  std::shared_ptr<Module> operator[](size_t i) const;
  // The i-th layer as its own type; throws if it is another type: seq.at<Linear>(3)->weight
  template <typename M>
  std::shared_ptr<M> at(size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    check(typed != nullptr, "Sequential::at: layer ", i, " is ", (*this)[i]->name(), ", not the type asked for");
    return typed;
  }
  // Puts another layer at index i (e.g. a new classifier on a pretrained network).
  void set(size_t i, std::shared_ptr<Module> layer);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace ember
