#pragma once
// Shared by the libFuzzer harnesses: a scratch folder in /dev/shm (memory, not the disk) for the
// loaders that read files, one per fuzzing process.
//
// A harness calls the real loader on the fuzzer's bytes. ember::Error is the normal answer to bad
// input; anything else - a crash, a sanitizer report, another exception escaping, a hang, a huge
// allocation - is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace ember_fuzz {

inline const std::string& scratch_folder() {
  static const std::string folder = [] {
    std::string f = "/dev/shm/ember-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(f);
    return f;
  }();
  return folder;
}

// Writes the bytes to `name` in the scratch folder (plainly: this is test input, not a save).
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_folder() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace ember_fuzz
