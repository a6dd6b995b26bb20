// Module: registration, recursive traversal, modes, state_dict, and the summary table.
// See module.h for what each call means; this file is the bookkeeping behind it.
#include "layers/module.h"

#include "core/state_dict_check.h"

#include <algorithm>
#include <array>
#include <iomanip>
#include <sstream>
#include <unordered_set>

#include "core/autograd.h"

namespace ember {

// ---- StateDict -----------------------------------------------------------------------------------

void StateDict::insert(const std::string& name, const Tensor& t) {
  check(!contains(name), "StateDict: key '", name, "' is already present");
  index_[name] = entries_.size();
  entries_.push_back({name, t});
}

const Tensor& StateDict::at(const std::string& name) const {
  auto it = index_.find(name);
  check(it != index_.end(), "StateDict: no key '", name, "'");
  return entries_[it->second].second;
}

Tensor& StateDict::at(const std::string& name) {
  auto it = index_.find(name);
  check(it != index_.end(), "StateDict: no key '", name, "'");
  return entries_[it->second].second;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) out.push_back(e.first);
  return out;
}

// ---- calling a module ----------------------------------------------------------------------------

namespace {

// The module calls in progress on this thread. operator() keeps it; trace_layers() reads it.
struct CallState {
  int depth = 0;                     // open operator() calls: 1 inside the outermost model
  const Module* failed = nullptr;    // the innermost module whose forward threw
  std::vector<std::pair<const Module*, Shape>>* trace = nullptr;  // set while trace_layers() runs
};
thread_local CallState call_state;

// "features.3" for a module inside `root`, or "" when it is root itself or not registered in it.
std::string path_of(Module& root, const Module* target) {
  for (const auto& [path, m] : root.named_modules())
    if (m == target) return path;
  return "";
}

}  // namespace

Tensor Module::operator()(const Tensor& x) {
  CallState& state = call_state;
  if (state.depth == 0) state.failed = nullptr;
  // one more open call now, one fewer however this function ends (return or exception)
  struct OpenCall {
    int& depth;
    explicit OpenCall(int& d) : depth(d) { ++depth; }
    ~OpenCall() { --depth; }
  } open_call(state.depth);

  Tensor y;
  try {
    y = forward(x);
  } catch (const Error& e) {
    if (!state.failed) state.failed = this;  // the innermost module that failed
    if (state.depth > 1) throw;              // the outermost module adds where it happened
    // The op's message names the op and the shapes; add which layer of the model ran it.
    std::string path = path_of(*this, state.failed);
    std::string where = path.empty() ? state.failed->name() : path + ": " + state.failed->name();
    state.failed = nullptr;
    throw Error(std::string(e.what()) + "\n  in module " + where);
  }
  state.failed = nullptr;  // an error that a forward caught and handled is forgotten
  check(y.defined(), name(), ": forward returned an undefined tensor");
  if (state.trace && children_.empty()) state.trace->push_back({this, y.shape()});
  return y;
}

// ---- names ---------------------------------------------------------------------------------------

std::string repr_number(double v) {
  std::ostringstream os;
  os << std::setprecision(6) << v;
  return os.str();
}

std::string Module::name() const { return type_name() + "(" + extra_repr() + ")"; }

std::string Module::to_string() const {
  if (children_.empty()) return name();
  std::string s = type_name() + "(\n";
  if (!extra_repr().empty()) s += "  " + extra_repr() + "\n";
  for (const auto& [child_name, child] : children_) {
    // a child that has children of its own spans several lines: indent them all
    std::string text = child->to_string();
    std::string indented;
    for (char c : text) {
      indented += c;
      if (c == '\n') indented += "  ";
    }
    s += "  (" + child_name + "): " + indented + "\n";
  }
  return s + ")";
}

// ---- registration --------------------------------------------------------------------------------

