// Fashion-MNIST dressed as CIFAR-10 (see cifar_fallback.h).
#include "datasets/cifar_fallback.h"

#include <filesystem>
#include <system_error>

namespace ember {

bool has_cifar10(const std::string& dir) {
  constexpr std::uintmax_t kRecord = 1 + 3 * 32 * 32;  // the label byte and the pixels
  for (const char* name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                           "data_batch_5.bin", "test_batch.bin"}) {
    std::error_code error;
    const std::filesystem::path path = std::filesystem::path(dir) / name;
    if (!std::filesystem::is_regular_file(path, error)) return false;
    const std::uintmax_t size = std::filesystem::file_size(path, error);
    if (error || size == 0 || size % kRecord != 0) return false;
  }
  return true;
}

Cifar10Data mnist_as_cifar(const MnistData& data) {
  const Tensor& in = data.images;
  check(in.defined() && in.dtype() == DType::Float32 && in.dim() == 4 && in.size(1) == 1 && in.size(2) == 28 &&
            in.size(3) == 28,
        "mnist_as_cifar: expected float32 images [N, 1, 28, 28], got ",
        in.defined() ? shape_str(in.shape()) : std::string("an undefined tensor"));
  check(data.labels.defined() && data.labels.dim() == 1 && data.labels.size(0) == in.size(0),
        "mnist_as_cifar: ", in.size(0), " images but labels of shape ",
        data.labels.defined() ? shape_str(data.labels.shape()) : std::string("(undefined)"));
  const int64_t n = in.size(0);
  constexpr int64_t kPad = 2;  // (32 - 28) / 2 on every side

  Cifar10Data out;
  out.images = Tensor::zeros({n, 3, 32, 32}, DType::Float32);
  out.labels = data.labels.clone();
  out.class_names = data.class_names;
  const float* src = in.data<float>();
  float* dst = out.images.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* grey = src + i * 28 * 28;
    for (int64_t c = 0; c < 3; ++c) {  // R = G = B = the grey value
      float* plane = dst + (i * 3 + c) * 32 * 32;
      for (int64_t y = 0; y < 28; ++y)
        for (int64_t x = 0; x < 28; ++x) plane[(y + kPad) * 32 + (x + kPad)] = grey[y * 28 + x];
    }
  }
  return out;
}

Cifar10Data load_fashion_mnist_as_cifar(Split split, const std::string& dir) {
  return mnist_as_cifar(load_fashion_mnist(split, dir));
}

std::string cifar10_fallback_notice(const std::string& cifar_dir) {
  return "CIFAR-10 was not found in " + cifar_dir +
         "/ (scripts/get_cifar10.sh downloads it where there is internet, or says where to put the six .bin "
         "files). FALLING BACK to Fashion-MNIST (" +
         std::string(kFashionMnistDir) +
         "), padded to 32x32 and repeated to 3 channels: photos of clothes in 10 other classes, so the scores "
         "are not CIFAR-10 scores.";
}

}  // namespace ember
