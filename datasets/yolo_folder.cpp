// YOLO folders (images/ + labels/ + names.txt or data.yaml) and the COCO ground truth of a
// DetectionSet (detection.h).
//
// A label line is `class cx cy w h`: the class index, then the box's centre and size as fractions of
// the image's width (cx, w) and height (cy, h). In pixels (W x H image):
//   x1 = (cx - w / 2) * W    x2 = (cx + w / 2) * W    y1 = (cy - h / 2) * H    y2 = (cy + h / 2) * H
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "datasets/detection.h"
#include "datasets/image_file.h"

namespace ember {

namespace {

namespace fs = std::filesystem;

// How far (as a fraction of the side) a box may poke out of the image before its line is an error:
// writers that round to 6 decimals produce 1.0000005 for a box that touches the right edge.
constexpr double kEdgeTolerance = 1e-3;

// Shortest text that reads back as exactly `v` (std::to_chars), e.g. "0.3125".
std::string exact_number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  check(ec == std::errc(), "yolo: cannot format ", v);
  return std::string(buf, end);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) fields.push_back(line.substr(i, j - i));
    i = j;
  }
  return fields;
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// A line as it goes into an error message: at most 80 characters, control bytes shown as '?'.
std::string quoted(const std::string& line) {
  std::string shown = line.substr(0, 80);
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '?';
  return "'" + shown + (line.size() > 80 ? "...'" : "'");
}

bool whole_number(const std::string& s, int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool finite_number(const std::string& s, double& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

// ---- class names -------------------------------------------------------------------------------

// "'a b'" or "\"a b\"" -> a b
std::string unquote(std::string s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string> names_from_txt(const std::string& path) {
  std::vector<std::string> names;
  for (const std::string& line : split_lines(read_file(path))) names.push_back(trim(line));
  while (!names.empty() && names.back().empty()) names.pop_back();
  for (size_t i = 0; i < names.size(); ++i)
    check(!names[i].empty(), "yolo: ", path, ":", i + 1, ": empty class name");
  return names;
}

// data.yaml's `names:` in the three layouts YOLO tools write:
//   names: [zero, one, 'two']       names:            names:
//                                     - zero            0: zero
//                                     - one             1: one
std::vector<std::string> names_from_yaml(const std::string& path) {
  const std::vector<std::string> lines = split_lines(read_file(path));
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string line = trim(lines[i]);
    if (line.rfind("names:", 0) != 0) continue;
    std::string rest = trim(line.substr(6));
    std::vector<std::string> names;
    if (!rest.empty()) {  // flow style: [a, b, c]
      check(rest.front() == '[' && rest.back() == ']', "yolo: ", path, ":", i + 1,
            ": 'names:' must be followed by a list [a, b, ...] or by one '- name' per line, got ", quoted(rest));
      std::string inside = rest.substr(1, rest.size() - 2);
      size_t start = 0;
      while (start <= inside.size() && !trim(inside).empty()) {
        size_t comma = inside.find(',', start);
        if (comma == std::string::npos) comma = inside.size();
        names.push_back(unquote(inside.substr(start, comma - start)));
        start = comma + 1;
      }
    } else {  // block style: indented "- name" or "k: name" lines
      std::map<int64_t, std::string> numbered;
      for (size_t j = i + 1; j < lines.size(); ++j) {
        const std::string item = trim(lines[j]);
        if (item.empty() || item[0] == '#') continue;
        if (!std::isspace(static_cast<unsigned char>(lines[j][0]))) break;  // the next top-level key
        if (item[0] == '-') {
          names.push_back(unquote(item.substr(1)));
          continue;
        }
        const size_t colon = item.find(':');
        int64_t k = 0;
        check(colon != std::string::npos && whole_number(trim(item.substr(0, colon)), k) && k >= 0, "yolo: ", path,
              ":", j + 1, ": expected '- name' or 'index: name' under 'names:', got ", quoted(item));
        numbered[k] = unquote(item.substr(colon + 1));
      }
      int64_t expected = 0;
      for (const auto& [k, name] : numbered) {
        check(k == expected, "yolo: ", path, ": class ", expected, " is missing from 'names:'");
        names.push_back(name);
        ++expected;
      }
    }
    for (size_t k = 0; k < names.size(); ++k)
      check(!names[k].empty(), "yolo: ", path, ":", i + 1, ": class name ", k, " is empty");
    return names;
  }
  fail("yolo: ", path, ": no 'names:' key");
}

// names.txt or data.yaml, in the folder or its parent (the usual layout is dataset/data.yaml with
// dataset/train/, dataset/val/). Empty when there is none of them.
std::vector<std::string> find_class_names(const std::string& folder) {
  const fs::path here(folder);
  for (const fs::path& dir : {here, here.parent_path()}) {
    if (fs::is_regular_file(dir / "names.txt")) return names_from_txt((dir / "names.txt").string());
    if (fs::is_regular_file(dir / "data.yaml")) return names_from_yaml((dir / "data.yaml").string());
  }
  return {};
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}

// [C, H, W] float in [0, 1] -> H x W x C bytes, rounded to the nearest 1/255.
std::vector<uint8_t> image_bytes(const Tensor& image, const std::string& who) {
  check(image.defined() && image.dim() == 3 && image.size(0) >= 1 && image.size(0) <= 4 && image.size(1) > 0 &&
            image.size(2) > 0,
        who, ": image must be [C, H, W] with C in 1..4, got ", image.defined() ? shape_str(image.shape()) : "undefined");
  const Tensor f = image.dtype() == DType::Float32 ? image : image.to(DType::Float32);
  const int64_t c = f.size(0), h = f.size(1), w = f.size(2);
  std::vector<uint8_t> bytes(c * h * w);
  const float* v = f.data<float>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h * w; ++i) {
      const float x = std::isnan(v[ch * h * w + i]) ? 0.0f : std::clamp(v[ch * h * w + i], 0.0f, 1.0f);
      bytes[i * c + ch] = static_cast<uint8_t>(std::lround(x * 255.0f));
    }
  return bytes;
}

}  // namespace

