#pragma once
// Module: the base class of every layer and every model, as in PyTorch.
//
// A module owns three kinds of things, each registered under a name:
//   parameters - tensors that training changes (weight, bias); they require grad
//   buffers    - tensors that are state but not trained (BatchNorm's running_mean); saved in
//                state_dict() and converted by to(), but never given to an optimizer
//   children   - sub-modules (a Sequential's layers, a ResNet block's convolutions)
// Names nest with dots: the weight of the first layer of a child "features" is "features.0.weight".
// (A name may itself contain a dot, "h.0", as long as the dotted names stay unique; state_dict()
// throws on a clash.)
//
// Writing a layer: derive from Module, register what it owns in the constructor, override
// forward(), type_name() and extra_repr():
//
//   class Scale : public Module {
//    public:
//     explicit Scale(int64_t d) { alpha = register_parameter("alpha", Tensor::ones({d})); }
//     Tensor forward(const Tensor& x) override { return x * alpha; }
//     std::string type_name() const override { return "Scale"; }
//     Tensor alpha;
//   };
//
// Call a module with operator() (model(x)), not forward(x): operator() is where summary() sees
// each layer's output shape and where an error learns which layer it came from. A module's forward
// calls its children the same way: (*conv1)(x).
//
// Modules are not copyable: they are shared through std::shared_ptr (the tensors inside would be
// shared anyway). To copy a model, build a new one and load the old one's state_dict() into it.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ember {

// name -> tensor, in the order the model registered them (the order parameters() uses).
class StateDict {
 public:
  using Entry = std::pair<std::string, Tensor>;

  void insert(const std::string& name, const Tensor& t);  // throws when the name is already there
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  const Tensor& at(const std::string& name) const;         // throws naming the key when absent
  Tensor& at(const std::string& name);
  size_t size() const { return entries_.size(); }
  std::vector<std::string> keys() const;

  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
  std::map<std::string, size_t> index_;  // name -> position in entries_
};

// What load_state_dict(dict, strict=false) skipped: keys the model has and the dict lacks, and
// keys the dict has and the model lacks (e.g. the old head, when reusing a backbone).
struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

// One row of Module::summary(): a leaf module called during the forward pass.
struct LayerInfo {
  std::string path;        // dotted name in the model ("features.0"); empty for the model itself
  std::string type;        // "Conv2d"
  Shape output_shape;      // what the call returned
  int64_t num_params = 0;  // elements in the module's own parameters
};

// A number as extra_repr() prints it: 0.1, 1e-05, 0.5 (up to 6 significant digits).
std::string repr_number(double v);

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // ---- running it ---------------------------------------------------------------------------
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);

  // ---- names for printing --------------------------------------------------------------------
  virtual std::string type_name() const { return "Module"; }  // "Conv2d"
  virtual std::string extra_repr() const { return ""; }       // "3, 16, kernel=3, stride=1, padding=1"
  std::string name() const;                                   // "Conv2d(3, 16, kernel=3, stride=1, padding=1)"
  // The whole tree, like PyTorch's print(model):
  //   Sequential(
  //     (0): Linear(784, 100, bias=true)
  //     (1): ReLU()
  //   )
  std::string to_string() const;

  // ---- registration (called from constructors) -----------------------------------------------
  // A parameter must be a float leaf tensor; it is switched to requires_grad. Returns the tensor
  // so that a constructor can keep a handle: weight = register_parameter("weight", w).
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child, /*replace=*/false);
    return child;
  }
  // Swaps the child registered under `name` for another (a new head on a pretrained backbone).
  // A layer that also keeps the child in a member must assign that member too:
  //   fc = replace_module("fc", std::make_shared<Linear>(512, 2));
  template <typename M>
  std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child, /*replace=*/true);
    return child;
  }

  // ---- what it holds (recursive unless named otherwise) --------------------------------------
  // A tensor registered twice (shared weights) appears once, under its first name.
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Direct children only, in registration order.
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  // This module ("") and every module below it, depth first, each once.
  std::vector<std::pair<std::string, Module*>> named_modules();
  int64_t num_parameters(bool trainable_only = false) const;

  // ---- modes and training helpers ------------------------------------------------------------
  // train(true) / eval() set the mode of this module and of every module below it; Dropout and
  // BatchNorm behave differently in the two modes.
  Module& train(bool on = true);
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }
  void zero_grad();  // drops every parameter's .grad
  // Freezes (false) or unfreezes (true) every parameter below this module: a frozen parameter
  // gets no gradient, so the optimizer leaves it alone (transfer learning).
  Module& requires_grad(bool on);
  // Converts every float parameter and buffer to `dtype` in place: handles kept elsewhere (the
  // layers' own `weight` members) see the new tensor. Gradients are dropped.
  // model.to(DType::Float64) before a gradient check.
  Module& to(DType dtype);
  // Moves every parameter and buffer to `device` in place, as to(DType) does (the layers' members see
  // the moved tensors; gradients are dropped): model.to(Device::CUDA) before training on the GPU.
  // Make the optimizer after the move, or load its state: its buffers follow the parameters.
  Module& to(Device device);

  // ---- saving and loading --------------------------------------------------------------------
  // Parameters and buffers under their dotted names. The tensors share memory with the model
  // (as PyTorch's do): clone() them to keep a snapshot while training goes on.
  StateDict state_dict() const;
  // Copies the dict's tensors into the model. Checks everything first and reports every problem
  // in one error (missing keys, unexpected keys, shape and dtype mismatches); on error nothing is
  // changed. strict=false tolerates missing and unexpected keys (and returns them), never
  // mismatched shapes or dtypes.
  LoadResult load_state_dict(const StateDict& dict, bool strict = true);

  // ---- summary -------------------------------------------------------------------------------
  // Runs one forward pass on zeros of `input_shape` (in eval mode, without recording a graph,
  // restoring every module's mode afterwards) and lists each leaf module in the order it ran,
  // with its output shape and parameter count. input_dtype defaults to the parameters' dtype
  // (Float32 for a model without parameters); pass Int64 for a model that starts with Embedding.
  std::vector<LayerInfo> trace_layers(const Shape& input_shape, std::optional<DType> input_dtype = std::nullopt);
  // The same as a table, like Keras' model.summary():
  //   Layer (type)          Output Shape       Param #
  //   =================================================
  //   0 (Conv2d)            [1, 32, 28, 28]        320
  //   ...
  //   Total params: 25,010
  std::string summary(const Shape& input_shape, std::optional<DType> input_dtype = std::nullopt);

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> child, bool replace);
  void check_new_name(const std::string& name, const char* what) const;
  void collect_named_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out);
  void collect_state(const std::string& prefix, StateDict& out) const;
  void collect_named(const std::string& prefix, bool want_parameters,
                     std::vector<std::pair<std::string, Tensor>>& out) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;  // this module's own, in registration order
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace ember
