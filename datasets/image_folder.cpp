// ImageFolder (see image_folder.h): list the class folders, read and resize every image, split.
#include "datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <system_error>

#include "core/ops.h"
#include "core/random.h"
#include "datasets/transforms.h"

namespace ember {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* ext : {".png", ".jpg", ".jpeg", ".bmp", ".gif"}) {
    const std::string e = ext;
    if (lower.size() > e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

// The names of the entries of `dir` that are folders (want_dirs) or image files, sorted.
std::vector<std::string> list(const std::string& dir, bool want_dirs) {
  std::vector<std::string> names;
  std::error_code error;
  fs::directory_iterator it(dir, error);
  check(!error, "image_folder: cannot list ", dir, ": ", error.message());
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_error;
    if (want_dirs ? entry.is_directory(type_error) : entry.is_regular_file(type_error) && is_image_name(name))
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The image files of each class folder under `dir`: files[c] for class_names[c].
std::vector<std::vector<std::string>> list_classes(const std::string& dir, std::vector<std::string>& class_names) {
  class_names = list(dir, /*want_dirs=*/true);
  check(!class_names.empty(), "image_folder: ", dir,
        " has no class folders: expected one sub-folder per class (", dir, "/cat/1.jpg, ", dir,
        "/dog/1.jpg, ...), or train/ and test/ folders of them");
  std::vector<std::vector<std::string>> files;
  for (const std::string& name : class_names) {
    std::vector<std::string> paths;
    for (const std::string& file : list(dir + "/" + name, /*want_dirs=*/false)) paths.push_back(dir + "/" + name + "/" + file);
    check(!paths.empty(), "image_folder: the class folder ", dir, "/", name,
          " has no images (.png, .jpg, .jpeg, .bmp or .gif files directly inside it)");
    files.push_back(std::move(paths));
  }
  return files;
}

// Reads the images of every class; unreadable ones are an error or (skip_bad_images) recorded in
// `skipped` and left out of the returned lists.
struct LoadedClass {
  std::vector<std::string> files;
  std::vector<Tensor> images;  // [C, height, width] each
};
std::vector<LoadedClass> read_classes(const std::vector<std::vector<std::string>>& files,
                                      const ImageFolderOptions& options, std::vector<std::string>& skipped) {
  std::vector<LoadedClass> out(files.size());
  for (size_t c = 0; c < files.size(); ++c)
    for (const std::string& path : files[c]) {
      Tensor image;
      try {
        image = load_image_tensor(path, options.height, options.width, options.channels);
      } catch (const Error& e) {
        if (!options.skip_bad_images)
          fail("image_folder: ", e.what(), " (set skip_bad_images to leave such files out with a warning)");
        skipped.push_back(e.what());
        continue;
      }
      out[c].files.push_back(path);
      out[c].images.push_back(image);
    }
  return out;
}

// Stacks the chosen examples of every class into one ImageSet; chosen[c] are indices into
// classes[c], in the order they are wanted.
ImageSet make_set(const std::vector<LoadedClass>& classes, const std::vector<std::vector<size_t>>& chosen,
                  const std::vector<std::string>& class_names, const std::string& where) {
  ImageSet set;
  set.class_names = class_names;
  std::vector<Tensor> images;
  std::vector<int64_t> labels;
  for (size_t c = 0; c < classes.size(); ++c)
    for (size_t i : chosen[c]) {
      images.push_back(classes[c].images[i]);
      labels.push_back(static_cast<int64_t>(c));
      set.files.push_back(classes[c].files[i]);
    }
  check(!images.empty(), "image_folder: no readable images in ", where);
  set.images = stack(images, 0);
  set.labels = Tensor::from_vector(labels, {static_cast<int64_t>(labels.size())});
  return set;
}

std::vector<std::vector<size_t>> all_of(const std::vector<LoadedClass>& classes) {
  std::vector<std::vector<size_t>> chosen(classes.size());
  for (size_t c = 0; c < classes.size(); ++c)
    for (size_t i = 0; i < classes[c].images.size(); ++i) chosen[c].push_back(i);
  return chosen;
}

void warn_skipped(const std::string& root, const std::vector<std::string>& skipped) {
  if (skipped.empty()) return;
  std::cerr << "image_folder: warning: skipped " << skipped.size() << " unreadable image"
            << (skipped.size() == 1 ? "" : "s") << " in " << root << " (first: " << skipped.front() << ")\n";
}

}  // namespace

Tensor image_to_tensor(const Image& image) {
  check(image.width > 0 && image.height > 0 && image.channels >= 1 && image.channels <= 4 &&
            image.pixels.size() == static_cast<size_t>(image.width) * image.height * image.channels,
        "image_to_tensor: an image of ", image.width, "x", image.height, "x", image.channels, " with ",
        image.pixels.size(), " bytes");
  const int64_t H = image.height, W = image.width, C = image.channels;
  Tensor out = Tensor::empty({C, H, W}, DType::Float32);
  float* dst = out.data<float>();
  // stb gives [H, W, C] (each pixel's channels side by side); the engine wants [C, H, W]
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < H * W; ++j) dst[c * H * W + j] = image.pixels[j * C + c] / 255.0f;
  return out;
}

Tensor load_image_tensor(const std::string& path, int64_t height, int64_t width, int64_t channels) {
  check(channels == 1 || channels == 3, "load_image_tensor: channels must be 1 (grey) or 3 (RGB), got ", channels,
        " (for ", path, ")");
  check(height > 0 && width > 0 && height <= 65536 && width <= 65536,
        "load_image_tensor: the size must be from 1x1 to 65536x65536, got ", height, "x", width, " (for ", path, ")");
  Tensor image = image_to_tensor(load_image(path, static_cast<int>(channels)));
  if (image.size(1) == height && image.size(2) == width) return image;
  return resize(image, height, width);
}

ImageFolderData load_image_folder(const std::string& root, const ImageFolderOptions& options) {
  check(options.channels == 1 || options.channels == 3, "image_folder: channels must be 1 (grey) or 3 (RGB), got ",
        options.channels);
  check(options.height > 0 && options.width > 0 && options.height <= 65536 && options.width <= 65536,
        "image_folder: height and width must be from 1 to 65536, got ", options.height, "x", options.width);
  std::error_code error;
  check(fs::is_directory(root, error), "image_folder: ", root, " is not a folder");

  ImageFolderData data;
  const std::string train_dir = root + "/train", test_dir = root + "/test";
  if (fs::is_directory(train_dir, error) && fs::is_directory(test_dir, error)) {
    // ---- already split ----
    data.had_train_test_folders = true;
    std::vector<std::string> train_names, test_names;
    const auto train_files = list_classes(train_dir, train_names);
    const auto test_files = list_classes(test_dir, test_names);
    if (train_names != test_names) {
      std::string only_train, only_test;
      for (const std::string& n : train_names)
        if (!std::binary_search(test_names.begin(), test_names.end(), n)) only_train += " " + n;
      for (const std::string& n : test_names)
        if (!std::binary_search(train_names.begin(), train_names.end(), n)) only_test += " " + n;
      fail("image_folder: ", train_dir, " and ", test_dir, " must have the same class folders; only in train:",
           only_train.empty() ? " (none)" : only_train, "; only in test:", only_test.empty() ? " (none)" : only_test);
    }
    const auto train = read_classes(train_files, options, data.skipped);
    const auto test = read_classes(test_files, options, data.skipped);
    data.train = make_set(train, all_of(train), train_names, train_dir);
    data.test = make_set(test, all_of(test), test_names, test_dir);
    warn_skipped(root, data.skipped);
    return data;
  }

  // ---- one folder of classes: split each class ----
  check(options.test_fraction > 0 && options.test_fraction < 1, "image_folder: test_fraction must be in (0, 1), got ",
        options.test_fraction, " (", root, " has no train/ and test/ folders, so it is split)");
  std::vector<std::string> class_names;
  const auto classes = read_classes(list_classes(root, class_names), options, data.skipped);
  Generator gen(options.seed);
  std::vector<std::vector<size_t>> train_chosen(classes.size()), test_chosen(classes.size());
  for (size_t c = 0; c < classes.size(); ++c) {
    const size_t n = classes[c].images.size();
    check(n >= 2, "image_folder: the class ", class_names[c], " (", root, "/", class_names[c], ") has ", n,
          " readable image", n == 1 ? "" : "s", "; a split needs at least 2, one for train and one for test");
    // Fisher-Yates shuffle of 0..n-1, then the first n_test go to test
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    for (size_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.randint(0, static_cast<int64_t>(i) + 1)]);
    const size_t n_test =
        std::clamp<size_t>(static_cast<size_t>(std::llround(options.test_fraction * static_cast<double>(n))), 1, n - 1);
    test_chosen[c].assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
    train_chosen[c].assign(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end());
    std::sort(test_chosen[c].begin(), test_chosen[c].end());  // back in file-name order
    std::sort(train_chosen[c].begin(), train_chosen[c].end());
  }
  data.train = make_set(classes, train_chosen, class_names, root);
  data.test = make_set(classes, test_chosen, class_names, root);
  warn_skipped(root, data.skipped);
  return data;
}

}  // namespace ember