void Module::check_new_name(const std::string& name, const char* what) const {
  check(!name.empty(), type_name(), ".", what, ": the name is empty");
  // A dot inside a name is allowed ("h.0", to match another framework's checkpoint names), but
  // not an empty level: ".x", "x." and "x..y" could never be told apart in a dotted name.
  check(name.front() != '.' && name.back() != '.' && name.find("..") == std::string::npos, type_name(), ".", what,
        "(\"", name, "\"): a name may not start or end with '.' or contain '..'");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
  };
  check(!taken(parameters_) && !taken(buffers_) && !taken(children_), type_name(), ".", what, "(\"", name,
        "\"): the name is already used in this module");
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name, "register_parameter");
  check(t.defined(), type_name(), ".register_parameter(\"", name, "\"): the tensor is undefined");
  check(is_floating(t.dtype()), type_name(), ".register_parameter(\"", name, "\"): a parameter must be float32 or ",
        "float64, got ", dtype_name(t.dtype()));
  check(t.is_leaf(), type_name(), ".register_parameter(\"", name, "\"): a parameter must be a leaf tensor, not the ",
        "result of an op; pass t.detach()");
  t.requires_grad_(true);
  parameters_.push_back({name, t});
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name, "register_buffer");
  check(t.defined(), type_name(), ".register_buffer(\"", name, "\"): the tensor is undefined");
  check(!t.requires_grad(), type_name(), ".register_buffer(\"", name, "\"): a buffer is not trained; it must not ",
        "require grad (register it as a parameter instead)");
  buffers_.push_back({name, t});
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child, bool replace) {
  const char* what = replace ? "replace_module" : "register_module";
  check(child != nullptr, type_name(), ".", what, "(\"", name, "\"): the module is null");
  check(child.get() != this, type_name(), ".", what, "(\"", name, "\"): a module cannot be its own child");
  if (replace) {
    for (auto& entry : children_) {
      if (entry.first == name) {
        entry.second = std::move(child);
        return;
      }
    }
    fail(type_name(), ".replace_module(\"", name, "\"): there is no child of that name");
  }
  check_new_name(name, what);
  children_.push_back({name, std::move(child)});
}

// ---- traversal -----------------------------------------------------------------------------------

void Module::collect_named_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out) {
  for (const auto& entry : out)
    if (entry.second == this) return;  // registered twice: list it once
  out.push_back({prefix, this});
  for (const auto& [name, child] : children_)
    child->collect_named_modules(prefix.empty() ? name : prefix + "." + name, out);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  collect_named_modules("", out);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& entry : children_) out.push_back(entry.second);
  return out;
}

// Own tensors first, then each child's, depth first: the order PyTorch uses.
void Module::collect_named(const std::string& prefix, bool want_parameters,
                           std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : want_parameters ? parameters_ : buffers_) out.push_back({prefix + name, t});
  for (const auto& [name, child] : children_) child->collect_named(prefix + name + ".", want_parameters, out);
}

namespace {
// Keeps the first occurrence of each tensor (shared weights are one parameter, not two).
std::vector<std::pair<std::string, Tensor>> unique_tensors(const std::vector<std::pair<std::string, Tensor>>& all) {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& entry : all)
    if (seen.insert(entry.second.impl()).second) out.push_back(entry);
  return out;
}
}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect_named("", /*want_parameters=*/true, all);
  return unique_tensors(all);
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect_named("", /*want_parameters=*/false, all);
  return unique_tensors(all);
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (const auto& entry : named_parameters()) out.push_back(entry.second);
  return out;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const Tensor& p : parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

// ---- modes and training helpers ------------------------------------------------------------------

