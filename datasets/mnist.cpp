#include "datasets/mnist.h"

#include "datasets/idx.h"
#include "core/fs.h"

namespace ember {

const std::vector<std::string>& mnist_class_names() {
  static const std::vector<std::string> names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

namespace {

// "train-images-idx3-ubyte" for (Train, "images", 3)
std::string file_stem(Split split, const char* what, int ndim) {
  return std::string(split == Split::Train ? "train" : "t10k") + "-" + what + "-idx" + std::to_string(ndim) + "-ubyte";
}

// The path of the raw or the .gz file, whichever exists; "" when neither does.
std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem, stem + ".gz"})
    if (file_exists(dir + "/" + name)) return dir + "/" + name;
  return "";
}

MnistData load(const std::string& dataset, const std::string& dir, Split split,
               const std::vector<std::string>& class_names, const std::string& hint) {
  check(split == Split::Train || split == Split::Test, dataset, ": there is no ", split_name(split),
        " split, only train and test (hold out part of train for validation)");
  const std::string image_stem = file_stem(split, "images", 3), label_stem = file_stem(split, "labels", 1);
  const std::string image_path = find_file(dir, image_stem), label_path = find_file(dir, label_stem);
  for (const auto& [path, stem] : {std::pair{image_path, image_stem}, std::pair{label_path, label_stem}})
    check(!path.empty(), dataset, ": ", split_name(split), " split not found: looked for ", stem, " and ", stem,
          ".gz in ", dir, "/. ", hint);

  IdxFile images = read_idx(image_path, 3);
  IdxFile labels = read_idx(label_path, 1);
  const int64_t n = images.dims[0];
  check(images.dims[1] == 28 && images.dims[2] == 28, dataset, ": ", image_path, " holds images of size ",
        shape_str({images.dims[1], images.dims[2]}), ", expected [28, 28]");
  check(labels.dims[0] == n, dataset, ": ", image_path, " has ", n, " images but ", label_path, " has ", labels.dims[0],
        " labels");

  MnistData data;
  data.name = dataset;
  data.class_names = class_names;
  data.images = Tensor::empty({n, 1, 28, 28}, DType::Float32);
  pixels_to_floats(images.bytes.data(), n * 28 * 28, data.images.data<float>());
  data.labels = Tensor::empty({n}, DType::Int64);
  int64_t* pl = data.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    check(labels.bytes[i] < class_names.size(), dataset, ": label ", int(labels.bytes[i]), " of example ", i, " in ",
          label_path, " is not a class (0..", class_names.size() - 1, ")");
    pl[i] = labels.bytes[i];
  }
  return data;
}

}  // namespace

MnistData load_mnist(const std::string& dir, Split split) {
  return load("MNIST", dir, split, mnist_class_names(),
              "Run scripts/get_mnist.sh to fetch the digits into data/mnist/, or use load_fashion_mnist().");
}

MnistData load_fashion_mnist(Split split, const std::string& dir) {
  return load("Fashion-MNIST", dir, split, fashion_mnist_class_names(),
              "Install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist).");
}

bool has_mnist(const std::string& dir) {
  for (Split split : {Split::Train, Split::Test})
    for (auto [what, ndim] : {std::pair{"images", 3}, std::pair{"labels", 1}})
      if (find_file(dir, file_stem(split, what, ndim)).empty()) return false;
  return true;
}

}  // namespace ember
