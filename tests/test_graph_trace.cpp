// Seeing the graph (core/graph_dump.h, layers/graph_names.h) and tracing ops (core/trace.h).
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/graph_dump.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/trace.h"
#include "layers/gpt.h"
#include "layers/layers.h"
#include "lessons/mnist/lesson.h"
#include "test_util.h"

namespace ember {
namespace test_graph_trace {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

bool has_text(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> lines_of_text(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The node and edge lines of a DOT text ("  n0 [...]", "  n1 -> n0;"), in order.
std::vector<std::string> graph_lines(const std::string& dot) {
  std::vector<std::string> out;
  for (const std::string& line : lines_of_text(dot))
    if (line.size() > 3 && line.rfind("  n", 0) == 0 && std::isdigit(static_cast<unsigned char>(line[3])))
      out.push_back(line);
  return out;
}

// Sets an environment variable for a scope, restoring the old value (or its absence) at the end.
struct EnvGuard {
  std::string name;
  bool had;
  std::string old;
  EnvGuard(const std::string& n, const std::string& value) : name(n), had(std::getenv(n.c_str()) != nullptr) {
    if (had) old = std::getenv(n.c_str());
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvGuard() {
    if (had)
      setenv(name.c_str(), old.c_str(), 1);
    else
      unsetenv(name.c_str());
  }
};

// ---- the graph -----------------------------------------------------------------------------------

TEST(GraphDump, KnownExpressionNodesAndEdges) {
  // loss = sum((x * w + b)^2), x an input, w and b parameters
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3}, {3});
  Tensor w = Tensor::from_vector(std::vector<float>{0.5f, -1, 2}, {3}).requires_grad_();
  Tensor b = Tensor::from_vector(std::vector<float>{0.1f}, {1}).requires_grad_();
  Tensor loss = sum(pow(x * w + b, 2.0));
  TensorNames names{{w.impl(), "w"}, {b.impl(), "b"}};
  const std::string dot = graph_to_dot(loss, names);

  // Breadth first from the loss, each op's inputs in their order: sum, pow, add, then add's inputs
  // (mul, b), then mul's (x, w).
  const std::vector<std::string> expected = {
      R"(  n0 [label="sum\n[] float32", shape=box, style="rounded,filled", fillcolor="#d6e6f7", peripheries=2];)",
      R"(  n1 [label="pow\n[3] float32", shape=box, style="rounded,filled", fillcolor="#d6e6f7"];)",
      R"(  n2 [label="add\n[3] float32", shape=box, style="rounded,filled", fillcolor="#d6e6f7"];)",
      R"(  n3 [label="mul\n[3] float32", shape=box, style="rounded,filled", fillcolor="#d6e6f7"];)",
      R"(  n4 [label="b\n[1] float32", shape=box, style=filled, fillcolor="#fbd9a6"];)",
      R"(  n5 [label="input\n[3] float32", shape=ellipse, style=filled, fillcolor="#e8e8e8"];)",
      R"(  n6 [label="w\n[3] float32", shape=box, style=filled, fillcolor="#fbd9a6"];)",
      "  n1 -> n0;",
      "  n2 -> n1;",
      "  n3 -> n2;",
      "  n4 -> n2;",
      "  n5 -> n3;",
      "  n6 -> n3;",
  };
  EXPECT_EQ(graph_lines(dot), expected) << dot;
  EXPECT_TRUE(has_text(dot, "digraph autograd {")) << dot;
  EXPECT_TRUE(has_text(dot, R"(label="4 ops, 2 parameters, 1 input";)")) << dot;
  EXPECT_EQ(dot.back(), '\n');
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
}

TEST(GraphDump, SameFileRunAfterRun) {
  auto build = [] {
    Generator gen(3);
    Tensor x = Tensor::randn({4, 3}, &gen);
    Tensor w = Tensor::randn({2, 3}, &gen).requires_grad_();
    Tensor h = relu(linear(x, w));
    return graph_to_dot(mean(h * h + h));
  };
  const std::string first = build();
  EXPECT_EQ(build(), first);
  EXPECT_EQ(build(), first);
}

TEST(GraphDump, TensorUsedTwiceIsOneNodeWithTwoEdges) {
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  Tensor y = x * x;
  const std::vector<std::string> lines = graph_lines(graph_to_dot(y));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_TRUE(has_text(lines[0], R"(label="mul\n[2] float32")"));
  EXPECT_TRUE(has_text(lines[1], R"(label="parameter\n[2] float32")"));
  EXPECT_EQ(lines[2], "  n1 -> n0;");
  EXPECT_EQ(lines[3], "  n1 -> n0;");
}

TEST(GraphDump, RefusesNoGraphAndAFreedGraph) {
  Tensor plain = Tensor::ones({2}) * 2.0;
  EXPECT_ERROR(graph_to_dot(plain), "dump_graph: the tensor has no graph");
  Tensor w = Tensor::ones({2}).requires_grad_();
  Tensor loss = sum(w * 3.0);
  loss.backward();
  EXPECT_ERROR(graph_to_dot(loss), "call dump_graph before loss.backward()");
}

TEST(GraphDump, ModuleParameterNames) {
  Generator gen(1);
  auto model = std::make_shared<Sequential>(std::make_shared<Linear>(3, 2, true, &gen), std::make_shared<ReLU>(),
                                            std::make_shared<Linear>(2, 1, true, &gen));
  TensorNames names = graph_names(*model, "model.");
  ASSERT_EQ(names.size(), 4u);
  Tensor x = Tensor::randn({5, 3}, &gen);
  const std::string dot = graph_to_dot(sum((*model)(x)), names);
  for (const char* label : {R"("model.0.weight\n[2, 3] float32")", R"("model.0.bias\n[2] float32")",
                            R"("model.2.weight\n[1, 2] float32")", R"("model.2.bias\n[1] float32")",
                            R"("input\n[5, 3] float32")", R"("linear\n[5, 2] float32")", R"("relu\n[5, 2] float32")"})
    EXPECT_TRUE(has_text(dot, label)) << label << " in\n" << dot;
  EXPECT_TRUE(has_text(dot, R"(label="4 ops, 4 parameters, 1 input";)")) << dot;
}

TEST(GraphDump, BufferNamesLabelRunningStatistics) {
  Generator gen(2);
  auto bn = std::make_shared<BatchNorm2d>(2);
  Tensor x = Tensor::randn({3, 2, 4, 4}, &gen);
  TensorNames names = graph_names(*bn);
  const std::string dot = graph_to_dot(sum((*bn)(x)), names);
  EXPECT_TRUE(has_text(dot, R"("weight\n[2] float32")")) << dot;
  EXPECT_TRUE(has_text(dot, R"("bias\n[2] float32")")) << dot;
}

TEST(GraphDump, WritesTheFileAndSaysHowToRender) {
  const std::string dir = scratch_dir("graph");
  Tensor w = Tensor::ones({2}).requires_grad_();
  Tensor loss = sum(w * w);
  {
    // No dot on the PATH: the DOT file only, and the message says what to install and run.
    EnvGuard no_dot("PATH", dir);
    GraphDump dump = dump_graph(loss, dir + "/graph.dot");
    EXPECT_TRUE(dump.images.empty());
    EXPECT_TRUE(has_text(dump.message, "apt-get install graphviz")) << dump.message;
    EXPECT_TRUE(has_text(dump.message, "dot -Tpng " + dir + "/graph.dot -o " + dir + "/graph.png")) << dump.message;
  }
  std::ifstream in(dir + "/graph.dot");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), graph_to_dot(loss));
  EXPECT_FALSE(std::filesystem::exists(dir + "/graph.png"));

