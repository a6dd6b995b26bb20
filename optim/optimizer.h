#pragma once
// Optimizers: what happens to the parameters once backward() has filled their gradients.
//
//   AdamW opt(parameters, {.lr = 1e-3, .beta2 = 0.99, .weight_decay = 0.1});
//   for (int64_t it = 0; it < iters; ++it) {
//     opt.zero_grad();
//     Tensor loss = ...;
//     loss.backward();
//     opt.step();                       // p <- p - lr * (the optimizer's update), in place
//   }
//
// Parameter groups (as PyTorch's param_groups): the parameters can be split into groups that use
// different settings, e.g. no weight decay on biases. A group names its tensors and any setting
// that differs from the optimizer's defaults; unset settings are filled in when the optimizer is
// built, so afterwards every group has every value:
//
//   std::vector<ParamGroup> groups = {
//       {.params = {w1, w2}},                                   // the defaults
//       {.params = {b1, b2}, .weight_decay = 0.0},              // no decay here
//       {.params = {head}, .lr = 1e-2, .options = {{"momentum", 0.0}}},
//   };
//
// Options particular to one optimizer (SGD's momentum, Adam's beta2...) are named numbers in
// `options`, like the keys of a PyTorch param_group dict; a misspelt name is an error.
//
// State: per parameter, the optimizer keeps buffers (SGD: momentum_buffer; Adam: exp_avg and
// exp_avg_sq) and a step count. They are made on the parameter's first update and reused after
// that: a step allocates nothing. state_dict()/load_state_dict() save and restore all of it, so a
// run resumed from a checkpoint continues with exactly the same numbers (see optim/checkpoint.h).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"

namespace ember {

struct ParamGroup {
  std::vector<Tensor> params = {};
  std::optional<double> lr = std::nullopt;            // unset: the optimizer's default
  std::optional<double> weight_decay = std::nullopt;  // unset: the optimizer's default
  std::map<std::string, double> options = {};         // optimizer-specific ("momentum", "beta2", ...)

  double option(const std::string& name) const;  // throws naming the option if absent
};

// What an optimizer remembers about one parameter.
struct ParamState {
  int64_t step = 0;                       // how many updates this parameter has had
  std::map<std::string, Tensor> buffers;  // e.g. "exp_avg" -> tensor shaped like the parameter
};

// An optimizer's state as plain data, for checkpoints. Parameters are numbered 0, 1, 2, ... across
// all groups in order (as PyTorch does), and names use these numbers:
//   tensors: "state.<i>.<buffer>"  e.g. "state.0.exp_avg"
//   scalars: "state.<i>.step", "group.<g>.lr", "group.<g>.weight_decay", "group.<g>.<option>",
//            "group.<g>.num_params"
struct OptimizerState {
  std::string type;  // "sgd", "adam", "adamw": loading into another kind of optimizer is an error
  NamedTensors tensors;
  std::map<std::string, double> scalars;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient (parameters without one are skipped and
  // their step count does not advance). Runs under NoGradGuard, in place.
  void step();

  // Forgets the gradients. set_to_none = true (PyTorch's default) drops them, and the next
  // backward() makes new ones; false fills them with zeros so backward() adds into the same memory.
  void zero_grad(bool set_to_none = true);

  // Sets the learning rate of every group (what a schedule does each iteration).
  void set_lr(double lr);
  double lr() const;  // the learning rate of the first group

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // The state of a parameter, by its number across all groups (see OptimizerState).
  const ParamState& state(int64_t param_index) const;
  int64_t num_params() const;
  const std::string& name() const { return name_; }

  OptimizerState state_dict() const;
  // Restores what state_dict() returned: buffers are copied (never shared with `state`), group
  // settings overwritten. The parameters must be the same number, order and shapes.
  void load_state_dict(const OptimizerState& state);

 protected:
  // name: "sgd", "adam"...; defaults: lr, weight decay and every option this optimizer knows.
  Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr, double default_weight_decay,
            std::map<std::string, double> default_options);

  // Updates one parameter in place from its gradient. state.step has already been incremented
  // (it is 1 on the first update). Creates the parameter's buffers on first use.
  virtual void update(const ParamGroup& group, Tensor& param, const Tensor& grad, ParamState& state) = 0;
  // The buffer names update() makes, so load_state_dict can refuse anything else.
  virtual std::vector<std::string> buffer_names() const = 0;
  // Checks a buffer that load_state_dict is about to restore, beyond its shape and finiteness
  // (Adam: exp_avg_sq is a mean of squares, never negative). `key` names it in the error.
  virtual void check_loaded_buffer(const std::string& key, const std::string& buffer, const Tensor& value) const;
  // Checks one group's settings (e.g. 0 <= beta < 1), throwing an Error that names the optimizer
  // and the group. step() calls it for every group, so settings edited by hand are checked too.
  virtual void check_group(const ParamGroup& group, size_t group_index) const = 0;
  // Calls check_group on every group; derived constructors call this (a base constructor cannot
  // call a derived class's virtual function).
  void check_groups() const;

 private:
  std::string name_;
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<ParamState>> state_;  // [group][parameter in group]
};

// The flat index of the first NaN or infinite element of a float tensor, or -1 when all are finite
// (and for tensors that are not float). Used to refuse damaged checkpoints.
int64_t first_non_finite(const Tensor& t);

// nanoGPT's split: weights with 2 or more dimensions (linear and conv weights, embeddings) get
// weight decay; 1-D tensors (biases, LayerNorm/BatchNorm weights) and scalars get none.
// Returns two groups, {decayed, weight_decay} then {not decayed, 0}; either may be empty.
std::vector<ParamGroup> param_groups_no_decay_for_1d(const NamedTensors& named_params, double weight_decay);

}  // namespace ember
