#include "core/graph_dump.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "core/autograd.h"

extern char** environ;

namespace ember {

namespace {

// A string as a DOT quoted string: quotes and backslashes escaped, newlines as \n (a line break
// in a label).
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// "1 op", "12 ops"
std::string count(int64_t n, const std::string& what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

std::string shape_and_dtype(const TensorImpl& t) { return shape_str(t.shape) + " " + dtype_name(t.dtype); }

// Every tensor of the graph, breadth first from the root: the root is 0, then its inputs in their
// order, then theirs. Each tensor once, however many ops read it.
struct GraphWalk {
  std::vector<TensorImpl*> tensors;
  std::unordered_map<const TensorImpl*, size_t> index;

  explicit GraphWalk(TensorImpl* root) {
    add(root);
    for (size_t next = 0; next < tensors.size(); ++next) {
      TensorImpl* t = tensors[next];
      check(!t->graph_freed, "dump_graph: backward() has already freed this graph (it frees the graph as it "
            "runs); call dump_graph before loss.backward()");
      if (!t->grad_fn) continue;
      for (const Tensor& in : t->grad_fn->inputs)
        if (in.defined()) add(in.impl());
    }
  }

  void add(TensorImpl* t) {
    if (index.emplace(t, tensors.size()).second) tensors.push_back(t);
  }
};

// Runs `program args...` and waits for it; true when it exits with status 0.
bool run_program(const std::string& program, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// "runs/graph.dot" -> "runs/graph.png"; a name without ".dot" gets the extension added.
std::string beside(const std::string& dot_path, const std::string& extension) {
  const std::string suffix = ".dot";
  if (dot_path.size() > suffix.size() && dot_path.compare(dot_path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return dot_path.substr(0, dot_path.size() - suffix.size()) + extension;
  return dot_path + extension;
}

}  // namespace

std::string graph_to_dot(const Tensor& root, const TensorNames& names) {
  check(root.defined(), "dump_graph: tensor is undefined");
  check(root.requires_grad(), "dump_graph: the tensor has no graph: nothing that requires grad went into it "
        "(no parameter, or it was computed under NoGradGuard)");
  GraphWalk walk(root.impl());

  int64_t ops = 0, parameters = 0, inputs = 0;
  std::ostringstream nodes;
  for (size_t i = 0; i < walk.tensors.size(); ++i) {
    const TensorImpl& t = *walk.tensors[i];
    auto named = names.find(&t);
    nodes << "  n" << i << " [";
    if (t.grad_fn) {
      ++ops;
      nodes << "label=" << quoted(t.grad_fn->name + "\n" + shape_and_dtype(t))
            << ", shape=box, style=\"rounded,filled\", fillcolor=\"#d6e6f7\"";
    } else if (t.requires_grad) {
      ++parameters;
      std::string name = named != names.end() ? named->second : "parameter";
      nodes << "label=" << quoted(name + "\n" + shape_and_dtype(t)) << ", shape=box, style=filled, fillcolor=\"#fbd9a6\"";
    } else {
      ++inputs;
      std::string name = named != names.end() ? named->second : "input";
      nodes << "label=" << quoted(name + "\n" + shape_and_dtype(t)) << ", shape=ellipse, style=filled, fillcolor=\"#e8e8e8\"";
    }
    if (i == 0) nodes << ", peripheries=2";
    nodes << "];\n";
  }

  std::ostringstream edges;
  for (size_t i = 0; i < walk.tensors.size(); ++i) {
    const Node* node = walk.tensors[i]->grad_fn.get();
    if (!node) continue;
    for (const Tensor& in : node->inputs)
      if (in.defined()) edges << "  n" << walk.index.at(in.impl()) << " -> n" << i << ";\n";
  }

  std::ostringstream dot;
  dot << "// The autograd graph that backward() walks, written by ember::dump_graph (core/graph_dump.h).\n"
      << "// Boxes: ops (name, output shape, dtype); orange: parameters; grey ellipses: inputs.\n"
      << "// Render it: dot -Tpng graph.dot -o graph.png   (Debian: apt-get install graphviz)\n"
      << "digraph autograd {\n"
      << "  label=" << quoted(count(ops, "op") + ", " + count(parameters, "parameter") + ", " + count(inputs, "input"))
      << ";\n"
      << "  labelloc=t;\n"
      << "  node [fontname=\"Helvetica\", fontsize=11];\n"
      << "  edge [color=\"#555555\"];\n"
      << nodes.str() << edges.str() << "}\n";
  return dot.str();
}

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

GraphDump dump_graph(const Tensor& root, const std::string& dot_path, const TensorNames& names, bool render) {
  const std::string text = graph_to_dot(root, names);
  {
    std::ofstream out(dot_path, std::ios::binary | std::ios::trunc);
    check(out.good(), "dump_graph: cannot write ", dot_path);
    out << text;
    out.close();
    check(!out.fail(), "dump_graph: writing ", dot_path, " failed");
  }
  GraphDump result;
  result.dot_path = dot_path;
  const std::string png = beside(dot_path, ".png");
  if (!render) {
    result.message = "wrote " + dot_path + " (render it: dot -Tpng " + dot_path + " -o " + png + ")";
    return result;
  }
  const std::string dot = find_on_path("dot");
  if (dot.empty()) {
    result.message = "wrote " + dot_path + "; to see it, install Graphviz (apt-get install graphviz) and run: dot -Tpng " +
                     dot_path + " -o " + png;
    return result;
  }
  std::string failed;
  for (const std::string& format : {std::string("png"), std::string("svg")}) {
    const std::string image = beside(dot_path, "." + format);
    if (run_program(dot, {"-T" + format, dot_path, "-o", image}))
      result.images.push_back(image);
    else
      failed += (failed.empty() ? "" : ", ") + image;
  }
  result.message = "wrote " + dot_path;
  for (const std::string& image : result.images) result.message += ", " + image;
  if (!failed.empty()) result.message += " (" + dot + " failed to write " + failed + ")";
  return result;
}

}  // namespace ember
