#pragma once
// safetensors: the file format PyTorch, Hugging Face and many others use for weights, read and
// written here without any library, so a student can open a checkpoint in Python (or a hex viewer)
// and see exactly what the engine saved.
//
// Layout of a file:
//
//   bytes [0, 8)          N, the header length: an unsigned 64-bit little-endian integer
//   bytes [8, 8 + N)      the header: UTF-8 JSON, padded with spaces so that N is a multiple of 8
//   bytes [8 + N, end)    the data section: every tensor's elements, raw little-endian, row-major
//
// The header is one JSON object:
//
//   {"__metadata__":{"step":"500"},
//    "fc.weight":{"dtype":"F32","shape":[10,784],"data_offsets":[0,31360]},
//    "fc.bias":{"dtype":"F32","shape":[10],"data_offsets":[31360,31400]}}
//
// data_offsets are [begin, end) in bytes, relative to the start of the data section. The optional
// "__metadata__" object maps strings to strings (and only strings). dtypes here: F32, F64, I64.
//
// What this file writes, exactly: "__metadata__" first (left out when empty), then the tensors in
// the order given, each as {"dtype":..,"shape":[..],"data_offsets":[..]}; no spaces except the
// padding; the data of the tensors back to back in the same order.
//
// A reader must never trust a file: load_safetensors checks every length, offset and size before
// it reads, and each error names the file, the byte offset and what was expected.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/state_dict_check.h"  // NamedTensors, check_state_dict_compatible
#include "core/tensor.h"

namespace ember {

// "__metadata__": free-form string keys and string values (step counts, configs, RNG states...).
using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  NamedTensors tensors;  // in the order of the file's header
  Metadata metadata;

  // The tensor called `name`; throws naming the tensor and the names that do exist.
  const Tensor& get(const std::string& name) const;
  bool contains(const std::string& name) const;
};

// Writes the tensors (float32, float64 or int64, on the CPU) and the metadata to `path`.
// Safe against crashes and full disks: the file is written under a temporary name in the same
// directory, flushed to disk (fsync), and only then renamed over `path`, so `path` holds either
// the old file or the complete new one, never half of one. Throws Error naming the path and the
// system's reason when anything fails; the temporary file is removed then.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

// Reads a whole file, checking it thoroughly (see the top of this file).
SafetensorsFile load_safetensors(const std::string& path);

// The header bytes save_safetensors writes for these tensors: JSON plus space padding, without the
// 8-byte length in front. For tests and for the curious.
std::string safetensors_header(const NamedTensors& tensors, const Metadata& metadata = {});


}  // namespace ember
