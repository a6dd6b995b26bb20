// Sequential: x -> layer 0 -> layer 1 -> ... The backward needs nothing here: each layer's ops
// recorded their own part of the graph.
#include "layers/sequential.h"

namespace ember {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> layers) {
  for (const auto& layer : layers) push_back(layer);
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
  check(i < size(), "Sequential: index ", i, " is out of range for ", size(), " layers");
  return named_children()[i].second;
}

void Sequential::set(size_t i, std::shared_ptr<Module> layer) {
  check(i < size(), "Sequential::set: index ", i, " is out of range for ", size(), " layers");
  replace_module(std::to_string(i), std::move(layer));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  for (const auto& entry : named_children()) out = (*entry.second)(out);
  return out;
}

}  // namespace ember
