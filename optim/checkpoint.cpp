// Checkpoints on top of safetensors (the layout is described in optim/checkpoint.h).
#include "optim/checkpoint.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "core/autograd.h"
#include "core/fs.h"

namespace ember {

namespace {

constexpr const char* kFormat = "ember-checkpoint";
constexpr const char* kOptimizerPrefix = "optimizer.";

bool starts_with_optimizer(const std::string& name) { return name.rfind(kOptimizerPrefix, 0) == 0; }

bool is_reserved_key(const std::string& key) {
  return key == "format" || key == "step" || key == "rng_state" || starts_with_optimizer(key);
}

// The shortest text that reads back to exactly the same double (std::to_chars guarantees it).
std::string exact_text(double value) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

template <typename T>
T parse_number(const std::string& text, const std::string& path, const std::string& key) {
  T value{};
  const char* end = text.data() + text.size();
  auto result = std::from_chars(text.data(), end, value);
  check(result.ec == std::errc() && result.ptr == end, "load_checkpoint: '", path, "': metadata \"", key, "\" = \"",
        text, "\" is not a valid number");
  return value;
}

const std::string& metadata_value(const Metadata& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  check(it != metadata.end(), "load_checkpoint: '", path, "': the metadata has no \"", key,
        "\" (is this a checkpoint written by save_checkpoint?)");
  return it->second;
}

// step, RNG state and extra metadata from a checkpoint file's metadata.
CheckpointInfo read_info(const Metadata& metadata, const std::string& path) {
  const std::string& format = metadata_value(metadata, "format", path);
  check(format == kFormat, "load_checkpoint: '", path, "': metadata \"format\" is \"", format, "\", expected \"",
        kFormat, "\"");
  CheckpointInfo info;
  info.step = parse_number<int64_t>(metadata_value(metadata, "step", path), path, "step");
  check(info.step >= 0, "load_checkpoint: '", path, "': metadata \"step\" = ", info.step,
        " is negative (it counts optimizer steps)");

  // "rng_state": six unsigned integers separated by single spaces
  const std::string& rng = metadata_value(metadata, "rng_state", path);
  size_t pos = 0;
  for (size_t i = 0; i < info.rng_state.size(); ++i) {
    size_t space = rng.find(' ', pos);
    if (i + 1 == info.rng_state.size()) space = rng.size();
    check(space != std::string::npos, "load_checkpoint: '", path, "': metadata \"rng_state\" = \"", rng,
          "\" should hold 6 integers");
    info.rng_state[i] = parse_number<uint64_t>(rng.substr(pos, space - pos), path, "rng_state");
    pos = space + 1;
  }
  check(info.rng_state[0] != 0 || info.rng_state[1] != 0 || info.rng_state[2] != 0 || info.rng_state[3] != 0,
        "load_checkpoint: '", path, "': metadata \"rng_state\" = \"", rng,
        "\" starts with four zero words, a generator state that draws zeros forever (the file is damaged)");

  for (const auto& [key, value] : metadata)
    if (!is_reserved_key(key)) info.extra[key] = value;
  return info;
}

// Splits the file's tensors into the model's and the optimizer's (prefix removed).
void split_tensors(const NamedTensors& all, NamedTensors& model, NamedTensors& optimizer) {
  const size_t prefix = std::strlen(kOptimizerPrefix);
  for (const auto& [name, t] : all) {
    if (starts_with_optimizer(name)) optimizer.emplace_back(name.substr(prefix), t);
    else model.emplace_back(name, t);
  }
}

// A NaN or infinite weight in the file would make every later loss NaN: refuse it, naming it.
void check_finite(const NamedTensors& loaded, const std::string& path) {
  for (const auto& [name, t] : loaded)
    if (const int64_t bad = first_non_finite(t); bad >= 0)
      fail("load_checkpoint: '", path, "': tensor \"", name, "\" ", shape_str(t.shape()), " holds ",
           t.reshape({-1}).slice(0, bad, bad + 1).item(), " at element ", bad,
           ": a checkpoint's tensors must be finite (the file is damaged, or was saved after training diverged)");
}

void copy_into_model(const NamedTensors& model_state, const NamedTensors& loaded) {
  NoGradGuard no_grad;
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : loaded) by_name.emplace(name, &t);
  for (const auto& [name, target] : model_state) {
    Tensor destination = target;  // a handle to the same memory as the model's tensor
    destination.copy_(*by_name.at(name));
  }
}

}  // namespace