// ---- label files -----------------------------------------------------------------------------------

std::string yolo_label_text(const DetectionImage& image) {
  check(image.image.defined() && image.image.dim() == 3, "yolo_label_text: image '", image.name,
        "' must be [C, H, W], got ", image.image.defined() ? shape_str(image.image.shape()) : "undefined");
  const double w = double(image.image.size(2)), h = double(image.image.size(1));
  std::string text;
  for (const LabelledBox& b : image.boxes) {
    text += std::to_string(b.class_id) + " " + exact_number((double(b.x1) + b.x2) / 2 / w) + " " +
            exact_number((double(b.y1) + b.y2) / 2 / h) + " " + exact_number((double(b.x2) - b.x1) / w) + " " +
            exact_number((double(b.y2) - b.y1) / h) + "\n";
  }
  return text;
}

std::vector<LabelledBox> parse_yolo_labels(const std::string& text, int64_t width, int64_t height,
                                           int64_t num_classes, const std::string& source) {
  check(width > 0 && height > 0, "yolo: ", source, ": image size must be positive, got ", width, "x", height);
  std::vector<LabelledBox> boxes;
  const std::vector<std::string> lines = split_lines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::vector<std::string> f = split_fields(lines[n]);
    if (f.empty()) continue;  // blank lines are allowed
    const std::string at = "yolo: " + source + ":" + std::to_string(n + 1) + ": ";
    check(f.size() == 5, at, "expected 5 fields 'class cx cy w h', got ", f.size(), ": ", quoted(lines[n]));
    int64_t class_id = 0;
    check(whole_number(f[0], class_id), at, "class must be a whole number, got ", quoted(f[0]));
    check(class_id >= 0 && (num_classes <= 0 || class_id < num_classes), at, "class ", class_id,
          " is out of range (", num_classes, " classes: 0..", num_classes - 1, ")");
    double v[4];
    const char* field_names[4] = {"cx", "cy", "w", "h"};
    for (int k = 0; k < 4; ++k)
      check(finite_number(f[k + 1], v[k]), at, field_names[k], " must be a finite number, got ", quoted(f[k + 1]));
    const double cx = v[0], cy = v[1], bw = v[2], bh = v[3];
    check(bw > 0 && bh > 0, at, "box width and height must be > 0, got w ", bw, " h ", bh);
    const double left = cx - bw / 2, right = cx + bw / 2, top = cy - bh / 2, bottom = cy + bh / 2;
    check(left >= -kEdgeTolerance && right <= 1 + kEdgeTolerance && top >= -kEdgeTolerance &&
              bottom <= 1 + kEdgeTolerance,
          at, "box [", left, ", ", top, ", ", right, ", ", bottom,
          "] (x1, y1, x2, y2 as fractions of the image) leaves the image [0, 1]");
    LabelledBox b;
    b.class_id = class_id;
    b.x1 = float(std::clamp(left, 0.0, 1.0) * width);
    b.x2 = float(std::clamp(right, 0.0, 1.0) * width);
    b.y1 = float(std::clamp(top, 0.0, 1.0) * height);
    b.y2 = float(std::clamp(bottom, 0.0, 1.0) * height);
    // (a box just past the edge, within the tolerance, is clipped to nothing)
    check(b.x2 > b.x1 && b.y2 > b.y1, at, "box [", left, ", ", top, ", ", right, ", ", bottom,
          "] has no area inside the image");
    boxes.push_back(b);
  }
  return boxes;
}

// ---- folders ---------------------------------------------------------------------------------------

