#include "datasets/cifar10.h"

#include <filesystem>

#include "core/fs.h"

namespace ember {

namespace {
constexpr int64_t kPixels = 3 * 32 * 32;  // 3072: the R, G and B planes of one image
constexpr int64_t kRecord = 1 + kPixels;  // 3073: the label byte, then the pixels
}  // namespace

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

Cifar10Data load_cifar10(const std::string& dir, Split split) {
  check(split == Split::Train || split == Split::Test, "cifar10: there is no ", split_name(split),
        " split, only train and test (hold out part of train for validation)");
  std::vector<std::string> paths;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) paths.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  } else {
    paths.push_back(dir + "/test_batch.bin");
  }

  // First the sizes: the total number of records sizes the tensors.
  std::vector<int64_t> records(paths.size());
  int64_t n = 0;
  for (size_t f = 0; f < paths.size(); ++f) {
    const std::string& path = paths[f];
    check(file_exists(path), "cifar10: ", path, " not found. Download \"CIFAR-10 binary version\" ",
          "(cifar-10-binary.tar.gz) from the CIFAR-10 page (https://www.cs.toronto.edu/~kriz/cifar.html) and ",
          "extract it so that ", dir, "/ holds data_batch_1.bin ... data_batch_5.bin and test_batch.bin:",
          " mkdir -p ", dir, " && tar xzf cifar-10-binary.tar.gz --strip-components=1 -C ", dir);
    const int64_t size = static_cast<int64_t>(std::filesystem::file_size(path));
    check(size % kRecord == 0, "cifar10: ", path, " has ", size, " bytes, which is not a multiple of ", kRecord,
          " (1 label byte + 3072 pixel bytes per image): the file is truncated or not the binary version");
    records[f] = size / kRecord;
    n += records[f];
  }

  Cifar10Data data;
  data.class_names = cifar10_class_names();
  data.images = Tensor::empty({n, 3, 32, 32}, DType::Float32);
  data.labels = Tensor::empty({n}, DType::Int64);
  float* images = data.images.data<float>();
  int64_t* labels = data.labels.data<int64_t>();

  // Then the records, one file at a time (the six files are 180 MB together).
  int64_t i = 0;  // the example being filled
  for (size_t f = 0; f < paths.size(); ++f) {
    const std::string file = read_file(paths[f]);
    check(static_cast<int64_t>(file.size()) == records[f] * kRecord, "cifar10: ", paths[f],
          " changed size while it was being read");
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(file.data());
    for (int64_t r = 0; r < records[f]; ++r, ++i) {
      const uint8_t* record = bytes + r * kRecord;
      check(record[0] < 10, "cifar10: record ", r, " of ", paths[f], " has label ", int(record[0]),
            ", expected 0..9: is this the CIFAR-100 or the Python version?");
      labels[i] = record[0];
      pixels_to_floats(record + 1, kPixels, images + i * kPixels);
    }
  }
  return data;
}

}  // namespace ember
