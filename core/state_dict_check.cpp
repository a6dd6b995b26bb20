// Comparing a state dict with what a model expects (see state_dict_check.h).
#include "core/state_dict_check.h"

#include <unordered_map>

namespace ember {

namespace {

// One line per difference (see state_dict_differences).
std::vector<std::string> state_dict_problems(const NamedTensors& expected, const NamedTensors& loaded, bool strict) {
  std::unordered_map<std::string, const Tensor*> expected_by_name, loaded_by_name;
  for (const auto& [name, t] : expected) expected_by_name.emplace(name, &t);
  for (const auto& [name, t] : loaded) loaded_by_name.emplace(name, &t);
  auto describe = [](const Tensor& t) {
    return t.defined() ? shape_str(t.shape()) + " " + dtype_name(t.dtype()) : std::string("undefined");
  };

  std::vector<std::string> problems;
  for (const auto& [name, t] : expected) {
    auto it = loaded_by_name.find(name);
    if (it == loaded_by_name.end()) {
      if (strict) problems.push_back("missing: \"" + name + "\" (model has " + describe(t) + ")");
      continue;
    }
    const Tensor& other = *it->second;
    if (!t.defined() || !other.defined()) {
      if (t.defined() != other.defined())
        problems.push_back("\"" + name + "\": model has " + describe(t) + ", loaded " + describe(other));
      continue;
    }
    if (t.shape() != other.shape())
      problems.push_back("shape mismatch: \"" + name + "\": model has " + shape_str(t.shape()) + ", loaded " +
                         shape_str(other.shape()));
    if (t.dtype() != other.dtype())
      problems.push_back("dtype mismatch: \"" + name + "\": model has " + dtype_name(t.dtype()) + ", loaded " +
                         dtype_name(other.dtype()));
  }
  if (strict)
    for (const auto& [name, t] : loaded)
      if (!expected_by_name.count(name))
        problems.push_back("unexpected: \"" + name + "\" (loaded " + describe(t) + ", the model has no such tensor)");
  return problems;
}

}  // namespace

std::vector<std::string> missing_names(const NamedTensors& expected, const NamedTensors& loaded) {
  std::unordered_map<std::string, int> in_loaded;
  for (const auto& entry : loaded) in_loaded.emplace(entry.first, 0);
  std::vector<std::string> out;
  for (const auto& entry : expected)
    if (!in_loaded.count(entry.first)) out.push_back(entry.first);
  return out;
}

std::vector<std::string> unexpected_names(const NamedTensors& expected, const NamedTensors& loaded) {
  return missing_names(loaded, expected);
}

std::string state_dict_differences(const NamedTensors& expected, const NamedTensors& loaded, bool strict) {
  std::string text;
  for (const std::string& p : state_dict_problems(expected, loaded, strict)) text += (text.empty() ? "" : "\n") + p;
  return text;
}

void check_state_dict_compatible(const NamedTensors& expected, const NamedTensors& loaded, bool strict,
                                 const std::string& context) {
  std::vector<std::string> problems = state_dict_problems(expected, loaded, strict);
  if (problems.empty()) return;
  std::string lines;  // one problem per line, indented under the headline
  for (const std::string& p : problems) lines += "\n  " + p;
  fail(context, ": state dict does not match the model (", problems.size(),
       problems.size() == 1 ? " problem" : " problems", "):", lines);
}

}  // namespace ember
