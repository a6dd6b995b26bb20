#pragma once
// One check of a state dict against a model, used by Module::load_state_dict and by checkpoints:
// every difference is named in one error, so a student fixes them all at once.
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ember {

// Tensors by name, in a fixed order (what a Module's state_dict() gives, and what a file holds).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Compares what a model expects (`expected`, e.g. its state_dict()) with what was loaded, and
// describes EVERY difference: names missing from `loaded`, names in `loaded` the model does not
// have, and tensors whose shape or dtype differ (both shown). An empty string means compatible.
// With strict = false, missing and unexpected names are allowed (shape/dtype differences are not).
std::string state_dict_differences(const NamedTensors& expected, const NamedTensors& loaded, bool strict = true);

// Throws Error("<context>: state dict does not match the model: ...") listing every difference
// from state_dict_differences, one per line. A Module's load_state_dict calls this before copying.
void check_state_dict_compatible(const NamedTensors& expected, const NamedTensors& loaded, bool strict = true,
                                 const std::string& context = "load_state_dict");

// The names of `expected` missing from `loaded`, and the names of `loaded` that `expected` lacks,
// each in their own order (what load_state_dict(strict = false) reports it skipped).
std::vector<std::string> missing_names(const NamedTensors& expected, const NamedTensors& loaded);
std::vector<std::string> unexpected_names(const NamedTensors& expected, const NamedTensors& loaded);

}  // namespace ember
