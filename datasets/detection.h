#pragma once
// Object-detection data: images with labelled boxes.
//
//   DetectionSet scenes = generate_digit_scenes(source_images, source_labels, {"0", ..., "9"}, opt);
//   const DetectionImage& s = scenes.images[0];   // s.image [C, H, W] in [0, 1], s.boxes in pixels
//   write_yolo_folder("data/digit_scenes/train", scenes);        // images/*.png + labels/*.txt
//   DetectionSet again = read_yolo_folder("data/digit_scenes/train");
//
// Boxes are corners in pixels of the image they belong to: x1 <= x2, y1 <= y2, with (0, 0) the
// top-left corner of the top-left pixel and (W, H) the bottom-right corner of the image: a box
// around exactly pixel columns 3..5 has x1 = 3, x2 = 6. The YOLO text format is relative instead
// (`class cx cy w h`, each of cx, cy, w, h in [0, 1] of the image's width or height); the reader and
// writer convert.
#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "datasets/coco.h"

namespace ember {

struct LabelledBox {
  int64_t class_id = 0;   // index into DetectionSet::class_names
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // pixels, corners
};

struct DetectionImage {
  Tensor image;                      // float32 [C, H, W], values in [0, 1]
  std::vector<LabelledBox> boxes;    // may be empty (an image with no object)
  std::string name;                  // file stem, e.g. "000042" (also the COCO file_name stem)
};

struct DetectionSet {
  std::vector<std::string> class_names;
  std::vector<DetectionImage> images;
};

// ---- a scene generator from real objects (datasets/digit_scenes.cpp) ------------------------------
// Pastes real small images (MNIST digits, Fashion-MNIST items: `sources` [N, 1, h, w] or [N, h, w]
// in [0, 1], `labels` [N] int64 indexing `class_names`) onto larger canvases. Each pasted object is
// scaled (bilinear) by a random factor, placed so that it overlaps earlier objects by at most
// `max_overlap` (IoU of the boxes), and blended with max(canvas, object) so digits stay visible.
// Its box is the tight box of its ink: the pixels of the *pasted* (scaled) object above
// `ink_threshold` (so box edges always touch ink, and no ink of the object lies outside its box).
// Every draw comes from `gen`: the same sources, options and seed give the same scenes.
//
// An object that finds no place after 100 tries (a crowded canvas, a tight max_overlap) is left
// out, so a scene can hold fewer than objects_min objects; the first object of a scene always fits
// (it is shrunk to the canvas when needed). Clutter fragments (small crops of random sources) land
// outside every object's box: they are distractors, never part of an object.
//
// Train, validation and test scenes must not share source images (a digit seen in training would
// flatter the test score): generate each split from its own part of the sources, e.g.
//
//   MnistData digits = load_mnist("data/mnist", Split::Train);
//   Generator gen(0);
//   std::vector<SceneSources> parts = split_sources(digits.images, digits.labels, {0.8, 0.1, 0.1}, gen);
//   DetectionSet train = generate_digit_scenes(parts[0].images, parts[0].labels, digits.class_names, 2000, opt, gen);
//   DetectionSet val   = generate_digit_scenes(parts[1].images, parts[1].labels, digits.class_names, 200, opt, gen);
//   DetectionSet test  = generate_digit_scenes(parts[2].images, parts[2].labels, digits.class_names, 200, opt, gen);
//
// (or build the test scenes from the dataset's own test split: load_mnist(dir, Split::Test)).
struct SceneOptions {
  int64_t canvas_min = 96, canvas_max = 96;    // square canvases, side drawn in [min, max]
  int64_t objects_min = 1, objects_max = 4;    // objects per scene (0 allowed: empty scenes)
  double scale_min = 0.6, scale_max = 3.0;     // object side = source side * scale
  double max_overlap = 0.2;                    // IoU between any two boxes of a scene
  double ink_threshold = 0.25;                 // a pixel is ink when its value > this
  double noise = 0.0;                          // std of Gaussian background noise (clipped to [0,1])
  int64_t clutter = 0;                         // small fragments of other sources pasted as clutter
  int64_t channels = 1;                        // 1 (grey) or 3 (grey repeated)
};
DetectionSet generate_digit_scenes(const Tensor& sources, const Tensor& labels,
                                   const std::vector<std::string>& class_names, int64_t count,
                                   const SceneOptions& options, Generator& gen);

// Source images and their labels: one part of a dataset.
struct SceneSources {
  Tensor images;  // [n, 1, h, w] (or [n, h, w], as given)
  Tensor labels;  // int64 [n]
};
// Shuffles the N images (with `gen`) and cuts them into disjoint parts of round(fraction * N)
// images each, in the order given; the fractions must be positive and add up to at most 1 (what
// is left over is unused). Every image lands in at most one part, with its own label.
std::vector<SceneSources> split_sources(const Tensor& images, const Tensor& labels,
                                        const std::vector<double>& fractions, Generator& gen);

// ---- YOLO folders (datasets/yolo_folder.cpp) ------------------------------------------------------
// A folder with images/ (PNG, JPEG, BMP, GIF; read with stb_image) and labels/ (one NAME.txt per
// image NAME.png, one line per object: `class cx cy w h`, relative; an image without a label file
// has no objects). Class names come from `names.txt` (one per line) or from a data.yaml's `names:`
// (a list `[a, b]` or one `- name` per line) in the folder or its parent. A bad label line is an
// error naming the file and the line number.
DetectionSet read_yolo_folder(const std::string& folder, int64_t channels = 0 /* 0: as stored */);
// Writes images/NAME.png (pixels rounded to 1/255), labels/NAME.txt and names.txt.
void write_yolo_folder(const std::string& folder, const DetectionSet& set);
// One label file's text, and its parse (for tests and fuzzing; `source` names it in errors).
std::string yolo_label_text(const DetectionImage& image);
std::vector<LabelledBox> parse_yolo_labels(const std::string& text, int64_t width, int64_t height,
                                           int64_t num_classes, const std::string& source);

// The set as a COCO ground-truth file (datasets/coco.h), with the ids every tool here uses:
//   image id    = index in set.images + 1         file_name = name + ".png"
//   category id = class_id + 1                    (COCO ids start at 1; name = class_names[class_id])
//   annotation  = one per box, ids 1, 2, ... in order; bbox = [x1, y1, x2 - x1, y2 - y1],
//                 area = (x2 - x1) * (y2 - y1) (the box: these objects have no masks), iscrowd 0
CocoInstances coco_instances_from(const DetectionSet& set);
// A split on disk: write_yolo_folder(folder, set), plus folder/instances.json
// (coco_instances_from) when `coco_json` is true (the test split, for metrics/programs/coco_eval).
void write_detection_split(const std::string& folder, const DetectionSet& set, bool coco_json);

// ---- augmentation that moves the boxes with the pixels (datasets/detection_transforms.cpp) --------
// Each returns a new image of the same size; a box that leaves the image is clipped, and dropped
// when less than `min_visible` of its area is left. Pixels that come from outside the image are 0.
struct DetectionAugment {
  double flip_probability = 0.0;   // horizontal flip (0 for digits: a mirrored 2 is no 2)
  double scale_min = 1.0, scale_max = 1.0;       // zoom about the centre (> 1 zooms in: a crop)
  double translate = 0.0;          // shift by up to this fraction of the side, in x and y (whole pixels)
  double min_visible = 0.5;
};
// Draws, in this order and always (so the stream of `gen` does not depend on the settings): a flip
// (uniform() < flip_probability), a scale in [scale_min, scale_max], a shift in x and one in y in
// [-translate, translate] * side, rounded to whole pixels; then applies them with move_detection.
DetectionImage augment_detection(const DetectionImage& in, const DetectionAugment& aug, Generator& gen);

// The geometric move itself: flip about the vertical centre line (x -> W - x), then zoom by `scale`
// about the image centre (x -> (x - W/2) * scale + W/2), then shift by (dx, dy) pixels. A box
// [x1, y1, x2, y2] goes where its corners go; pixels are resampled bilinearly (exact copies when
// scale is 1 and the shift is whole pixels). For example on a 100 x 100 image:
//   flip:          [10, 20, 30, 40] -> [70, 20, 90, 40]
//   scale 2:       [40, 40, 60, 60] -> [30, 30, 70, 70]
//   dx 5, dy -3:   [10, 20, 30, 40] -> [15, 17, 35, 37]
struct DetectionMove {
  bool flip = false;
  double scale = 1.0;
  double dx = 0.0, dy = 0.0;
};
DetectionImage move_detection(const DetectionImage& in, const DetectionMove& move, double min_visible = 0.5);

}  // namespace ember
