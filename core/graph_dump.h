#pragma once
// Seeing the graph: the autograd graph behind a tensor (the one backward() will walk), as a
// Graphviz DOT file and, where Graphviz is installed, as pictures.
//
//   Tensor loss = cross_entropy(model(x), y);
//   dump_graph(loss, "graph.dot", graph_names(*model));   // graph_names: layers/graph_names.h
//   loss.backward();                                      // after: backward() frees the graph
//
// writes graph.dot, and graph.png and graph.svg beside it when the `dot` program is on the PATH
// (Debian: apt-get install graphviz); without it, the returned message says how to render later:
//   dot -Tpng graph.dot -o graph.png
//
// In the picture data flows downwards: the inputs and parameters at the top, then one box per op
// (its name, output shape and dtype) with an arrow from each of its inputs, and the root (the
// loss, drawn with a double border) at the bottom. Leaves are
//   parameters  tensors that require grad (what backward() computes .grad for): orange boxes,
//               named by `names` (model.conv1.weight) or "parameter"
//   inputs      tensors that do not (images, labels, constants, running statistics): grey ellipses,
//               named by `names` or "input"
// Nodes are numbered n0 (the root), n1, n2, ... breadth first from the root, each op's inputs in
// their order, so the same computation gives the same file, run after run.
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember {

// Names for tensors in the picture, by the TensorImpl behind them (a Module's parameters: see
// graph_names in layers/graph_names.h; or your own: names[w.impl()] = "w").
using TensorNames = std::map<const TensorImpl*, std::string>;

// The graph behind `root` as DOT text. Throws when root has no graph (it does not require grad)
// or backward() has already freed it.
std::string graph_to_dot(const Tensor& root, const TensorNames& names = {});

struct GraphDump {
  std::string dot_path;             // the DOT file written
  std::vector<std::string> images;  // the pictures rendered beside it (.png, .svg); empty without dot
  std::string message;              // one line for the user: what was written, or how to render it
};

// Writes graph_to_dot(root, names) to dot_path; with render, also runs `dot` (when it is on the
// PATH) to write the .png and .svg next to it. Throws when the file cannot be written; a failed
// rendering is reported in the message, not thrown.
GraphDump dump_graph(const Tensor& root, const std::string& dot_path, const TensorNames& names = {},
                     bool render = true);

// The full path of `program` on the PATH, or "" when it is not there.
std::string find_on_path(const std::string& program);

}  // namespace ember
