#pragma once
// Element types and devices a tensor can have.
//
//   Float32 - what training uses (fast, what BLAS and GPUs like)
//   Float64 - for gradient checks on the CPU: finite differences need the extra precision
//   Int64   - class labels and token ids
#include <cstddef>
#include <cstdint>
#include <string>

namespace ember {

enum class DType { Float32, Float64, Int64 };

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
  }
  return "?";
}

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
  }
  return 0;
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// Maps a C++ type to its DType: dtype_of<float>() == DType::Float32.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }

// Where a tensor's storage lives. Only the CPU has kernels today; the tag is the seam where the
// CUDA backend plugs in (storage allocation in storage.cpp, and each op's dispatch).
enum class Device { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

}  // namespace ember
