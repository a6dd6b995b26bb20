// YOLO folders (datasets/yolo_folder.cpp): written and read back to the same boxes, class names
// from names.txt or data.yaml, and label lines that are wrong named by file and line.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/fs.h"
#include "datasets/detection.h"
#include "tests/test_util.h"

using namespace ember;

namespace test_detection_data_yolo {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

LabelledBox lbox(int64_t c, float x1, float y1, float x2, float y2) { return {c, x1, y1, x2, y2}; }

// Three images of different sizes and channel counts, boxes at fractional pixels, one image without any.
DetectionSet small_set() {
  DetectionSet set;
  set.class_names = {"cat", "dog", "traffic light"};
  Generator gen(3);
  set.images.push_back({Tensor::rand({1, 40, 64}, &gen), {lbox(0, 3.3f, 1.25f, 17.77f, 39.0f), lbox(2, 0, 0, 64, 40)}, "a"});
  set.images.push_back({Tensor::rand({3, 33, 17}, &gen), {lbox(1, 0.1f, 0.2f, 16.9f, 32.95f)}, "b"});
  set.images.push_back({Tensor::rand({1, 20, 20}, &gen), {}, "empty"});
  return set;
}

void write_text(const std::string& path, const std::string& text) { write_file_atomic(path, text); }

TEST(DetectionDataYolo, RoundTrip) {
  const DetectionSet set = small_set();
  const std::string dir = scratch_dir("detection_data") + "/set";
  write_yolo_folder(dir, set);
  EXPECT_EQ(read_file(dir + "/labels/empty.txt"), "");
  const DetectionSet back = read_yolo_folder(dir);
  EXPECT_EQ(back.class_names, set.class_names);
  ASSERT_EQ(back.images.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const DetectionImage &want = set.images[i], &got = back.images[i];  // "a" < "b" < "empty"
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.image.shape(), want.image.shape());
    const std::vector<float> g = got.image.to_vector<float>(), w = want.image.to_vector<float>();
    for (size_t k = 0; k < g.size(); ++k) ASSERT_NEAR(g[k], w[k], 0.5 / 255 + 1e-6) << want.name << " value " << k;
    ASSERT_EQ(got.boxes.size(), want.boxes.size());
    for (size_t k = 0; k < got.boxes.size(); ++k) {
      const LabelledBox &p = got.boxes[k], &q = want.boxes[k];
      EXPECT_EQ(p.class_id, q.class_id);
      expect_all_near({p.x1, p.y1, p.x2, p.y2}, {q.x1, q.y1, q.x2, q.y2}, 1e-6, want.name);
    }
  }
  // The text of one line: class, then centre and size relative to the image.
  EXPECT_EQ(yolo_label_text(DetectionImage{Tensor::zeros({1, 50, 100}), {lbox(4, 10, 20, 30, 40)}, "x"}),
            "4 0.2 0.6 0.2 0.4\n");
  // channels = 3 makes a grey picture RGB
  EXPECT_EQ(read_yolo_folder(dir, 3).images[0].image.shape(), (Shape{3, 40, 64}));
  // an image without a label file has no objects
  std::filesystem::remove(dir + "/labels/a.txt");
  EXPECT_TRUE(read_yolo_folder(dir).images[0].boxes.empty());
}

TEST(DetectionDataYolo, ClassNamesFromDataYaml) {
  const std::string root = scratch_dir("detection_data");
  DetectionSet set = small_set();
  write_yolo_folder(root + "/train", set);
  std::filesystem::remove(root + "/train/names.txt");
  // no names at all: classes called by their numbers, up to the largest used
  EXPECT_EQ(read_yolo_folder(root + "/train").class_names, (std::vector<std::string>{"0", "1", "2"}));

  write_text(root + "/data.yaml", "path: .\ntrain: train\nnames: [cat, 'dog', \"traffic light\"]\nnc: 3\n");
  EXPECT_EQ(read_yolo_folder(root + "/train").class_names, set.class_names);  // from the parent folder
  write_text(root + "/data.yaml", "names:\n  - cat\n  - dog\n  # a comment\n  - 'traffic light'\ntrain: train\n");
  EXPECT_EQ(read_yolo_folder(root + "/train").class_names, set.class_names);
  write_text(root + "/data.yaml", "nc: 3\nnames:\n  0: cat\n  1: dog\n  2: traffic light\n");
  EXPECT_EQ(read_yolo_folder(root + "/train").class_names, set.class_names);

  write_text(root + "/data.yaml", "names:\n  0: cat\n  2: dog\n");
  EXPECT_ERROR(read_yolo_folder(root + "/train"), "class 1 is missing from 'names:'");
  write_text(root + "/data.yaml", "names: cat dog\n");
  EXPECT_ERROR(read_yolo_folder(root + "/train"), "data.yaml:1: 'names:' must be followed by a list");
  write_text(root + "/data.yaml", "nc: 3\n");
  EXPECT_ERROR(read_yolo_folder(root + "/train"), "data.yaml: no 'names:' key");
  // two classes only: the labels' class 2 is out of range, named with the file and line
  write_text(root + "/data.yaml", "names: [cat, dog]\n");
  EXPECT_ERROR(read_yolo_folder(root + "/train"), "train/labels/a.txt:2: class 2 is out of range (2 classes: 0..1)");
}