void save_checkpoint(const std::string& path, const NamedTensors& model_state, const Optimizer& optimizer,
                     int64_t step, const std::array<uint64_t, 6>& rng_state, const Metadata& extra) {
  // A run killed in the middle of a save leaves its temporary file ("<path>.tmp-<pid>-<n>") in the
  // folder; each is as large as a checkpoint, so clean up those of dead processes first.
  remove_stale_temporaries(std::filesystem::path(path).parent_path().string());
  Metadata metadata;
  for (const auto& [key, value] : extra) {
    check(!is_reserved_key(key), "save_checkpoint: extra metadata key \"", key,
          "\" is reserved (format, step, rng_state and optimizer.* are written by the checkpoint itself)");
    metadata[key] = value;
  }
  metadata["format"] = kFormat;
  metadata["step"] = std::to_string(step);
  std::string rng;
  for (uint64_t word : rng_state) {
    if (!rng.empty()) rng += ' ';
    rng += std::to_string(word);
  }
  metadata["rng_state"] = rng;

  NamedTensors tensors;
  for (const auto& [name, t] : model_state) {
    check(!starts_with_optimizer(name), "save_checkpoint: model tensor \"", name,
          "\" starts with \"optimizer.\", which is reserved for the optimizer's state");
    tensors.emplace_back(name, t.cpu());  // the file is written from the host: a GPU tensor is copied first
  }
  OptimizerState opt = optimizer.state_dict();
  metadata[std::string(kOptimizerPrefix) + "type"] = opt.type;
  for (const auto& [name, value] : opt.scalars) metadata[kOptimizerPrefix + name] = exact_text(value);
  for (const auto& [name, t] : opt.tensors) tensors.emplace_back(kOptimizerPrefix + name, t.cpu());

  save_safetensors(path, tensors, metadata);
}

CheckpointInfo load_checkpoint(const std::string& path, const NamedTensors& model_state, Optimizer& optimizer) {
  SafetensorsFile file = load_safetensors(path);
  CheckpointInfo info = read_info(file.metadata, path);

  NamedTensors model_loaded, optimizer_loaded;
  split_tensors(file.tensors, model_loaded, optimizer_loaded);
  check_state_dict_compatible(model_state, model_loaded, /*strict=*/true, "load_checkpoint '" + path + "'");
  check_finite(model_loaded, path);

  OptimizerState opt;
  opt.type = metadata_value(file.metadata, "optimizer.type", path);
  opt.tensors = std::move(optimizer_loaded);
  const size_t prefix = std::strlen(kOptimizerPrefix);
  for (const auto& [key, value] : file.metadata)
    if (starts_with_optimizer(key) && key != "optimizer.type")
      opt.scalars[key.substr(prefix)] = parse_number<double>(value, path, key);
  try {
    optimizer.load_state_dict(opt);  // checks everything before it changes anything
  } catch (const Error& e) {
    fail("load_checkpoint: '", path, "': ", e.what());  // the same message, and which file
  }

  copy_into_model(model_state, model_loaded);  // cannot fail: names, shapes and dtypes were checked
  return info;
}

CheckpointInfo load_model_from_checkpoint(const std::string& path, const NamedTensors& model_state) {
  SafetensorsFile file = load_safetensors(path);
  CheckpointInfo info = read_info(file.metadata, path);
  NamedTensors model_loaded, optimizer_loaded;
  split_tensors(file.tensors, model_loaded, optimizer_loaded);
  check_state_dict_compatible(model_state, model_loaded, /*strict=*/true, "load_checkpoint '" + path + "'");
  check_finite(model_loaded, path);
  copy_into_model(model_state, model_loaded);
  return info;
}

}  // namespace ember
