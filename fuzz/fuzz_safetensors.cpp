// safetensors files (core/safetensors.cpp). A file that loads is saved again and loaded back:
// the same names, shapes, dtypes and bytes must come out.
#include <cstring>

#include "core/error.h"
#include "core/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ember_fuzz::write_input("input.safetensors", data, size);
  ember::SafetensorsFile file;
  try {
    file = ember::load_safetensors(path);
  } catch (const ember::Error&) {
    return 0;
  }
  const std::string again = ember_fuzz::scratch_folder() + "/again.safetensors";
  try {
    ember::save_safetensors(again, file.tensors, file.metadata);
  } catch (const ember::Error&) {
    return 0;  // e.g. a name that is not valid UTF-8 is refused by the writer
  }
  ember::SafetensorsFile back = ember::load_safetensors(again);  // must load: an Error here is a finding
  if (back.tensors.size() != file.tensors.size() || back.metadata != file.metadata) std::abort();
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const ember::Tensor &a = file.tensors[i].second, &b = back.tensors[i].second;
    if (back.tensors[i].first != file.tensors[i].first || a.shape() != b.shape() || a.dtype() != b.dtype() ||
        std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) != 0)
      std::abort();
  }
  return 0;
}
