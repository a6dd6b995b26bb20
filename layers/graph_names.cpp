#include "layers/graph_names.h"

namespace ember {

TensorNames graph_names(const Module& model, const std::string& prefix) {
  TensorNames names;
  // A tensor registered twice (shared weights) keeps its first name, as named_parameters() does.
  for (const auto& [name, t] : model.named_parameters())
    if (t.defined()) names.emplace(t.impl(), prefix + name);
  for (const auto& [name, t] : model.named_buffers())
    if (t.defined()) names.emplace(t.impl(), prefix + name);
  return names;
}

}  // namespace ember
