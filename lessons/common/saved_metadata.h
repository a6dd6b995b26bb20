#pragma once
// Reading back what a lesson saved beside its weights (a checkpoint's metadata: settings, epoch,
// history, normalisation), so that a missing or edited entry is an error naming the lesson, the
// file and the key - never std::map::at or std::stod.
//
//   const double epoch = saved_number(info.extra, "epoch", path, "mnist");
//   // "mnist: runs/mnist/checkpoint.safetensors: metadata "epoch" = "x" is not a finite number"
#include <string>

#include "core/safetensors.h"  // Metadata

namespace ember {

// The text under `key`; an error when the file has no such entry.
const std::string& saved_text(const Metadata& metadata, const std::string& key, const std::string& path,
                              const std::string& lesson);

// `text` (read from `key` of `path`) as a finite number, all of it.
double parse_saved_number(const std::string& text, const std::string& key, const std::string& path,
                          const std::string& lesson);

// saved_text, then parse_saved_number.
double saved_number(const Metadata& metadata, const std::string& key, const std::string& path,
                    const std::string& lesson);

}  // namespace ember
