#pragma once
// --device=cpu|cuda|auto for the lessons: which device trains, and what to print about it.
//
//   Device device = choose_device(cfg.get_string("device"));   // "cuda" without a GPU: an error saying why
//   model->to(device);                                          // before the optimizer is made
//   std::cout << device_line(device) << "\n";                   // "device: NVIDIA H100 ... (sm_90, 79.1 GiB)"
//   ... batch.images.to(device) ...
//   std::cout << memory_line(device) << "\n";                   // GPU memory in use and at its peak
#include <string>

#include "core/dtype.h"

namespace ember {

class Module;

// "cpu" (the default of every lesson), "cuda" (an error naming the reason when no GPU can be used:
// cuda_unavailable_reason()), or "auto" (the GPU when one can be used, else the CPU).
Device choose_device(const std::string& setting);
// "cpu (2 threads)" or "cuda: NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)".
std::string device_line(Device device);
// For the GPU: "GPU memory: 312.4 MiB in use, 1.2 GiB at the peak, 840.0 MiB cached"; empty on the CPU.
std::string memory_line(Device device);
// Where a model's parameters are (the CPU for a model without any): where its inputs must go.
Device model_device(const Module& model);
// The allowed values, for a lesson's settings check.
bool is_device_setting(const std::string& setting);

}  // namespace ember
