// --init_backbone (lessons/yolo_lite/init_backbone.cpp): the sliding-window lesson's classifier,
// saved by that lesson's own code, starts the detector's first two convolutions; the tensors copied
// are equal, and a checkpoint that does not fit is an error naming the tensors and their shapes.
// Also --fresh_scenes (data.cpp): new training scenes every epoch, the same ones for the same seed;
// and --compare_sliding (compare.cpp): both detectors on the same scenes.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/safetensors.h"
#include "lessons/sliding_window/lesson.h"
#include "lessons/yolo_lite/lesson.h"
#include "optim/checkpoint.h"
#include "test_util.h"

using namespace ember;

namespace test_yolo_init_backbone {  // this file's helpers and tests (files are compiled in batches: CMakeLists.txt)

std::string scratch(const std::string& name) {
  const std::string dir = std::string(EMBER_TEST_TMP) + "/yolo_init_backbone";
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

// The classifier of lessons/sliding_window, saved the way that lesson saves it (a checkpoint with
// lesson = sliding_window in its metadata); returns the classifier.
std::shared_ptr<Sequential> save_classifier(const std::string& path) {
  Generator gen(7);
  std::shared_ptr<Sequential> classifier = sliding_window::build_classifier(gen);
  AdamW optimizer(classifier->parameters());
  StateDict state = classifier->state_dict();
  save_checkpoint(path, NamedTensors(state.begin(), state.end()), optimizer, 0, gen.state(),
                  {{"lesson", "sliding_window"}});
  return classifier;
}

yolo::ModelShape detector_shape(int64_t width, int64_t stem_kernel) {
  return {.channels = 1, .canvas = 32, .grid = 4, .anchors = 2, .classes = 10, .width = width,
          .stem_kernel = stem_kernel};
}

TEST(YoloInitBackbone, TheClassifiersConvolutionsStartTheDetectorsFirstTwo) {
  const std::string path = scratch("classifier.safetensors");
  std::shared_ptr<Sequential> classifier = save_classifier(path);
  Generator gen(0);
  yolo::YoloLite detector(detector_shape(16, 5), gen);
  const Tensor head_before = detector.head->weight.clone();
  yolo::init_backbone_from_classifier(detector, path);
  const StateDict theirs = classifier->state_dict(), mine = detector.state_dict();
  for (const yolo::BackboneMapping& m : yolo::classifier_to_backbone()) {
    ASSERT_EQ(theirs.at(m.classifier).shape(), mine.at(m.detector).shape()) << m.classifier;
    EXPECT_EQ(theirs.at(m.classifier).to_vector<float>(), mine.at(m.detector).to_vector<float>()) << m.classifier;
  }
  EXPECT_EQ(mine.at("backbone.0.weight").shape(), (Shape{16, 1, 5, 5}));
  EXPECT_EQ(mine.at("backbone.4.weight").shape(), (Shape{32, 16, 5, 5}));
  // the rest keeps its own start
  EXPECT_EQ(detector.head->weight.to_vector<float>(), head_before.to_vector<float>());
  // and the detector still runs: 5x5 convolutions with padding 2 keep the sizes
  EXPECT_EQ(detector(Tensor::zeros({1, 1, 32, 32})).shape(), (Shape{1, 2 * 15, 4, 4}));
}

TEST(YoloInitBackbone, ACheckpointThatDoesNotFitIsAnErrorNamingTheTensorsAndShapes) {
  const std::string path = scratch("classifier_for_errors.safetensors");
  save_classifier(path);
  Generator gen(0);
  yolo::YoloLite narrow(detector_shape(8, 3), gen);
  const std::vector<float> before = narrow.state_dict().at("backbone.0.weight").to_vector<float>();
  EXPECT_ERROR(yolo::init_backbone_from_classifier(narrow, path),
               "0.weight is [16, 1, 5, 5] but backbone.0.weight is [8, 1, 3, 3]");
  EXPECT_ERROR(yolo::init_backbone_from_classifier(narrow, path), "--width=16 --stem_kernel=5");
  EXPECT_EQ(narrow.state_dict().at("backbone.0.weight").to_vector<float>(), before);  // nothing copied

  // a tensor missing from the file
  const std::string partial = scratch("only_first_conv.safetensors");
  Generator g(1);
  save_safetensors(partial, {{"0.weight", Tensor::randn({16, 1, 5, 5}, &g)}}, {{"lesson", "sliding_window"}});
  yolo::YoloLite wide(detector_shape(16, 5), gen);
  EXPECT_ERROR(yolo::init_backbone_from_classifier(wide, partial),
               "3.weight is missing from " + partial + " (wanted for backbone.4.weight [32, 16, 5, 5])");

  // not a sliding-window checkpoint, or no file at all
  const std::string other = scratch("other_lesson.safetensors");
  save_safetensors(other, {{"0.weight", Tensor::randn({16, 1, 5, 5}, &g)}}, {{"lesson", "yolo_lite"}});
  EXPECT_ERROR(yolo::init_backbone_from_classifier(wide, other), "not a checkpoint of the sliding_window lesson");
  EXPECT_ERROR(yolo::init_backbone_from_classifier(wide, scratch("nothing_here.safetensors")), "no such file");
}

TEST(YoloFreshScenes, EveryEpochNewScenesTheSameForTheSameSeed) {
  Config cfg;
  yolo::add_settings(cfg);
  cfg.set("canvas", "32", "test");
  yolo::LessonData data;
  data.class_names = {"0", "1"};
  Generator gen(3);
  data.train_sources = Tensor::rand({20, 1, 28, 28}, &gen);
  data.train_labels = Tensor::from_vector(std::vector<int64_t>(20, 1), {20});
  data.scene_options.canvas_min = data.scene_options.canvas_max = 32;
  data.scene_options.scale_min = data.scene_options.scale_max = 0.5;
  Generator first(0);
  data.train = generate_digit_scenes(data.train_sources, data.train_labels, data.class_names, 6, data.scene_options,
                                     first);
  auto pixels = [](const DetectionSet& set) {
    std::vector<float> all;
    for (const DetectionImage& image : set.images) {
      const std::vector<float> p = image.image.to_vector<float>();
      all.insert(all.end(), p.begin(), p.end());
    }
    return all;
  };
  EXPECT_EQ(pixels(yolo::fresh_training_scenes(data, cfg, 1)), pixels(data.train));  // epoch 1: the set itself
  const DetectionSet second = yolo::fresh_training_scenes(data, cfg, 2);
  ASSERT_EQ(second.images.size(), data.train.images.size());
  EXPECT_NE(pixels(second), pixels(data.train));
  EXPECT_NE(pixels(second), pixels(yolo::fresh_training_scenes(data, cfg, 3)));
  EXPECT_EQ(pixels(second), pixels(yolo::fresh_training_scenes(data, cfg, 2)));  // seeded: a resume sees the same
}

TEST(YoloCompareSliding, BothDetectorsOnTheSameScenesWithTheSlidingWindowsOwnSettings) {
  // a classifier checkpoint as the sliding-window lesson saves it: weights, its settings, box shapes
  const std::string path = scratch("classifier_for_speed.safetensors");
  Generator gen(7);
  std::shared_ptr<Sequential> classifier = sliding_window::build_classifier(gen);
  Config sliding_cfg;
  sliding_window::add_settings(sliding_cfg);
  sliding_cfg.set("scales", "1", "test");
  const sliding_window::BoxShapes shapes(sliding_window::kNumDigits, {0.6, 0.7});
  AdamW optimizer(classifier->parameters());
  StateDict state = classifier->state_dict();
  save_checkpoint(path, NamedTensors(state.begin(), state.end()), optimizer, 0, gen.state(),
                  {{"lesson", "sliding_window"}, {"config", sliding_cfg.dump()},
                   {"box_shapes", sliding_window::box_shapes_text(shapes)}});

  DetectionSet scenes;
  scenes.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  for (int i = 0; i < 3; ++i)
    scenes.images.push_back({Tensor::rand({1, 32, 32}, &gen), {LabelledBox{i, 4, 4, 20, 24}}, std::to_string(i)});
  yolo::YoloLite detector(detector_shape(4, 3), gen);
  const std::vector<yolo::Anchor> anchors = {{0.3, 0.4}, {0.6, 0.7}};
  const std::vector<yolo::SpeedRow> rows =
      yolo::compare_with_sliding_window(detector, anchors, scenes, 0.005, 0.45, 2, path);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "sliding window");
  for (const yolo::SpeedRow& r : rows) {
    EXPECT_GT(r.images_per_second, 0.0) << r.name;
    EXPECT_GE(r.map50, 0.0) << r.name;
  }
  // one scene per pass or two: the same detector, the same boxes, the same scores
  EXPECT_DOUBLE_EQ(rows[1].map50, rows[2].map50);
  EXPECT_DOUBLE_EQ(rows[1].map50_95, rows[2].map50_95);
  EXPECT_NE(yolo::speed_table(rows).find("speed-up"), std::string::npos);
  const std::string other = scratch("not_a_classifier.safetensors");
  save_safetensors(other, {{"0.weight", Tensor::zeros({16, 1, 5, 5})}}, {{"lesson", "yolo_lite"}});
  EXPECT_ERROR(yolo::compare_with_sliding_window(detector, anchors, scenes, 0.005, 0.45, 2, other),
               "not a checkpoint of the sliding_window lesson");
}

}  // namespace test_yolo_init_backbone
