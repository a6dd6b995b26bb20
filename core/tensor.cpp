// Tensor basics: creation, element access, conversions, and the autograd entry points.
// The ops themselves live in core/ops/.
#include "core/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <new>
#include <sstream>

#include "core/autograd.h"
#include "core/cuda_backend.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/random.h"

namespace ember {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  // A zero anywhere means no elements, even when the other dimensions multiply past int64
  // ([2^62, 2, 0] is a valid empty shape); otherwise the product must fit in int64.
  for (int64_t d : shape)
    if (d == 0) return 0;
  int64_t n = 1;
  // (numel() is called in hot loops: the message, which builds a string, only on failure)
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      fail("shape ", shape_str(shape), d < 0 ? " has a negative dimension" : " has too many elements (more than 2^63 - 1)");
  return n;
}

int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t d = dim < 0 ? dim + ndim : dim;
  check(d >= 0 && d < ndim, op, ": dimension ", dim, " is out of range for a tensor with ", ndim, " dimensions");
  return d;
}

// ---- creation ------------------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    if (d < 0) fail("empty: negative dimension in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  const size_t numel = static_cast<size_t>(shape_numel(shape));
  size_t nbytes = 0;
  check(!__builtin_mul_overflow(numel, dtype_size(dtype), &nbytes), "empty: a ", dtype_name(dtype),
        " tensor of shape ", shape_str(shape), " would need more bytes than a 64-bit size can count");
  try {
    impl->storage = std::make_shared<Storage>(nbytes, device);
  } catch (const std::bad_alloc&) {  // no memory left even for the bookkeeping around the block
    fail("cannot allocate ", format_bytes(nbytes), " for a ", dtype_name(dtype), " tensor of shape ",
         shape_str(shape), " (", nbytes, " bytes): not enough memory; a smaller setting (batch size, model "
         "width or depth) asks for less");
  } catch (const OutOfMemory& e) {
    fail("cannot allocate ", format_bytes(nbytes), " for a ", dtype_name(dtype), " tensor of shape ",
         shape_str(shape), " (", nbytes, " bytes): ", e.reason,
         "; a smaller setting (batch size, model width or depth) asks for less");
  }
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device == Device::CUDA) t.fill_(0.0);
  else std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor Tensor::arange(double start, double end, double step, DType dtype) {
  check(step != 0, "arange: step must be nonzero");
  int64_t n = static_cast<int64_t>(std::ceil((end - start) / step));
  if (n < 0) n = 0;
  Tensor t = empty({n}, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + i * step);
  });
  return t;
}

template <typename T>
static Tensor from_vector_impl(const std::vector<T>& values, const Shape& shape) {
  check(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
        " values do not fill shape ", shape_str(shape), " (", shape_numel(shape), " elements)");
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s) { return from_vector_impl(v, s); }
Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& s) { return from_vector_impl(v, s); }
Tensor Tensor::from_vector(const std::vector<int64_t>& v, const Shape& s) { return from_vector_impl(v, s); }

// Random fills are sequential on purpose: the same seed gives the same tensor for any thread count.
Tensor Tensor::uniform(const Shape& shape, double low, double high, Generator* gen, DType dtype) {
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(shape, dtype);
  dispatch_float(dtype, "uniform", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(g.uniform(low, high));
  });
  return t;
}

Tensor Tensor::rand(const Shape& shape, Generator* gen, DType dtype) { return uniform(shape, 0.0, 1.0, gen, dtype); }

Tensor Tensor::randn(const Shape& shape, Generator* gen, DType dtype) {
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(shape, dtype);
  dispatch_float(dtype, "randn", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(g.normal());
  });
  return t;
}

Tensor Tensor::randint(int64_t low, int64_t high, const Shape& shape, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  Tensor t = empty(shape, DType::Int64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = g.randint(low, high);
  return t;
}

// ---- what it is ----------------------------------------------------------------------------------

const Shape& Tensor::shape() const {
  check(defined(), "shape: tensor is undefined");
  return impl_->shape;
}

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "size")]; }

DType Tensor::dtype() const {
  check(defined(), "dtype: tensor is undefined");
  return impl_->dtype;
}

Device Tensor::device() const {
  check(defined(), "device: tensor is undefined");
  return impl_->storage->device();
}

void* Tensor::raw_device_data() {
  check(defined(), "raw_data: tensor is undefined");
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
}

const void* Tensor::raw_device_data() const {
  check(defined(), "raw_data: tensor is undefined");
  return static_cast<const char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
}

void* Tensor::raw_data() {
  void* p = raw_device_data();
  if (impl_->storage->device() != Device::CPU) fail_not_on_cpu("raw_data");
  return p;
}

const void* Tensor::raw_data() const {
  const void* p = raw_device_data();
  if (impl_->storage->device() != Device::CPU) fail_not_on_cpu("raw_data");
  return p;
}

