// Weights exported from PyTorch load into the engine's ResNet by name and give PyTorch's output.
// The fixture (tests/data/torch/resnet18_tiny.*) was written by
//   python3 scripts/export_torch_backbone.py --fixture
// a ResNet-18-layout network with widths 4, 8, 16, 32 and 10 classes, seeded, with random batch-norm
// statistics; the JSON beside it holds the forward output (eval mode) of a fixed input.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "core/ops.h"
#include "core/safetensors.h"
#include "layers/resnet.h"

using namespace ember;

namespace test_cifar_torch_fixture {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

const std::string kFixture = std::string(EMBER_SOURCE_DIR) + "/tests/data/torch/resnet18_tiny";

ResNetConfig tiny_config(int64_t num_classes = 10) {
  ResNetConfig config;
  config.stem = Stem::ImageNet;
  config.widths = {4, 8, 16, 32};
  config.blocks = {2, 2, 2, 2};
  config.shortcut = Shortcut::B;
  config.num_classes = num_classes;
  config.in_channels = 3;
  return config;
}

StateDict to_state_dict(const NamedTensors& tensors) {
  StateDict dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t);
  return dict;
}

// x.flat[i] = sin(0.1 i + 1), as the export script writes it (in the JSON's "input_formula")
Tensor fixture_input(const Shape& shape, DType dtype) {
  std::vector<double> values(shape_numel(shape));
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.1 * static_cast<double>(i) + 1.0);
  return Tensor::from_vector(values, shape).to(dtype);
}

std::vector<double> flatten(const nlohmann::json& rows) {
  std::vector<double> out;
  for (const auto& row : rows)
    for (const auto& v : row) out.push_back(v.get<double>());
  return out;
}

TEST(CifarTorchFixture, LoadsByNameAndMatchesPyTorchsOutput) {
  const SafetensorsFile file = load_safetensors(kFixture + ".safetensors");
  const nlohmann::json numbers = nlohmann::json::parse(read_file(kFixture + ".json"));
  ASSERT_EQ(numbers["widths"], nlohmann::json({4, 8, 16, 32}));
  ASSERT_EQ(numbers["input_formula"].get<std::string>().rfind("x.flat[i] = sin(0.1 * i + 1.0)", 0), 0u);

  Generator gen(0);
  ResNet model(tiny_config(), &gen);
  // the file's names are the model's, in the same order (torchvision's registration order)
  std::vector<std::string> file_names;
  for (const auto& [name, t] : file.tensors) file_names.push_back(name);
  EXPECT_EQ(file_names, model.state_dict().keys());
  const LoadResult result = model.load_state_dict(to_state_dict(file.tensors));  // strict
  EXPECT_TRUE(result.missing_keys.empty() && result.unexpected_keys.empty());
  EXPECT_EQ(model.bn1->num_batches_tracked.item(), 7);

  model.eval();
  Shape input_shape;
  for (const auto& d : numbers["input_shape"]) input_shape.push_back(d.get<int64_t>());
  const std::vector<double> want = flatten(numbers["output_float64"]);
  {
    NoGradGuard no_grad;
    Tensor out = model(fixture_input(input_shape, DType::Float32));
    ASSERT_EQ(out.shape(), (Shape{2, 10}));
    expect_all_near(out.to_vector<double>(), want, 1e-5, "float32 against PyTorch's float64 output");
    expect_all_near(out.to_vector<double>(), flatten(numbers["output_float32"]), 1e-5,
                    "float32 against PyTorch's float32 output");
  }
  // in float64 the two engines agree to rounding
  model.to(DType::Float64);
  NoGradGuard no_grad;
  Tensor out64 = model(fixture_input(input_shape, DType::Float64));
  expect_all_near(out64.to_vector<double>(), want, 1e-10, "float64 against PyTorch's float64 output");
}

TEST(CifarTorchFixture, MissingAndUnexpectedKeysAreNamed) {
  const SafetensorsFile file = load_safetensors(kFixture + ".safetensors");
  Generator gen(0);
  ResNet model(tiny_config(), &gen);
  // a dict without fc.bias and with a key the model does not have
  StateDict dict;
  for (const auto& [name, t] : file.tensors)
    if (name != "fc.bias") dict.insert(name, t);
  dict.insert("head.weight", Tensor::zeros({10, 32}));
  const Tensor before = model.fc->weight.clone();
  const std::string message = error_of([&] { model.load_state_dict(dict); });
  EXPECT_NE(message.find("fc.bias"), std::string::npos) << message;
  EXPECT_NE(message.find("head.weight"), std::string::npos) << message;
  EXPECT_EQ(model.fc->weight.to_vector<float>(), before.to_vector<float>());  // nothing was changed
  const LoadResult result = model.load_state_dict(dict, /*strict=*/false);
  EXPECT_EQ(result.missing_keys, std::vector<std::string>{"fc.bias"});
  EXPECT_EQ(result.unexpected_keys, std::vector<std::string>{"head.weight"});
  EXPECT_EQ(model.fc->weight.to_vector<float>(), file.get("fc.weight").to_vector<float>());
}

TEST(CifarTorchFixture, ABackboneForANewTaskLoadsWithoutItsHead) {
  // transfer learning: 5 classes instead of 10 - fc's shape differs, so the head is left out
  const SafetensorsFile file = load_safetensors(kFixture + ".safetensors");
  Generator gen(0);
  ResNet model(tiny_config(5), &gen);
  const std::string message = error_of([&] { model.load_state_dict(to_state_dict(file.tensors)); });
  EXPECT_NE(message.find("fc.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("[5, 32]"), std::string::npos) << message;
  EXPECT_NE(message.find("[10, 32]"), std::string::npos) << message;
  StateDict backbone;
  for (const auto& [name, t] : file.tensors)
    if (name.rfind("fc.", 0) != 0) backbone.insert(name, t);
  const LoadResult result = model.load_state_dict(backbone, /*strict=*/false);
  EXPECT_EQ(result.missing_keys, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  EXPECT_TRUE(result.unexpected_keys.empty());
}

}  // namespace test_cifar_torch_fixture
