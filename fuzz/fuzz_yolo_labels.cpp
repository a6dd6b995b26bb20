// YOLO label files (datasets/yolo_folder.cpp): parse_yolo_labels on arbitrary text. The first three
// bytes choose the image width (1..256), height (1..256) and the number of classes (0..11; 0 = no
// limit), the rest is the label text. What parses must be boxes inside the image with a known
// class, and must survive yolo_label_text and a second parse (to a millionth of a pixel).
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "datasets/detection.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int64_t width = 1 + data[0], height = 1 + data[1], classes = data[2] % 12;
  const std::string text(reinterpret_cast<const char*>(data) + 3, size - 3);
  std::vector<ember::LabelledBox> boxes;
  try {
    boxes = ember::parse_yolo_labels(text, width, height, classes, "fuzz.txt");
  } catch (const ember::Error&) {
    return 0;
  }
  for (const ember::LabelledBox& b : boxes) {
    if (b.class_id < 0 || (classes > 0 && b.class_id >= classes)) std::abort();
    if (!(b.x1 >= 0 && b.x1 < b.x2 && b.x2 <= width && b.y1 >= 0 && b.y1 < b.y2 && b.y2 <= height)) std::abort();
  }
  const ember::DetectionImage image{ember::Tensor::zeros({1, height, width}), boxes, "fuzz"};
  const std::vector<ember::LabelledBox> back =
      ember::parse_yolo_labels(ember::yolo_label_text(image), width, height, classes, "again");  // an Error is a finding
  if (back.size() != boxes.size()) std::abort();
  for (size_t i = 0; i < boxes.size(); ++i) {
    const ember::LabelledBox &p = boxes[i], &q = back[i];
    if (p.class_id != q.class_id || std::abs(p.x1 - q.x1) > 1e-6 * width || std::abs(p.x2 - q.x2) > 1e-6 * width ||
        std::abs(p.y1 - q.y1) > 1e-6 * height || std::abs(p.y2 - q.y2) > 1e-6 * height)
      std::abort();
  }
  return 0;
}
