#pragma once
// ImageFolder: a classification dataset from a folder of photos, one sub-folder per class (the
// layout torchvision's ImageFolder reads, and what a student makes from their own photos):
//
//   flowers/                              or, already split:   flowers/
//     daisy/    001.jpg 002.png ...                               train/  daisy/ ...  tulip/ ...
//     tulip/    a.jpg b.jpg ...                                   test/   daisy/ ...  tulip/ ...
//
// - Class names are the sub-folders' names, sorted (byte order); label i is class_names[i].
//   Hidden folders (".name") are not classes.
// - Images are the files directly in a class folder whose names end in .png, .jpg, .jpeg, .bmp or
//   .gif (any case); other files (notes, .txt) are ignored. A GIF gives its first frame.
// - Each image is read with stb (datasets/image_file.h) as RGB (channels = 3) or grey (channels =
//   1; stb's grey is (77 R + 150 G + 29 B) / 256), scaled to [0, 1] and resized to height x width
//   with resize() (datasets/transforms.h: area average when shrinking, so a 4000x3000 photo does not
//   alias; bilinear when enlarging). The aspect ratio is not kept: a 4:3 photo is squeezed.
// - A folder with train/ and test/ sub-folders is used as it is (both must have the same classes).
//   Otherwise the single folder of classes is split: within each class, its files (sorted) are
//   shuffled with a Generator seeded from `seed`, and round(test_fraction * n) of them (at least 1,
//   at most n - 1) go to test, so every class is in both (a class needs 2 images). Each split lists
//   its examples class by class, files in name order.
// - A file stb cannot read is an error naming the file and stb's reason; with skip_bad_images it
//   is left out, listed in `skipped`, and one warning on stderr counts them.
//
//   ImageFolderData data = load_image_folder("photos/flowers", {.height = 64, .width = 64});
//   data.train.images  float32 [N, 3, 64, 64] in [0, 1]     data.train.labels int64 [N]
//   TensorDataset train(data.train.images, data.train.labels);
//
// Everything is read into memory at once (fine for the few thousand photos of a transfer-learning
// lesson: 3 x 64 x 64 floats are 48 KiB an image).
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "datasets/image_file.h"

namespace ember {

struct ImageFolderOptions {
  int64_t height = 32, width = 32;  // the size every image is resized to
  int64_t channels = 3;             // 3: RGB, 1: grey
  double test_fraction = 0.2;       // for a folder without train/ and test/; in (0, 1)
  uint64_t seed = 0;                // the split's shuffle
  bool skip_bad_images = false;     // false: an unreadable file is an error
};

// One split: like Cifar10Data, plus where each example came from.
struct ImageSet {
  Tensor images;                         // float32 [N, channels, height, width] in [0, 1]
  Tensor labels;                         // int64 [N]
  std::vector<std::string> class_names;  // class_names[label]
  std::vector<std::string> files;        // files[i]: the path of example i
};

struct ImageFolderData {
  ImageSet train, test;
  bool had_train_test_folders = false;  // true: root/train and root/test were used as they are
  std::vector<std::string> skipped;     // "path: stb's reason" of each file left out (skip_bad_images)
};

ImageFolderData load_image_folder(const std::string& root, const ImageFolderOptions& options = {});

// An image as a tensor: [channels, height, width] float32, byte / 255 (stb's rows-of-pixels
// layout, [H, W, C], put channel first).
Tensor image_to_tensor(const Image& image);

// One photo read, converted and resized as load_image_folder does (for classifying a single file).
Tensor load_image_tensor(const std::string& path, int64_t height, int64_t width, int64_t channels = 3);

}  // namespace ember
