// --device for the lessons (see lessons/common/device.h).
#include "lessons/common/device.h"

#include "core/cuda_backend.h"
#include "core/error.h"
#include "core/parallel.h"
#include "layers/module.h"
#include "lessons/common/number_format.h"

namespace ember {

bool is_device_setting(const std::string& setting) {
  return setting == "cpu" || setting == "cuda" || setting == "auto";
}

Device model_device(const Module& model) {
  const std::vector<Tensor> params = model.parameters();
  return params.empty() ? Device::CPU : params.front().device();
}

Device choose_device(const std::string& setting) {
  check(is_device_setting(setting), "--device must be cpu, cuda or auto, got \"", setting, "\"");
  if (setting == "cpu") return Device::CPU;
  if (setting == "auto") return cuda_is_available() ? Device::CUDA : Device::CPU;
  check(cuda_is_available(), "--device=cuda: ", cuda_unavailable_reason(),
        ". Train on the CPU with --device=cpu, or let --device=auto choose");
  return Device::CUDA;
}

std::string device_line(Device device) {
  if (device == Device::CUDA) return "device: cuda, " + cuda_device_name();
  return format_line("device: cpu (%d threads)", get_num_threads());
}

std::string memory_line(Device device) {
  if (device != Device::CUDA) return "";
  const CudaMemoryStats s = cuda_memory_stats();
  const double mib = 1024.0 * 1024.0;
  return format_line("GPU memory: %.1f MiB in use, %.1f MiB at the peak, %.1f MiB cached for reuse",
                     s.allocated_bytes / mib, s.peak_allocated_bytes / mib, s.cached_bytes / mib);
}

}  // namespace ember