void Tensor::fail_not_on_cpu(const char* what) const {
  fail(what, ": this ", dtype_name(dtype()), " tensor of shape ", shape_str(shape()), " is on ",
       device_name(device()), ", and CPU code cannot read GPU memory; copy it to the CPU first: t.cpu()");
}

// A CPU tensor with the same values: the tensor itself, or a copy of a GPU tensor's values.
static Tensor on_cpu(const Tensor& t) { return t.device() == Device::CPU ? t : t.detach().to(Device::CPU); }

static double element_as_double(const Tensor& t, int64_t flat) {
  double v = 0;
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    v = static_cast<double>(t.data<T>()[flat]);
  });
  return v;
}

double Tensor::item() const {
  check(numel() == 1, "item: tensor of shape ", shape_str(shape()), " has ", numel(),
        " elements; item() needs exactly one");
  return element_as_double(on_cpu(*this), 0);
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  check(static_cast<int64_t>(index.size()) == dim(), "at: ", index.size(), " indices for a tensor of shape ",
        shape_str(shape()));
  int64_t flat = 0, d = 0;
  for (int64_t i : index) {
    int64_t n = shape()[d];
    check(i >= -n && i < n, "at: index ", i, " is out of range for dimension ", d, " of size ", n);
    flat = flat * n + (i < 0 ? i + n : i);
    ++d;
  }
  return element_as_double(on_cpu(*this), flat);
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(numel());
  const Tensor host = on_cpu(*this);
  dispatch_all(dtype(), [&](auto tag) {
    using S = decltype(tag);
    const S* p = host.data<S>();
    for (int64_t i = 0; i < numel(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

// ---- autograd ------------------------------------------------------------------------------------

bool Tensor::requires_grad() const { return defined() && impl_->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  check(defined(), "requires_grad_: tensor is undefined");
  check(is_leaf(), "requires_grad_: only leaf tensors (created by the user, not by an op) can be switched; "
        "use detach() first");
  check(!on || is_floating(dtype()), "requires_grad_: only float tensors can require grad, this one is ",
        dtype_name(dtype()));
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  check(defined(), "grad: tensor is undefined");
  return impl_->grad ? Tensor(impl_->grad) : Tensor();
}

void Tensor::set_grad(const Tensor& g) {
  check(defined(), "set_grad: tensor is undefined");
  if (g.defined())
    check(g.shape() == shape() && g.dtype() == dtype(), "set_grad: gradient ", shape_str(g.shape()), " ",
          dtype_name(g.dtype()), " does not match tensor ", shape_str(shape()), " ", dtype_name(dtype()));
  impl_->grad = g.impl_ptr();
}

void Tensor::zero_grad() {
  if (defined()) impl_->grad.reset();
}

Tensor& Tensor::retain_grad() {
  check(defined(), "retain_grad: tensor is undefined");
  impl_->retain_grad = true;
  return *this;
}

bool Tensor::is_leaf() const { return defined() && !impl_->grad_fn && !impl_->graph_freed; }

std::shared_ptr<Node> Tensor::grad_fn() const { return defined() ? impl_->grad_fn : nullptr; }

void Tensor::backward(const Tensor& grad_output) const { run_backward(*this, grad_output); }

Tensor Tensor::detach() const {
  check(defined(), "detach: tensor is undefined");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

// ---- copies and conversions ----------------------------------------------------------------------

void Tensor::copy_(const Tensor& src) {
  check(defined() && src.defined(), "copy_: tensor is undefined");
  check(src.shape() == shape(), "copy_: source shape ", shape_str(src.shape()), " does not match ",
        shape_str(shape()));
  if (src.device() == Device::CUDA || device() == Device::CUDA) {
    // To, from or within the GPU: the backend copies (cudaMemcpy) or converts (a cast kernel).
    const CudaKernels& cuda = cuda_kernels();
    if (src.dtype() != dtype()) {
      check(src.device() == Device::CUDA && device() == Device::CUDA, "copy_: a ", dtype_name(src.dtype()),
            " tensor on ", device_name(src.device()), " into a ", dtype_name(dtype()), " tensor on ",
            device_name(device()), ": convert the dtype on one device first (.to(dtype)), then copy");
      if (numel() > 0) cuda.cast(dtype(), raw_device_data(), src.dtype(), src.raw_device_data(), numel());
      return;
    }
    const CopyKind kind = src.device() == Device::CPU ? CopyKind::HostToDevice
                          : device() == Device::CPU   ? CopyKind::DeviceToHost
                                                      : CopyKind::DeviceToDevice;
    if (nbytes() > 0) cuda.copy(raw_device_data(), src.raw_device_data(), nbytes(), kind);
    return;
  }
  if (src.dtype() == dtype()) {
    std::memmove(raw_data(), src.raw_data(), nbytes());
    return;
  }
  dispatch_all(dtype(), [&](auto dtag) {
    using D = decltype(dtag);
    dispatch_all(src.dtype(), [&](auto stag) {
      using S = decltype(stag);
      D* d = data<D>();
      const S* s = src.data<S>();
      for (int64_t i = 0; i < numel(); ++i) d[i] = static_cast<D>(s[i]);
    });
  });
}

void Tensor::fill_(double value) {
  if (device() == Device::CUDA) {
    if (numel() > 0) cuda_kernels().fill(dtype(), raw_device_data(), numel(), value);
    return;
  }
  dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = data<T>();
    T v = static_cast<T>(value);
    for (int64_t i = 0; i < numel(); ++i) p[i] = v;
  });
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_(*this);
  record(out, "clone", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target, device());
  out.copy_(*this);
  if (is_floating(target) && is_floating(dtype())) {
    DType source = dtype();
    record(out, "to", {*this}, [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; });
  }
  return out;
}

Tensor Tensor::to(Device target) const {
  check(defined(), "to: tensor is undefined");
  if (target == device()) return *this;
  Tensor out = empty(shape(), dtype(), target);
  out.copy_(*this);
  Device source = device();
  record(out, "to", {*this}, [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; });
  return out;
}

// ---- methods that forward to ops -----------------------------------------------------------------

Tensor Tensor::reshape(const Shape& s) const { return ember::reshape(*this, s); }
Tensor Tensor::permute(const Shape& dims) const { return ember::permute(*this, dims); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return ember::transpose(*this, d0, d1); }
Tensor Tensor::slice(int64_t d, int64_t start, int64_t end) const { return ember::slice(*this, d, start, end); }
Tensor Tensor::sum() const { return ember::sum(*this); }
Tensor Tensor::mean() const { return ember::mean(*this); }
Tensor Tensor::matmul(const Tensor& other) const { return ember::matmul(*this, other); }

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  int64_t n = dim();
  if (n == 0) return reshape({1});
  int64_t s = normalize_dim(start_dim, n, "flatten");
  int64_t e = normalize_dim(end_dim, n, "flatten");
  check(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape out;
  for (int64_t i = 0; i < s; ++i) out.push_back(shape()[i]);
  int64_t merged = 1;
  for (int64_t i = s; i <= e; ++i) merged *= shape()[i];
  out.push_back(merged);
  for (int64_t i = e + 1; i < n; ++i) out.push_back(shape()[i]);
  return reshape(out);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  int64_t pos = normalize_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(s.begin() + pos, 1);
  return reshape(s);
}

Tensor Tensor::squeeze(int64_t d) const {
  int64_t pos = normalize_dim(d, dim(), "squeeze");
  check(shape()[pos] == 1, "squeeze: dimension ", d, " has size ", shape()[pos], ", not 1, in shape ",
        shape_str(shape()));
  Shape s = shape();
  s.erase(s.begin() + pos);
  return reshape(s);
}

// ---- printing ------------------------------------------------------------------------------------
// tensor([[0.1000, 0.2000], [0.3000, 0.4000]], shape=[2, 2]); long dimensions show their first and
// last few entries with "..." between, as PyTorch does.

static void print_rec(std::ostream& os, const Tensor& t, int64_t dim, int64_t flat, int64_t max_per_dim) {
  const Shape& s = t.shape();
  if (dim == t.dim()) {
    double v = element_as_double(t, flat);
    if (t.dtype() == DType::Int64) os << static_cast<int64_t>(v);
    else os << std::setprecision(4) << std::fixed << v;
    return;
  }
  int64_t n = s[dim];
  int64_t inner = 1;
  for (int64_t i = dim + 1; i < t.dim(); ++i) inner *= s[i];
  os << "[";
  bool summarise = n > max_per_dim;
  int64_t head = summarise ? max_per_dim / 2 : n;
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && i == head) {
      os << "...";
      i = n - max_per_dim / 2;
      os << ", ";
    }
    print_rec(os, t, dim + 1, flat + i * inner, max_per_dim);
    if (i + 1 < n) os << ", ";
  }
  os << "]";
}

std::string Tensor::to_string(int64_t max_per_dim) const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(";
  // A summarised dimension shows at least its first and its last element: "[1, ..., 9]".
  print_rec(os, on_cpu(*this), 0, 0, std::max<int64_t>(max_per_dim, 2));
  os << ", shape=" << shape_str(shape());
  if (dtype() != DType::Float32) os << ", dtype=" << dtype_name(dtype());
  if (device() != Device::CPU) os << ", device=" << device_name(device());
  if (requires_grad()) os << (impl_->grad_fn ? ", grad_fn=" + impl_->grad_fn->name : ", requires_grad=true");
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace ember
