// The ResNet family (layers/resnet.h): shapes, the paper's parameter counts, torchvision's names,
// the option-A shortcut's values and gradient, and gradients reaching the first layer.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <map>
#include <set>

#include "core/ops.h"
#include "layers/gradcheck_module.h"
#include "layers/residual.h"
#include "layers/resnet.h"

using namespace ember;

namespace test_cifar_models {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::vector<std::string> parameter_names(const Module& m) {
  std::vector<std::string> names;
  for (const auto& [name, t] : m.named_parameters()) names.push_back(name);
  return names;
}

bool any_name_contains(const Module& m, const std::string& part) {
  for (const std::string& name : m.state_dict().keys())
    if (name.find(part) != std::string::npos) return true;
  return false;
}

TEST(CifarModels, ShapesAndParameterCountsMatchThePaper) {
  // He et al. 2016, Table 6: ResNet-20 0.27M, 32 0.46M, 44 0.66M, 56 0.85M, 110 1.7M (option A).
  // Counted by hand for ResNet-20: conv1 3*16*9 + bn 2*16 = 464; layer1 3 x (2 * 16*16*9 + 2 * 32)
  // = 14,016; layer2 (16*32*9 + 32*32*9 + 128) + 2 x (2 * 32*32*9 + 128) = 51,072; layer3 (32*64*9 +
  // 64*64*9 + 256) + 2 x (2 * 64*64*9 + 256) = 203,520; fc 64*10 + 10 = 650: 269,722.
  struct Row {
    std::string name;
    int64_t count;
    double paper;
    const char* total;  // as summary() prints it
  };
  const std::vector<Row> rows = {{"resnet20", 269722, 0.27e6, "Total params: 269,722"},
                                 {"resnet32", 464154, 0.46e6, "Total params: 464,154"},
                                 {"resnet44", 658586, 0.66e6, "Total params: 658,586"},
                                 {"resnet56", 853018, 0.85e6, "Total params: 853,018"},
                                 {"resnet110", 1727962, 1.7e6, "Total params: 1,727,962"}};
  Generator gen(0);
  for (const Row& row : rows) {
    auto model = make_model(row.name, 10, 3, Shortcut::A, &gen);
    const int64_t count = model->num_parameters();
    std::cout << row.name << ": " << count << " parameters with shortcut A (paper: " << row.paper / 1e6 << "M)\n";
    EXPECT_EQ(count, row.count) << row.name;
    // the paper's figure is this count rounded to 2 significant digits
    const double scale = row.paper >= 1e6 ? 1e5 : 1e4;
    EXPECT_EQ(std::llround(count / scale) * scale, row.paper) << row.name;
    EXPECT_EQ(model->depth(), std::stoi(row.name.substr(6)));
    // option A has no shortcut parameters
    EXPECT_FALSE(any_name_contains(*model, "downsample") || any_name_contains(*model, "shortcut")) << row.name;
    // summary() runs the model on one 32x32 image: the table's total, and logits [1, 10] from fc
    const std::string table = model->summary({1, 3, 32, 32});
    EXPECT_NE(table.find(row.total), std::string::npos) << table;
    const size_t fc_row = table.find("\nfc (Linear)");
    ASSERT_NE(fc_row, std::string::npos) << table;
    const std::string fc_line = table.substr(fc_row + 1, table.find('\n', fc_row + 1) - fc_row - 1);
    EXPECT_NE(fc_line.find("[1, 10]"), std::string::npos) << table;
    if (row.name == "resnet20") {
      EXPECT_NE(table.find("layer2.0.shortcut (ZeroPadShortcut)"), std::string::npos) << table;
      EXPECT_NE(table.find("layer3.2.conv2 (Conv2d)"), std::string::npos) << table;
    }
  }
  // option B adds the 1x1 projections of layer2 and layer3: 16*32 + 2*32 + 32*64 + 2*64 = 2,752
  for (const Row& row : {rows[0], rows[3]}) {
    auto with_b = make_model(row.name, 10, 3, Shortcut::B, &gen);
    std::cout << row.name << ": " << with_b->num_parameters() << " parameters with shortcut B\n";
    EXPECT_EQ(with_b->num_parameters(), row.count + 2752);
    EXPECT_TRUE(any_name_contains(*with_b, "layer2.0.downsample.0.weight"));
  }
  // a plain network has exactly the same parameters (a skip has none), whatever shortcut is asked for
  auto plain = make_model("plain20", 10, 3, Shortcut::B, &gen);
  EXPECT_EQ(plain->num_parameters(), 269722);
  EXPECT_EQ(parameter_names(*plain), parameter_names(*make_model("resnet20", 10, 3, Shortcut::A, &gen)));
  EXPECT_EQ(plain->config.shortcut, Shortcut::None);
  EXPECT_EQ(plain->trace_layers({1, 3, 32, 32}).back().output_shape, (Shape{1, 10}));
  EXPECT_EQ(make_model("plain56", 10, 3, Shortcut::A, &gen)->num_parameters(), 853018);
  // torchvision's resnet18 with 1000 classes has 11,689,512 parameters
  auto resnet18 = make_model("resnet18", 1000, 3, Shortcut::B, &gen);
  std::cout << "resnet18: " << resnet18->num_parameters() << " parameters (1000 classes)\n";
  EXPECT_EQ(resnet18->num_parameters(), 11689512);
  EXPECT_EQ(resnet18->depth(), 18);
  EXPECT_ERROR(make_model("resnet50"), "make_model: unknown model 'resnet50'; the models are resnet20, resnet32");
}

TEST(CifarModels, StageShapesAndOtherInputs) {
  // the stages of ResNet-20 on 32x32: 16x32x32, 32x16x16, 64x8x8
  Generator gen(0);
  auto model = make_model("resnet20", 10, 3, Shortcut::A, &gen);
  model->eval();
  NoGradGuard no_grad;
  Tensor x = Tensor::randn({2, 3, 32, 32}, &gen);
  Tensor stem = (*model->relu)((*model->bn1)((*model->conv1)(x)));
  Tensor l1 = (*model->layers[0])(stem), l2 = (*model->layers[1])(l1), l3 = (*model->layers[2])(l2);
  EXPECT_EQ(l1.shape(), (Shape{2, 16, 32, 32}));
  EXPECT_EQ(l2.shape(), (Shape{2, 32, 16, 16}));
  EXPECT_EQ(l3.shape(), (Shape{2, 64, 8, 8}));
  EXPECT_EQ(model->features(x).shape(), (Shape{2, 64}));
  EXPECT_EQ((*model)(x).shape(), (Shape{2, 10}));
  // one grey channel, 100 classes
  auto grey = make_model("resnet32", 100, 1, Shortcut::B, &gen);
  EXPECT_EQ(grey->trace_layers({1, 1, 32, 32}).back().output_shape, (Shape{1, 100}));
  EXPECT_ERROR((*grey)(Tensor::zeros({1, 3, 32, 32})), "ResNet: expected images [N, 1, H, W], got [1, 3, 32, 32]");
  EXPECT_EQ(model->extra_repr(), "depth=20, stem=cifar, widths=[16, 32, 64], shortcut=A");
}

TEST(CifarModels, ZeroPadShortcutKnownValuesAndGradient) {
  // x [1, 2, 3, 3] holding 0..17: stride 2 keeps rows/columns 0 and 2; 2 zero channels follow
  Tensor x = Tensor::arange(0, 18).reshape({1, 2, 3, 3});
  ZeroPadShortcut shortcut(2, 4, 2);
  Tensor y = shortcut(x);
  EXPECT_EQ(y.shape(), (Shape{1, 4, 2, 2}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 2, 6, 8, 9, 11, 15, 17, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(ZeroPadShortcut(2, 2, 1)(x).to_vector<float>(), x.to_vector<float>());  // the identity
  EXPECT_EQ(shortcut.num_parameters(), 0);

  // the gradient: float64 finite differences, even and odd sizes
  for (const Shape& shape : {Shape{2, 3, 6, 6}, Shape{1, 3, 5, 7}}) {
    ZeroPadShortcut pad(3, 8, 2);
    GradcheckResult r = gradcheck_module(pad, randn64(shape, 1));
    EXPECT_TRUE(r.ok) << r.message;
  }
  // and by hand: the gradient of x is the output's gradient at the kept pixels of the first channels
  Tensor input = Tensor::ones({1, 1, 2, 2}).requires_grad_();
  Tensor out = ZeroPadShortcut(1, 2, 2)(input);
  (out * Tensor::full({1, 2, 1, 1}, 3.0)).sum().backward();
  EXPECT_EQ(input.grad().to_vector<float>(), (std::vector<float>{3, 0, 0, 0}));
  EXPECT_ERROR(ZeroPadShortcut(4, 2, 1), "ZeroPadShortcut: needs 0 < in_channels <= out_channels");
  EXPECT_ERROR(shortcut(Tensor::zeros({1, 3, 4, 4})), "ZeroPadShortcut: expected input [N, 2, H, W], got [1, 3, 4, 4]");
}

TEST(CifarModels, BlocksGradcheckWithEachShortcut) {
  // a block that halves the picture and doubles the channels, in float64, nudged away from ReLU's kink
  for (Shortcut s : {Shortcut::A, Shortcut::B, Shortcut::None}) {
    Generator gen(7);
    ResidualBlock block(2, 4, 2, s, &gen);
    block.to(DType::Float64);
    GradcheckOptions opt;
    opt.max_elements_per_input = 40;
    GradcheckResult r = gradcheck_module(block, randn64({2, 2, 5, 5}, 3), opt);
    EXPECT_TRUE(r.ok) << shortcut_name(s) << ": " << r.message;
  }
}

TEST(CifarModels, TheSkipAddsTheInputAndAPlainBlockDoesNot) {
  // with bn2's weight and bias 0, F(x) = 0: a residual block gives relu(x), a plain one 0
  Generator gen(1);
  Tensor x = Tensor::randn({2, 4, 6, 6}, &gen);
  for (Shortcut s : {Shortcut::A, Shortcut::B, Shortcut::None}) {
    ResidualBlock block(4, 4, 1, s, &gen);
    block.bn2->weight.fill_(0);
    Tensor y = block(x);
    expect_all_near(y.to_vector<double>(), (s == Shortcut::None ? Tensor::zeros({2, 4, 6, 6}) : relu(x)).to_vector<double>(),
                    1e-6, shortcut_name(s));
  }
}

TEST(CifarModels, ShortcutBIsBasicBlockWithTheSameNames) {
  Generator gen(2);
  BasicBlock basic(8, 16, 2, &gen);
  ResidualBlock block(8, 16, 2, Shortcut::B, &gen);
  EXPECT_EQ(block.state_dict().keys(), basic.state_dict().keys());
  block.load_state_dict(basic.state_dict());
  Tensor x = Tensor::randn({2, 8, 9, 9}, &gen);
  EXPECT_EQ(block(x).to_vector<float>(), basic(x).to_vector<float>());
}

TEST(CifarModels, ResNet20TrainsEndToEndAndGradientsReachConv1) {
  Generator gen(3);
  auto model = make_model("resnet20", 10, 3, Shortcut::A, &gen);
  Tensor x = Tensor::randn({2, 3, 32, 32}, &gen);
  Tensor y = Tensor::from_vector(std::vector<int64_t>{3, 7}, {2});
  Tensor loss = cross_entropy((*model)(x), y);
  EXPECT_TRUE(std::isfinite(loss.item()));
  loss.backward();
  for (const auto& [name, p] : model->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    double norm = 0;
    for (double g : p.grad().to_vector<double>()) norm += g * g;
    EXPECT_TRUE(std::isfinite(norm)) << name;
    if (name == "conv1.weight") {
      EXPECT_GT(norm, 0) << "no gradient reached the first layer";
    }
  }
}

TEST(CifarModels, ResNet18HasTorchvisionsLayoutAndNames) {
  Generator gen(4);
  auto model = make_model("resnet18", 10, 3, Shortcut::B, &gen);
  // one forward pass on [1, 3, 64, 64]: the stem quarters the picture, the layers halve it three
  // more times (64 -> 16 -> 2), the pool leaves 512 features, fc 10 logits
  const std::vector<LayerInfo> rows = model->trace_layers({1, 3, 64, 64});
  std::map<std::string, Shape> shapes;
  for (const LayerInfo& row : rows) shapes[row.path] = row.output_shape;
  EXPECT_EQ(shapes["conv1"], (Shape{1, 64, 32, 32}));
  EXPECT_EQ(shapes["maxpool"], (Shape{1, 64, 16, 16}));
  EXPECT_EQ(shapes["layer2.0.downsample.1"], (Shape{1, 128, 8, 8}));
  EXPECT_EQ(shapes["layer4.1.relu2"], (Shape{1, 512, 2, 2}));
  EXPECT_EQ(shapes["avgpool"], (Shape{1, 512}));
  EXPECT_EQ(shapes["fc"], (Shape{1, 10}));

  const std::vector<std::string> keys = model->state_dict().keys();
  const std::set<std::string> names(keys.begin(), keys.end());
  for (const char* name : {"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                           "bn1.num_batches_tracked", "layer1.0.conv1.weight", "layer1.0.bn1.weight",
                           "layer1.1.conv2.weight", "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight",
                           "layer2.0.downsample.1.running_var", "layer4.1.bn2.bias", "fc.weight", "fc.bias"})
    EXPECT_TRUE(names.count(name)) << name;
  // torchvision's resnet18 state dict: 62 parameters + 60 batch-norm buffers = 122 entries
  EXPECT_EQ(keys.size(), 122u);
  EXPECT_EQ(model->named_parameters().size(), 62u);
  EXPECT_FALSE(names.count("layer1.0.downsample.0.weight"));  // layer1 keeps the shape
  EXPECT_EQ(model->fc->weight.shape(), (Shape{10, 512}));
}

}  // namespace test_cifar_models