TEST(DetectionDataYolo, BadLabelLinesNameFileAndLine) {
  auto parse = [](const std::string& text) { return parse_yolo_labels(text, 100, 50, 3, "lbl.txt"); };
  EXPECT_EQ(parse("\n  \n0 0.5 0.5 0.2 0.2\r\n\n").size(), 1u);  // blank lines and CRLF are fine
  EXPECT_ERROR(parse("0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2\n"), "yolo: lbl.txt:2: expected 5 fields 'class cx cy w h', got 4");
  EXPECT_ERROR(parse("0 0.5 0.5 0.2 0.2 0.9\n"), "lbl.txt:1: expected 5 fields");
  EXPECT_ERROR(parse("x 0.5 0.5 0.2 0.2\n"), "lbl.txt:1: class must be a whole number, got 'x'");
  EXPECT_ERROR(parse("1.0 0.5 0.5 0.2 0.2\n"), "class must be a whole number");
  EXPECT_ERROR(parse("\n\n3 0.5 0.5 0.2 0.2\n"), "lbl.txt:3: class 3 is out of range (3 classes: 0..2)");
  EXPECT_ERROR(parse("-1 0.5 0.5 0.2 0.2\n"), "class -1 is out of range");
  EXPECT_ERROR(parse("0 0.5 abc 0.2 0.2\n"), "lbl.txt:1: cy must be a finite number, got 'abc'");
  EXPECT_ERROR(parse("0 0.5 0.5 nan 0.2\n"), "w must be a finite number");
  EXPECT_ERROR(parse("0 0.5 0.5 0.2 1e999\n"), "h must be a finite number");
  EXPECT_ERROR(parse("0 0.5 0.5 0 0.2\n"), "lbl.txt:1: box width and height must be > 0");
  EXPECT_ERROR(parse("0 0.5 0.5 0.2 -0.1\n"), "box width and height must be > 0");
  EXPECT_ERROR(parse("0 0.95 0.5 0.2 0.2\n"), "lbl.txt:1: box [0.85, 0.4, 1.05, 0.6]");
  EXPECT_ERROR(parse("0 0.5 0.05 0.2 0.2\n"), "leaves the image");
  // past the right edge by less than the tolerance, but wholly: clipped, nothing would be left
  EXPECT_ERROR(parse("0 1.0004 0.5 0.0004 0.2\n"), "lbl.txt:1: box [1.0002, 0.4, 1.0006, 0.6] has no area inside the image");
  // a box past the edge by less than the tolerance (rounded writers) is clipped to the image
  const std::vector<LabelledBox> b = parse("2 0.9000002 0.5 0.2000008 1.0000004\n");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].class_id, 2);
  EXPECT_EQ(b[0].x2, 100.0f);
  EXPECT_EQ(b[0].y1, 0.0f);
  EXPECT_EQ(b[0].y2, 50.0f);
  EXPECT_NEAR(b[0].x1, 80.0, 1e-4);
}

TEST(DetectionDataYolo, FolderErrors) {
  const std::string dir = scratch_dir("detection_data");
  EXPECT_ERROR(read_yolo_folder(dir + "/nothing"), "has no images/ folder");
  write_yolo_folder(dir + "/set", small_set());
  write_text(dir + "/set/labels/b.txt", "1 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2\n");
  EXPECT_ERROR(read_yolo_folder(dir + "/set"), "set/labels/b.txt:2: expected 5 fields");
  write_text(dir + "/set/labels/b.txt", "");
  std::filesystem::copy_file(dir + "/set/images/b.png", dir + "/set/images/b.bmp");
  EXPECT_ERROR(read_yolo_folder(dir + "/set"), "two images are called 'b'");
  std::filesystem::remove(dir + "/set/images/b.bmp");
  write_text(dir + "/set/images/c.png", "not a picture");
  EXPECT_ERROR(read_yolo_folder(dir + "/set"), "c.png");

  DetectionSet bad = small_set();
  bad.images[1].name = "a";
  EXPECT_ERROR(write_yolo_folder(dir + "/bad", bad), "two images are called 'a'");
  bad = small_set();
  bad.images[0].boxes[0].class_id = 3;
  EXPECT_ERROR(write_yolo_folder(dir + "/bad", bad), "image 'a' has a box of class 3 (3 class names)");
  bad = small_set();
  bad.images[2].name = "../x";
  EXPECT_ERROR(write_yolo_folder(dir + "/bad", bad), "not a file stem");
}

}  // namespace test_detection_data_yolo