  if (find_on_path("dot").empty()) GTEST_SKIP() << "Graphviz (dot) is not installed: rendering not checked";
  GraphDump dump = dump_graph(loss, dir + "/graph.dot");
  EXPECT_EQ(dump.images, (std::vector<std::string>{dir + "/graph.png", dir + "/graph.svg"})) << dump.message;
  EXPECT_GT(std::filesystem::file_size(dir + "/graph.png"), 100u);
  EXPECT_GT(std::filesystem::file_size(dir + "/graph.svg"), 100u);
}

TEST(GraphDump, UnwritablePathNamesIt) {
  Tensor w = Tensor::ones({2}).requires_grad_();
  EXPECT_ERROR(dump_graph(sum(w), "/nonexistent-folder/graph.dot"), "dump_graph: cannot write /nonexistent-folder/graph.dot");
}

// The three pictures of the lecture: the MNIST CNN, a residual block, one transformer block.
// EMBER_GRAPH_DIR=docs/graphs build-graph/bin/ember_tests --gtest_filter='GraphDump.LecturePictures'
// writes them there (with PNG and SVG where Graphviz is installed).
TEST(GraphDump, LecturePictures) {
  const char* out_dir = std::getenv("EMBER_GRAPH_DIR");
  const std::string dir = out_dir ? std::string(out_dir) : scratch_dir("graph");
  std::filesystem::create_directories(dir);
  Generator gen(0);

  {
    Config cfg;
    mnist::add_settings(cfg);
    auto model = mnist::build_model(cfg, gen);
    Tensor images = Tensor::randn({4, 1, 28, 28}, &gen);
    Tensor labels = Tensor::randint(0, 10, {4}, &gen);
    Tensor loss = cross_entropy((*model)(images), labels);
    GraphDump dump = dump_graph(loss, dir + "/mnist_cnn.dot", graph_names(*model));
    std::cout << dump.message << "\n";
    const std::string dot = graph_to_dot(loss, graph_names(*model));
    EXPECT_TRUE(has_text(dot, R"("cross_entropy\n[] float32")")) << dot;
    EXPECT_TRUE(has_text(dot, R"("conv2d\n[4, 32, 28, 28] float32")")) << dot;
    EXPECT_TRUE(has_text(dot, R"(\n[32, 1, 3, 3] float32")")) << dot;
    EXPECT_TRUE(has_text(dot, R"("input\n[4, 1, 28, 28] float32")")) << dot;  // the labels are no node: cross_entropy records only the logits
  }
  {
    BasicBlock block(8, 16, /*stride=*/2, &gen);
    Tensor x = Tensor::randn({2, 8, 8, 8}, &gen);
    Tensor loss = sum(block(x));
    GraphDump dump = dump_graph(loss, dir + "/basic_block.dot", graph_names(block));
    std::cout << dump.message << "\n";
    const std::string dot = graph_to_dot(loss, graph_names(block));
    EXPECT_TRUE(has_text(dot, R"("conv1.weight\n[16, 8, 3, 3] float32")")) << dot;
    EXPECT_TRUE(has_text(dot, R"("downsample.0.weight\n[16, 8, 1, 1] float32")")) << dot;
    EXPECT_TRUE(has_text(dot, R"("add\n[2, 16, 4, 4] float32")")) << dot;
  }
  {
    GPTConfig cfg;
    cfg.vocab_size = 16;
    cfg.block_size = 8;
    cfg.n_layer = 1;
    cfg.n_head = 2;
    cfg.n_embd = 8;
    cfg.dropout = 0.0;
    Block block(cfg, &gen);
    Tensor x = Tensor::randn({2, 8, 8}, &gen);
    Tensor loss = sum(block(x));
    GraphDump dump = dump_graph(loss, dir + "/transformer_block.dot", graph_names(block));
    std::cout << dump.message << "\n";
    const std::string dot = graph_to_dot(loss, graph_names(block));
    EXPECT_TRUE(has_text(dot, R"("attn.c_attn.weight\n[24, 8] float32")")) << dot;
    EXPECT_TRUE(has_text(dot, R"("self_attention\n[2, 8, 8] float32")") ||
                has_text(dot, R"("scaled_dot_product_attention\n[2, 2, 8, 4] float32")"))
        << dot;
    EXPECT_TRUE(has_text(dot, R"("layer_norm\n[2, 8, 8] float32")")) << dot;
  }
}

// ---- the trace -----------------------------------------------------------------------------------

// The trace's lines with the time (after the last two spaces) cut off.
std::vector<std::string> without_times(const std::string& text) {
  std::vector<std::string> out;
  for (std::string line : lines_of_text(text)) {
    size_t cut = line.rfind("  ");
    EXPECT_NE(cut, std::string::npos) << line;
    EXPECT_TRUE(has_text(line.substr(cut), " us")) << line;
    out.push_back(line.substr(0, cut));
  }
  return out;
}

TEST(Trace, KnownSequenceOfOps) {
  Tensor x = Tensor::ones({2, 3});
  Tensor w = Tensor::ones({4, 3}).requires_grad_();
  std::ostringstream out;
  {
    TraceGuard trace(1, &out);
    Tensor h = relu(linear(x, w));              // [2, 4]
    Tensor m = mean(h, {1});                    // [2]: one line, not the sum and mul inside it
    Tensor c = concat({h, h}, 0);               // [4, 4]
    Tensor k = argmax(c, 1);                    // [4] int64, records no node
    Tensor loss = sum(m);
    loss.backward();                            // level 1: nothing from backward
  }
  const std::vector<std::string> expected = {
      "[trace] linear        in [2,3] [4,3] - -> [2,4]",
      "[trace] relu          in [2,4] -> [2,4]",
      "[trace] mean          in [2,4] -> [2]",
      "[trace] concat        in {[2,4] [2,4]} -> [4,4]",
      "[trace] argmax        in [4,4] -> [4]",
      "[trace] sum           in [2] -> []",
  };
  EXPECT_EQ(without_times(out.str()), expected) << out.str();
}

TEST(Trace, OffPrintsNothing) {
  std::ostringstream out;
  {
    TraceGuard trace(0, &out);
    Tensor w = Tensor::ones({3}).requires_grad_();
    Tensor loss = sum(relu(w * 2.0));
    loss.backward();
  }
  EXPECT_EQ(out.str(), "");
}

TEST(Trace, NoGradOpsAreTracedToo) {
  std::ostringstream out;
  {
    TraceGuard trace(1, &out);
    NoGradGuard no_grad;
    Tensor y = exp(Tensor::zeros({5}));
  }
  EXPECT_EQ(without_times(out.str()), std::vector<std::string>{"[trace] exp           in [5] -> [5]"}) << out.str();
}

TEST(Trace, LevelTwoAddsBackwardFunctions) {
  Tensor x = Tensor::ones({2, 3});
  Tensor w = Tensor::ones({2, 3}).requires_grad_();
  std::ostringstream out;
  {
    TraceGuard trace(2, &out);
    Tensor loss = sum(x * w);
    loss.backward();
  }
  const std::vector<std::string> expected = {
      "[trace] mul           in [2,3] [2,3] -> [2,3]",
      "[trace] sum           in [2,3] -> []",
      "[trace] backward sum           grad [] -> [2,3]",
      "[trace] backward mul           grad [2,3] -> - [2,3]",  // x needs no gradient
  };
  EXPECT_EQ(without_times(out.str()), expected) << out.str();
}

TEST(Trace, AnOpThatThrowsSaysSo) {
  std::ostringstream out;
  {
    TraceGuard trace(1, &out);
    EXPECT_ERROR(matmul(Tensor::ones({2, 3}), Tensor::ones({2, 3})), "matmul");
  }
  EXPECT_EQ(without_times(out.str()), std::vector<std::string>{"[trace] matmul        in [2,3] [2,3] -> (threw)"})
      << out.str();
}

TEST(Trace, GuardRestoresTheLevel) {
  const int before = trace_level();
  {
    TraceGuard trace(2);
    EXPECT_EQ(trace_level(), 2);
    {
      TraceGuard off(0);
      EXPECT_EQ(trace_level(), 0);
    }
    EXPECT_EQ(trace_level(), 2);
  }
  EXPECT_EQ(trace_level(), before);
}

}  // namespace ember

}  // namespace test_graph_trace
