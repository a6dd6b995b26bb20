// The Optimizer base: parameter groups, the step loop, zero_grad, learning rates, and saving and
// restoring state. The update rules themselves live in sgd.cpp, adam.cpp and adamw.cpp.
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_set>

#include "core/autograd.h"

namespace ember {

double ParamGroup::option(const std::string& name) const {
  auto it = options.find(name);
  check(it != options.end(), "param group: no option \"", name, "\"");
  return it->second;
}

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr,
                     double default_weight_decay, std::map<std::string, double> default_options)
    : name_(std::move(name)), groups_(std::move(groups)) {
  std::string known;
  for (const auto& [key, value] : default_options) known += (known.empty() ? "" : ", ") + key;

  std::unordered_set<const TensorImpl*> seen;
  int64_t total = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& group = groups_[g];
    // Fill in what the group leaves unset; from here on every group has every setting.
    if (!group.lr) group.lr = default_lr;
    if (!group.weight_decay) group.weight_decay = default_weight_decay;
    for (const auto& [key, value] : group.options)
      check(default_options.count(key) > 0, name_, ": param group ", g, " has an unknown option \"", key, "\" (",
            name_, " knows: ", known.empty() ? "none" : known, ")");
    for (const auto& [key, value] : default_options) group.options.emplace(key, value);  // keeps the group's own

    for (size_t k = 0; k < group.params.size(); ++k) {
      const Tensor& p = group.params[k];
      check(p.defined(), name_, ": param group ", g, ", parameter ", k, " is undefined");
      check(is_floating(p.dtype()), name_, ": param group ", g, ", parameter ", k, " ", shape_str(p.shape()),
            " is ", dtype_name(p.dtype()), "; only float tensors can be optimized");
      check(p.is_leaf(), name_, ": param group ", g, ", parameter ", k, " ", shape_str(p.shape()),
            " is the result of an op, not a leaf; optimize the tensors you created (or detach() it)");
      check(seen.insert(p.impl()).second, name_, ": param group ", g, ", parameter ", k, " ", shape_str(p.shape()),
            " appears more than once in the optimizer's parameters");
      ++total;
    }
    state_.emplace_back(group.params.size());
  }
  check(total > 0, name_, ": got an empty parameter list");
}

void Optimizer::check_groups() const {
  for (size_t g = 0; g < groups_.size(); ++g) check_group(groups_[g], g);
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& group = groups_[g];
    check_group(group, g);
    check(group.params.size() == state_[g].size(), name_, ": param group ", g, " had ", state_[g].size(),
          " parameters when the optimizer was built and has ", group.params.size(),
          " now; build a new optimizer instead of changing its groups' tensors");
    for (size_t k = 0; k < group.params.size(); ++k) {
      Tensor& param = group.params[k];
      Tensor grad = param.grad();
      if (!grad.defined()) continue;  // not used in this backward, or frozen
      check(grad.shape() == param.shape() && grad.dtype() == param.dtype(), name_, ": gradient ",
            shape_str(grad.shape()), " ", dtype_name(grad.dtype()), " does not match parameter ",
            shape_str(param.shape()), " ", dtype_name(param.dtype()), " (param group ", g, ", parameter ", k, ")");
      ParamState& state = state_[g][k];
      ++state.step;
      update(group, param, grad, state);
    }
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (ParamGroup& group : groups_)
    for (Tensor& param : group.params) {
      if (set_to_none) {
        param.zero_grad();
      } else {
        Tensor grad = param.grad();
        if (grad.defined()) grad.fill_(0.0);
      }
    }
}

void Optimizer::set_lr(double lr) {
  check(std::isfinite(lr) && lr >= 0, name_, ": learning rate must be a finite number >= 0, got ", lr);
  for (ParamGroup& group : groups_) group.lr = lr;
}

double Optimizer::lr() const { return *groups_.front().lr; }

int64_t Optimizer::num_params() const {
  int64_t n = 0;
  for (const ParamGroup& group : groups_) n += static_cast<int64_t>(group.params.size());
  return n;
}

