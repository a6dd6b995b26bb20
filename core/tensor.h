#pragma once
// Tensor: an n-dimensional array with a shape, an element type (dtype), a device, and - when it
// takes part in training - a gradient and the graph node that produced it.
//
// Memory layout: every tensor is contiguous and row-major ("C order"). Element [i, j, k] of a
// tensor of shape [A, B, C] sits at offset + (i * B + j) * C + k of its storage. Views that keep
// this layout (reshape, slicing along dimension 0) share the storage; everything else (permute,
// transpose, slicing along another dimension) copies. This keeps every kernel a plain loop over
// memory, which is what a student wants to read in a debugger.
//
// Tensor is a cheap handle (a shared_ptr): copying a Tensor does not copy data; clone() does.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/storage.h"

namespace ember {

using Shape = std::vector<int64_t>;

struct Node;
class Generator;

// The state behind a Tensor handle. Students rarely touch it directly.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements, where this tensor starts in `storage`
  Shape shape;
  DType dtype = DType::Float32;

  // --- autograd ---
  bool requires_grad = false;           // leaves: set by the user; results: set by ops
  bool retain_grad = false;             // keep .grad on a non-leaf after backward()
  std::shared_ptr<TensorImpl> grad;     // dLoss/dThis, same shape as this tensor
  std::shared_ptr<Node> grad_fn;        // the op that produced this tensor (null for leaves)
  bool graph_freed = false;             // backward() has run through here and freed grad_fn
};

int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (like a null pointer); defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- creation -----------------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::CPU);
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = Device::CPU);
  static Tensor scalar(double value, DType dtype = DType::Float32, Device device = Device::CPU);  // shape []
  // [start, start+step, ...) up to but excluding end
  static Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Float32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape);
  // Random tensors take an explicit generator; nullptr means the global default generator,
  // which manual_seed() resets.
  static Tensor rand(const Shape& shape, Generator* gen = nullptr, DType dtype = DType::Float32);   // U[0,1)
  static Tensor randn(const Shape& shape, Generator* gen = nullptr, DType dtype = DType::Float32);  // N(0,1)
  static Tensor uniform(const Shape& shape, double low, double high, Generator* gen = nullptr,
                        DType dtype = DType::Float32);
  static Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen = nullptr);  // int64

  // ---- what it is ---------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // d may be negative: size(-1) is the last dimension
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return numel() * dtype_size(dtype()); }

  // Raw element pointers for CPU code; the type must match the dtype (checked), and the tensor
  // must be on the CPU (checked: a GPU address cannot be read here; copy with .cpu() first).
  template <typename T> T* data();
  template <typename T> const T* data() const;
  void* raw_data();
  const void* raw_data() const;
  // The same pointers wherever the memory is: for a CUDA tensor a GPU address, to hand to a kernel
  // (core/cuda_backend.h), never to read on the CPU.
  template <typename T> T* device_data();
  template <typename T> const T* device_data() const;
  void* raw_device_data();
  const void* raw_device_data() const;

  // These read values wherever the tensor is (a CUDA tensor's values are copied to the CPU first).
  double item() const;                              // the value of a one-element tensor
  double at(std::initializer_list<int64_t> index) const;  // one element, as double (for tests)
  template <typename T> std::vector<T> to_vector() const;  // all elements, converted to T

  // ---- autograd -----------------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only leaves may be switched
  Tensor grad() const;                     // undefined until backward() has reached this tensor
  void set_grad(const Tensor& g);
  void zero_grad();                        // drops .grad
  Tensor& retain_grad();                   // keep .grad of a non-leaf after backward()
  bool is_leaf() const;
  std::shared_ptr<Node> grad_fn() const;
  // Runs backpropagation from this tensor. A non-scalar tensor needs the gradient of the loss
  // with respect to it (same shape); a scalar uses 1.
  void backward(const Tensor& grad_output = Tensor()) const;
  // The same data without the history: a leaf that does not require grad.
  Tensor detach() const;

  // ---- copies and conversions ----------------------------------------------------------------
  Tensor clone() const;                 // a deep copy (differentiable)
  Tensor to(DType dtype) const;         // converted copy (differentiable between float types)
  // A copy on another device (differentiable: the gradient comes back to this one's device); the
  // tensor itself when it is already there. cuda() and cpu() are to(Device::CUDA) and to(Device::CPU).
  Tensor to(Device device) const;
  Tensor cuda() const { return to(Device::CUDA); }
  Tensor cpu() const { return to(Device::CPU); }
  // Overwrite elements in place (same shape), no autograd; between devices when the dtypes match.
  void copy_(const Tensor& src);
  void fill_(double value);             // in place, no autograd

  // ---- shape (differentiable; see core/ops/shape.cpp) ----------------------------------------
  Tensor reshape(const Shape& shape) const;  // one dimension may be -1
  Tensor view(const Shape& shape) const { return reshape(shape); }
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end) const;  // [start, end) along dim
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;

  // ---- a few ops as methods, for readability (the same as the free functions in ops.h) -------
  Tensor sum() const;
  Tensor mean() const;
  Tensor matmul(const Tensor& other) const;

  // tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], shape=[2, 3])
  std::string to_string(int64_t max_per_dim = 6) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  [[noreturn]] void fail_not_on_cpu(const char* what) const;  // the error of data() on a GPU tensor
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Normalises a possibly negative dimension index into [0, ndim); names the op in the error.
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);

// Calls f with a value of the C++ type matching a floating dtype:
//   dispatch_float(x.dtype(), "exp", [&](auto tag) { using T = decltype(tag); ... });
template <typename F>
void dispatch_float(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    default: fail(op, ": expected a float32 or float64 tensor, got ", dtype_name(dtype));
  }
}

// The same, accepting int64 too.
template <typename F>
void dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    case DType::Int64: f(int64_t{}); return;
  }
}

// ---- template definitions --------------------------------------------------------------------
template <typename T>
T* Tensor::device_data() {
  check(defined(), "data: tensor is undefined");
  check(dtype() == dtype_of<T>(), "data: tensor is ", dtype_name(dtype()), ", asked for ",
        dtype_name(dtype_of<T>()));
  return static_cast<T*>(impl_->storage->data()) + impl_->offset;
}

template <typename T>
const T* Tensor::device_data() const {
  check(defined(), "data: tensor is undefined");
  check(dtype() == dtype_of<T>(), "data: tensor is ", dtype_name(dtype()), ", asked for ",
        dtype_name(dtype_of<T>()));
  return static_cast<const T*>(impl_->storage->data()) + impl_->offset;
}

template <typename T>
T* Tensor::data() {
  T* p = device_data<T>();
  if (impl_->storage->device() != Device::CPU) [[unlikely]] fail_not_on_cpu("data");
  return p;
}

template <typename T>
const T* Tensor::data() const {
  const T* p = device_data<T>();
  if (impl_->storage->device() != Device::CPU) [[unlikely]] fail_not_on_cpu("data");
  return p;
}

}  // namespace ember