Module& Module::train(bool on) {
  for (const auto& entry : named_modules()) entry.second->training_ = on;
  return *this;
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

Module& Module::requires_grad(bool on) {
  for (Tensor& p : parameters()) p.requires_grad_(on);
  return *this;
}

namespace {
// Gives the tensor behind `t` new memory of another dtype. Every handle to the same TensorImpl
// (the registry's and the layer's member) sees the change, which is why this edits the impl
// rather than making a new tensor.
void convert_in_place(const Tensor& t, DType dtype) {
  if (!is_floating(t.dtype()) || t.dtype() == dtype) return;
  Tensor converted = t.detach().to(dtype);
  TensorImpl* impl = t.impl();
  impl->storage = converted.impl()->storage;
  impl->offset = converted.impl()->offset;
  impl->dtype = dtype;
  impl->grad.reset();
}

// The same for a device: new memory on `device` holding the same numbers.
void move_in_place(const Tensor& t, Device device) {
  if (t.device() == device) return;
  Tensor moved = t.detach().to(device);
  TensorImpl* impl = t.impl();
  impl->storage = moved.impl()->storage;
  impl->offset = moved.impl()->offset;
  impl->grad.reset();
}
}  // namespace

Module& Module::to(DType dtype) {
  check(is_floating(dtype), type_name(), ".to: parameters are float tensors; convert to float32 or float64, not ",
        dtype_name(dtype));
  for (const auto& entry : named_modules()) {
    for (const auto& p : entry.second->parameters_) convert_in_place(p.second, dtype);
    for (const auto& b : entry.second->buffers_) convert_in_place(b.second, dtype);
  }
  return *this;
}

Module& Module::to(Device device) {
  for (const auto& entry : named_modules()) {
    for (const auto& p : entry.second->parameters_) move_in_place(p.second, device);
    for (const auto& b : entry.second->buffers_) move_in_place(b.second, device);
  }
  return *this;
}

// ---- saving and loading --------------------------------------------------------------------------

void Module::collect_state(const std::string& prefix, StateDict& out) const {
  for (const auto& [name, t] : parameters_) out.insert(prefix + name, t.detach());
  for (const auto& [name, t] : buffers_) out.insert(prefix + name, t.detach());
  for (const auto& [name, child] : children_) child->collect_state(prefix + name + ".", out);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state("", out);
  return out;
}

namespace {
NamedTensors entries_of(const StateDict& dict) { return NamedTensors(dict.begin(), dict.end()); }
}  // namespace

LoadResult Module::load_state_dict(const StateDict& dict, bool strict) {
  StateDict own = state_dict();
  const NamedTensors expected = entries_of(own), loaded = entries_of(dict);
  // Every problem in one message (core/state_dict_check.h), so a student fixes them all at once;
  // on error nothing has been copied.
  check_state_dict_compatible(expected, loaded, strict, "load_state_dict into " + type_name());

  NoGradGuard no_grad;
  for (const auto& [key, mine] : own) {
    if (!dict.contains(key)) continue;
    Tensor target = mine;
    target.copy_(dict.at(key));
  }
  return LoadResult{missing_names(expected, loaded), unexpected_names(expected, loaded)};
}

// ---- summary -------------------------------------------------------------------------------------

std::vector<LayerInfo> Module::trace_layers(const Shape& input_shape, std::optional<DType> input_dtype) {
  std::vector<std::pair<std::string, Module*>> modules = named_modules();
  std::vector<Tensor> params = parameters();
  DType dtype = input_dtype ? *input_dtype : (params.empty() ? DType::Float32 : params.front().dtype());

  // Run in eval mode (BatchNorm must not update its running statistics on a batch of zeros) and
  // put every module's own mode back afterwards, also when the forward throws.
  struct RestoreModes {
    std::vector<std::pair<Module*, bool>> modes;
    std::vector<std::pair<const Module*, Shape>>* previous_trace;
    ~RestoreModes() {
      for (const auto& [m, training] : modes) m->training_ = training;
      call_state.trace = previous_trace;
    }
  } restore{{}, call_state.trace};
  for (const auto& entry : modules) restore.modes.push_back({entry.second, entry.second->training_});

  std::vector<std::pair<const Module*, Shape>> calls;
  call_state.trace = &calls;
  eval();
  {
    NoGradGuard no_grad;
    (*this)(Tensor::zeros(input_shape, dtype));
  }

  std::vector<LayerInfo> rows;
  for (const auto& [module, shape] : calls) {
    LayerInfo row;
    row.path = path_of(*this, module);
    row.type = module->type_name();
    row.output_shape = shape;
    for (const auto& p : module->parameters_) row.num_params += p.second.numel();
    rows.push_back(row);
  }
  return rows;
}

namespace {
// 1234567 -> "1,234,567"
std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string pad_right(const std::string& s, size_t width) {
  return s + std::string(width - std::min(width, s.size()), ' ');
}
std::string pad_left(const std::string& s, size_t width) {
  return std::string(width - std::min(width, s.size()), ' ') + s;
}
}  // namespace

std::string Module::summary(const Shape& input_shape, std::optional<DType> input_dtype) {
  std::vector<LayerInfo> rows = trace_layers(input_shape, input_dtype);

  // the table's cells first, then the column widths that fit them
  std::vector<std::array<std::string, 3>> cells;
  cells.push_back({"Layer (type)", "Output Shape", "Param #"});
  for (const LayerInfo& row : rows) {
    std::string label = row.path.empty() ? row.type : row.path + " (" + row.type + ")";
    cells.push_back({label, shape_str(row.output_shape), with_commas(row.num_params)});
  }
  size_t w0 = 0, w1 = 0, w2 = 0;
  for (const auto& c : cells) {
    w0 = std::max(w0, c[0].size());
    w1 = std::max(w1, c[1].size());
    w2 = std::max(w2, c[2].size());
  }
  const size_t gap = 4;
  const std::string rule(w0 + gap + w1 + gap + w2, '=');

  std::string s = type_name() + ", input " + shape_str(input_shape) + "\n";
  for (size_t i = 0; i < cells.size(); ++i) {
    s += pad_right(cells[i][0], w0 + gap) + pad_right(cells[i][1], w1 + gap) + pad_left(cells[i][2], w2) + "\n";
    if (i == 0) s += rule + "\n";
  }
  s += rule + "\n";
  int64_t total = num_parameters(), trainable = num_parameters(/*trainable_only=*/true);
  s += "Total params: " + with_commas(total) + "\n";
  s += "Trainable params: " + with_commas(trainable) + "\n";
  s += "Non-trainable params: " + with_commas(total - trainable) + "\n";
  return s;
}

}  // namespace ember
