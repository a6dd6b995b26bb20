#pragma once
// Names for dump_graph's picture (core/graph_dump.h) from a model: each parameter and buffer
// under its dotted path in the model (features.0.weight, layer1.bn1.running_mean), with an
// optional prefix ("model.").
//
//   dump_graph(loss, "graph.dot", graph_names(*model));
#include <string>

#include "core/graph_dump.h"
#include "layers/module.h"

namespace ember {

TensorNames graph_names(const Module& model, const std::string& prefix = "");

}  // namespace ember
