#include "datasets/cifar10.h"

#include <algorithm>
#include <memory>

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

  // First the sizes: the total number of records sizes the tensors. Every file is opened here
  // (a folder, a device or a FIFO in its place is refused) and read from the same handle below.
  std::vector<std::unique_ptr<InputFile>> files;
  int64_t n = 0;
  for (const std::string& path : paths) {
    check(file_exists(path), "cifar10: ", path, " not found. Download \"CIFAR-10 binary version\" ",
          "(cifar-10-binary.tar.gz) from the CIFAR-10 page (https://www.cs.toronto.edu/~kriz/cifar.html) and ",
          "extract it so that ", dir, "/ holds data_batch_1.bin ... data_batch_5.bin and test_batch.bin:",
          " mkdir -p ", dir, " && tar xzf cifar-10-binary.tar.gz --strip-components=1 -C ", dir);
    files.push_back(std::make_unique<InputFile>(path, "cifar10"));
    const int64_t size = static_cast<int64_t>(files.back()->size());
    check(size > 0, "cifar10: ", path, " is empty (0 bytes): the download or the extraction was cut short");
    check(size % kRecord == 0, "cifar10: ", path, " has ", size, " bytes, which is not a multiple of ", kRecord,
          " (1 label byte + 3072 pixel bytes per image): the file is truncated or not the binary version",
          " (the last record starts at offset ", size / kRecord * kRecord, " and has only ", size % kRecord,
          " bytes)");
    n += size / kRecord;
  }

  Cifar10Data data;
  data.class_names = cifar10_class_names();
  data.images = Tensor::empty({n, 3, 32, 32}, DType::Float32);
  data.labels = Tensor::empty({n}, DType::Int64);
  float* images = data.images.data<float>();
  int64_t* labels = data.labels.data<int64_t>();

  // Then the records, one file at a time (the six files are 180 MB together), 1,000 records per read.
  int64_t i = 0;  // the example being filled
  std::vector<uint8_t> block;
  for (const auto& file : files) {
    const int64_t records = static_cast<int64_t>(file->size()) / kRecord;
    for (int64_t first = 0; first < records; first += 1000) {
      const int64_t count = std::min<int64_t>(1000, records - first);
      block.resize(static_cast<size_t>(count * kRecord));
      file->read_at(static_cast<uint64_t>(first * kRecord), block.data(), block.size());
      for (int64_t r = 0; r < count; ++r, ++i) {
        const uint8_t* record = block.data() + r * kRecord;
        check(record[0] < 10, "cifar10: record ", first + r, " of ", file->path(), " has label ", int(record[0]),
              ", expected 0..9 (the label byte at offset ", (first + r) * kRecord,
              "): is this the CIFAR-100 or the Python version?");
        labels[i] = record[0];
        pixels_to_floats(record + 1, kPixels, images + i * kPixels);
      }
    }
  }
  return data;
}

}  // namespace ember