const ParamState& Optimizer::state(int64_t param_index) const {
  check(param_index >= 0 && param_index < num_params(), name_, ": parameter ", param_index,
        " does not exist (the optimizer has ", num_params(), ")");
  int64_t i = param_index;
  for (size_t g = 0;; ++g) {
    if (i < static_cast<int64_t>(state_[g].size())) return state_[g][i];
    i -= static_cast<int64_t>(state_[g].size());
  }
}

// ---- saving and restoring -------------------------------------------------------------------------

OptimizerState Optimizer::state_dict() const {
  OptimizerState out;
  out.type = name_;
  int64_t index = 0;  // parameters numbered across all groups
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    const std::string prefix = "group." + std::to_string(g) + ".";
    out.scalars[prefix + "lr"] = *group.lr;
    out.scalars[prefix + "weight_decay"] = *group.weight_decay;
    out.scalars[prefix + "num_params"] = static_cast<double>(group.params.size());
    for (const auto& [key, value] : group.options) out.scalars[prefix + key] = value;
    for (size_t k = 0; k < group.params.size(); ++k, ++index) {
      const ParamState& s = state_[g][k];
      if (s.step == 0) continue;  // never updated: nothing to remember
      const std::string state_prefix = "state." + std::to_string(index) + ".";
      out.scalars[state_prefix + "step"] = static_cast<double>(s.step);
      // detach() shares memory with the optimizer (as PyTorch's state_dict does); clone to keep a copy
      for (const auto& [buffer, t] : s.buffers) out.tensors.emplace_back(state_prefix + buffer, t.detach());
    }
  }
  return out;
}

namespace {

// Step counts are saved as doubles; every whole number up to 2^53 has an exact double.
constexpr double kLargestExactStep = 9007199254740992.0;  // 2^53

// "state.12.exp_avg" with prefix "state." -> index 12, rest "exp_avg". False if it does not fit.
bool split_indexed_name(const std::string& name, const std::string& prefix, int64_t& index, std::string& rest) {
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot + 1 == name.size()) return false;
  const std::string digits = name.substr(prefix.size(), dot - prefix.size());
  if (digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  index = std::stoll(digits);
  rest = name.substr(dot + 1);
  return true;
}

}  // namespace