DetectionSet read_yolo_folder(const std::string& folder, int64_t channels) {
  check(channels >= 0 && channels <= 4, "read_yolo_folder: channels must be 0 (as stored) or 1..4, got ", channels);
  const fs::path images_dir = fs::path(folder) / "images", labels_dir = fs::path(folder) / "labels";
  check(fs::is_directory(images_dir), "read_yolo_folder: ", folder, " has no images/ folder (expected ",
        images_dir.string(), " with the pictures and ", labels_dir.string(), " with NAME.txt per picture)");

  DetectionSet set;
  set.class_names = find_class_names(folder);
  const bool names_known = !set.class_names.empty();

  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(images_dir))
    if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());

  std::set<std::string> stems;
  int64_t max_class = -1;
  for (const fs::path& file : files) {
    const std::string stem = file.stem().string();
    check(stems.insert(stem).second, "read_yolo_folder: two images are called '", stem, "' in ",
          images_dir.string(), " (their labels would share ", stem, ".txt)");
    const Image img = load_image(file.string(), int(channels));
    DetectionImage item;
    item.name = stem;
    item.image = Tensor::empty({img.channels, img.height, img.width});
    float* out = item.image.data<float>();
    const int64_t plane = int64_t(img.height) * img.width;
    for (int64_t c = 0; c < img.channels; ++c)
      for (int64_t i = 0; i < plane; ++i) out[c * plane + i] = img.pixels[i * img.channels + c] / 255.0f;
    const fs::path label = labels_dir / (stem + ".txt");
    if (fs::exists(label))
      item.boxes = parse_yolo_labels(read_file(label.string()), img.width, img.height,
                                     int64_t(set.class_names.size()), label.string());
    for (const LabelledBox& b : item.boxes) max_class = std::max(max_class, b.class_id);
    set.images.push_back(std::move(item));
  }
  // Without names.txt or data.yaml, the classes are called by their numbers, up to the largest seen.
  if (!names_known)
    for (int64_t k = 0; k <= max_class; ++k) set.class_names.push_back(std::to_string(k));
  return set;
}

void write_yolo_folder(const std::string& folder, const DetectionSet& set) {
  const std::string images_dir = folder + "/images", labels_dir = folder + "/labels";
  make_dirs(images_dir);
  make_dirs(labels_dir);
  std::string names;
  for (const std::string& n : set.class_names) {
    check(!n.empty() && n.find('\n') == std::string::npos, "write_yolo_folder: class name '", n,
          "' must be one non-empty line");
    names += n + "\n";
  }
  write_file_atomic(folder + "/names.txt", names);

  std::set<std::string> seen;
  for (size_t i = 0; i < set.images.size(); ++i) {
    const DetectionImage& item = set.images[i];
    check(!item.name.empty() && item.name.find('/') == std::string::npos && item.name != "." && item.name != "..",
          "write_yolo_folder: image ", i, " has name '", item.name, "', which is not a file stem");
    check(seen.insert(item.name).second, "write_yolo_folder: two images are called '", item.name, "'");
    for (const LabelledBox& b : item.boxes)
      check(b.class_id >= 0 && b.class_id < int64_t(set.class_names.size()), "write_yolo_folder: image '", item.name,
            "' has a box of class ", b.class_id, " (", set.class_names.size(), " class names)");
    const std::string who = "write_yolo_folder: image '" + item.name + "'";
    const std::vector<uint8_t> bytes = image_bytes(item.image, who);
    save_png(images_dir + "/" + item.name + ".png", int(item.image.size(2)), int(item.image.size(1)),
             int(item.image.size(0)), bytes.data());
    write_file_atomic(labels_dir + "/" + item.name + ".txt", yolo_label_text(item));
  }
}

CocoInstances coco_instances_from(const DetectionSet& set) {
  CocoInstances coco;
  for (size_t c = 0; c < set.class_names.size(); ++c)
    coco.categories.push_back({int64_t(c) + 1, set.class_names[c], ""});
  int64_t next_id = 1;
  for (size_t i = 0; i < set.images.size(); ++i) {
    const DetectionImage& item = set.images[i];
    check(item.image.defined() && item.image.dim() == 3, "coco_instances_from: image ", i, " ('", item.name,
          "') must be [C, H, W]");
    const int64_t image_id = int64_t(i) + 1;
    coco.images.push_back({image_id, item.name + ".png", item.image.size(2), item.image.size(1)});
    for (const LabelledBox& b : item.boxes) {
      check(b.class_id >= 0 && b.class_id < int64_t(set.class_names.size()), "coco_instances_from: image '",
            item.name, "' has a box of class ", b.class_id, " (", set.class_names.size(), " class names)");
      CocoAnnotation a;
      a.id = next_id++;
      a.image_id = image_id;
      a.category_id = b.class_id + 1;
      const double w = double(b.x2) - b.x1, h = double(b.y2) - b.y1;
      a.bbox = {double(b.x1), double(b.y1), w, h};
      a.area = w * h;
      coco.annotations.push_back(a);
    }
  }
  return coco;
}

void write_detection_split(const std::string& folder, const DetectionSet& set, bool coco_json) {
  write_yolo_folder(folder, set);
  if (coco_json) write_coco_instances(folder + "/instances.json", coco_instances_from(set));
}

}  // namespace ember