void Optimizer::load_state_dict(const OptimizerState& saved) {
  const std::string where = name_ + ": load_state_dict: ";
  check(saved.type == name_, where, "the state was saved by '", saved.type, "', this optimizer is '", name_, "'");

  // Where parameter number i lives: (group, index in group).
  std::vector<std::pair<size_t, size_t>> location;
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t k = 0; k < groups_[g].params.size(); ++k) location.emplace_back(g, k);
  const int64_t total = static_cast<int64_t>(location.size());

  // Build everything aside first, so that a bad state leaves the optimizer as it was.
  std::vector<ParamGroup> groups = groups_;
  std::vector<std::vector<ParamState>> state(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) state[g].resize(groups_[g].params.size());

  for (const auto& [key, value] : saved.scalars) {
    int64_t index = 0;
    std::string rest;
    if (split_indexed_name(key, "group.", index, rest)) {
      check(index < static_cast<int64_t>(groups.size()), where, "\"", key,
            "\": the state has more param groups than the ", groups.size(), " of this optimizer");
      ParamGroup& group = groups[index];
      if (rest == "lr") {
        group.lr = value;
      } else if (rest == "weight_decay") {
        group.weight_decay = value;
      } else if (rest == "num_params") {
        check(value == static_cast<double>(group.params.size()), where, "param group ", index, " was saved with ",
              value, " parameters, this optimizer's has ", group.params.size());
      } else {
        check(group.options.count(rest) > 0, where, "\"", key, "\": ", name_, " has no option \"", rest, "\"");
        group.options[rest] = value;
      }
    } else if (split_indexed_name(key, "state.", index, rest) && rest == "step") {
      check(index < total, where, "\"", key, "\" is for parameter ", index, ", but the optimizer has ", total);
      // A whole number that a double holds exactly (below 2^53): checked before the conversion to
      // int64, which is undefined for inf, NaN or anything beyond 2^63.
      check(value >= 0 && value <= kLargestExactStep && value == std::floor(value), where, "\"", key,
            "\" must be a whole number from 0 to 2^53, got ", value);
      auto [g, k] = location[index];
      state[g][k].step = static_cast<int64_t>(value);
    } else {
      fail(where, "unknown scalar \"", key, "\"");
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string prefix = "group." + std::to_string(g) + ".";
    check(saved.scalars.count(prefix + "num_params") > 0, where, "the state has no param group ", g,
          " (this optimizer has ", groups.size(), ")");
    check(saved.scalars.count(prefix + "lr") > 0 && saved.scalars.count(prefix + "weight_decay") > 0, where,
          "param group ", g, " lacks its lr or weight_decay");
  }

  const std::vector<std::string> known = buffer_names();
  for (const auto& [key, t] : saved.tensors) {
    int64_t index = 0;
    std::string buffer;
    check(split_indexed_name(key, "state.", index, buffer), where, "unknown tensor \"", key,
          "\" (expected state.<parameter>.<buffer>)");
    check(index < total, where, "\"", key, "\" is for parameter ", index, ", but the optimizer has ", total);
    check(std::find(known.begin(), known.end(), buffer) != known.end(), where, "\"", key, "\": ", name_,
          " has no buffer called \"", buffer, "\"");
    auto [g, k] = location[index];
    const Tensor& param = groups[g].params[k];
    check(t.defined() && t.shape() == param.shape() && t.dtype() == param.dtype(), where, "\"", key, "\" is ",
          t.defined() ? shape_str(t.shape()) + " " + dtype_name(t.dtype()) : std::string("undefined"),
          " but parameter ", index, " is ", shape_str(param.shape()), " ", dtype_name(param.dtype()));
    check(state[g][k].step > 0, where, "\"", key, "\" has a buffer but no \"state.", index, ".step\"");
    Tensor copy = Tensor::empty(param.shape(), param.dtype());
    copy.copy_(t);  // our own memory: later steps must not write into the caller's tensors
    if (const int64_t bad = first_non_finite(copy); bad >= 0)
      fail(where, "\"", key, "\" holds ", copy.reshape({-1}).slice(0, bad, bad + 1).item(), " at element ", bad,
           ": an optimizer state must be finite (the saved state is damaged)");
    check_loaded_buffer(key, buffer, copy);
    // the state lives where its parameter does: checked above on the CPU, then moved
    state[g][k].buffers[buffer] = copy.to(param.device());
  }

  for (size_t g = 0; g < groups.size(); ++g) check_group(groups[g], g);

  groups_ = std::move(groups);
  state_ = std::move(state);
}

void Optimizer::check_loaded_buffer(const std::string&, const std::string&, const Tensor&) const {}

// ---- helpers --------------------------------------------------------------------------------------

int64_t first_non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype())) return -1;
  int64_t found = -1;
  dispatch_float(t.dtype(), "first_non_finite", [&](auto tag) {
    using T = decltype(tag);
    const T* values = t.data<T>();
    const int64_t n = t.numel();
    for (int64_t i = 0; i < n && found < 0; ++i)
      if (!std::isfinite(values[i])) found = i;
  });
  return found;
}

std::vector<ParamGroup> param_groups_no_decay_for_1d(const NamedTensors& named_params, double weight_decay) {
  ParamGroup decay, no_decay;
  decay.weight_decay = weight_decay;
  no_decay.weight_decay = 0.0;
  for (const auto& [name, p] : named_params) {
    check(p.defined(), "param_groups_no_decay_for_1d: parameter \"", name, "\" is undefined");
    if (p.dim() >= 2) decay.params.push_back(p);
    else no_decay.params.push_back(p);
  }
  return {decay, no_decay};
}

}  // namespace ember
