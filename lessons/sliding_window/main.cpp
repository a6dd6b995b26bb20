// The sliding-window lesson: the lecture's first detector. A classifier of 28x28 patches (a digit,
// or background) is slid over scenes of handwritten digits at several scales; then the same
// classifier, its dense layers turned into convolutions, scores every window in one pass.
//
//   ./run.sh sliding_window                               train, detect both ways, compare (a few minutes)
//   ./run.sh sliding_window --stride=8 --scales=1,0.7,0.5  other windows
//   build/bin/sliding_window --eval=runs/sliding_window/classifier.safetensors
//   ./run.sh sliding_window --device=cuda                 the same on the GPU
//   ./run.sh sliding_window --help                        every setting with its default
//
// The story, in order: settings -> scenes and patches -> train the classifier (validating on
// patches of other scenes) -> detect on the test scenes by sliding the classifier -> convert it to a
// fully convolutional net, check it gives the same scores, detect again -> mAP and time of both ->
// report. The parts live in the files named in lesson.h.
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <iostream>

#include "core/fs.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "datasets/coco.h"
#include "lessons/common/csv.h"
#include "lessons/common/device.h"
#include "lessons/common/detection.h"
#include "lessons/common/json.h"
#include "lessons/common/number_format.h"
#include "lessons/common/saved_metadata.h"
#include "lessons/common/run_lock.h"
#include "lessons/sliding_window/lesson.h"

using namespace ember;
using namespace ember::sliding_window;

namespace {

const std::string kLessonName = "sliding_window";  // what the metadata errors start with

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

NamedTensors model_tensors(const Module& model) {
  StateDict state = model.state_dict();
  return NamedTensors(state.begin(), state.end());
}

DetectOptions detect_options(const Config& cfg) {
  return {.scales = parse_scales(cfg.get_string("scales")),
          .stride = cfg.get_int("stride"),
          .score_threshold = cfg.get_float("score_threshold"),
          .nms_iou = cfg.get_float("nms_iou")};
}

struct DetectorRun {
  std::vector<std::vector<Detection>> found;  // found[i]: the boxes kept in scene i
  double seconds_per_image = 0.0;
  DetectionScores scores;                     // COCO's evaluator (lessons/common/detection.h)
};

// One detector over every test scene, timed (the same scenes, windows and stride for both).
DetectorRun run_detector(const std::string& name, Module& model, int64_t net_stride, const DetectionSet& scenes,
                         const DetectOptions& options, const BoxShapes& box_shapes, int64_t print_every) {
  DetectorRun run;
  Progress progress(static_cast<int64_t>(scenes.images.size()), print_every, "scenes/s");
  progress.set_prefix(name);
  double seconds = 0.0;
  int64_t boxes = 0;
  for (size_t i = 0; i < scenes.images.size(); ++i) {
    const Clock::time_point start = Clock::now();
    const Tensor& scene = scenes.images[i].image;
    run.found.push_back(detect(model, net_stride, scene, static_cast<int64_t>(i), options, box_shapes));
    seconds += seconds_since(start);
    boxes += static_cast<int64_t>(run.found.back().size());
    progress.step(1, {{"boxes", boxes}});
  }
  run.seconds_per_image = seconds / static_cast<double>(scenes.images.size());
  run.scores = evaluate_detections(scenes, run.found);
  return run;
}

JsonObject detector_json(const DetectorRun& run) {
  JsonObject o;
  o.set("map50", run.scores.map50).set("map50_95", run.scores.map).set("seconds_per_image", run.seconds_per_image);
  return o;
}

// The largest difference between the sliding window's and the fully convolutional net's
// probabilities, over every window of every scale of one scene.
double largest_score_difference(Module& classifier, Module& fcn, int64_t net_stride, const Tensor& scene,
                                const DetectOptions& options) {
  double largest = 0.0;
  for (double scale : options.scales) {
    const Tensor a = sliding_window_scores(classifier, scene, scale, options.stride).probabilities;
    const Tensor b = fcn_scores(fcn, scene, scale, options.stride, net_stride).probabilities;
    check(a.shape() == b.shape(), "sliding_window: the two score grids differ in shape at scale ", scale);
    for (int64_t k = 0; k < a.numel(); ++k)
      largest = std::max(largest, static_cast<double>(std::fabs(a.data<float>()[k] - b.data<float>()[k])));
  }
  return largest;
}

// Detection on the test scenes both ways, the comparison, and the files. Shared by training and --eval.
int detect_and_report(const Config& cfg, const LessonData& data, Sequential& classifier, const BoxShapes& box_shapes,
                      const std::string& out_dir, JsonObject& metrics) {
  const DetectOptions options = detect_options(cfg);
  const DetectionSet& scenes = data.test_scenes;
  const int64_t print_every = std::max<int64_t>(1, static_cast<int64_t>(scenes.images.size()) / 4);
  int64_t windows = 0;
  for (double scale : options.scales) {
    ScoreGrid grid = sliding_window_scores(classifier, scenes.images[0].image, scale, options.stride);
    windows += grid.rows * grid.cols;
  }
  std::cout << format_line("\ndetecting in %zu test scenes: scales %s, stride %lld, score >= %g, NMS IoU %g "
                           "(the first scene, %lldx%lld, has %lld windows over all scales)\n",
                           scenes.images.size(), cfg.get_string("scales").c_str(),
                           static_cast<long long>(options.stride), options.score_threshold, options.nms_iou,
                           static_cast<long long>(scenes.images[0].image.size(2)),
                           static_cast<long long>(scenes.images[0].image.size(1)), static_cast<long long>(windows))
            << std::flush;

  // 1. slide the classifier over every window
  DetectorRun sliding = run_detector("sliding window", classifier, 0, scenes, options, box_shapes, print_every);

  // 2. the same classifier, fully convolutional: one pass per scale
  std::shared_ptr<Sequential> fcn = make_fully_convolutional(classifier);
  const int64_t net_stride = total_stride(*fcn);
  std::cout << "\nthe dense head as convolutions (total stride " << net_stride << "):\n" << fcn->to_string() << "\n";
  const double difference = largest_score_difference(classifier, *fcn, net_stride, scenes.images[0].image, options);
  std::cout << format_line("same scores: the largest difference between the two detectors' probabilities over "
                           "every window of the first scene is %.2g\n",
                           difference);
  DetectorRun convolutional = run_detector("fully convolutional", *fcn, net_stride, scenes, options, box_shapes,
                                           print_every);
  // The same net with the window itself as the box (no per-class box shape): how much the shape helps.
  const DetectionScores window_boxes =
      run_detector("fcn, window boxes", *fcn, net_stride, scenes, options, {}, print_every).scores;

  const double speedup = sliding.seconds_per_image / convolutional.seconds_per_image;
  std::cout << format_line("\n%-22s %8s %12s %14s\n", "detector", "mAP@0.5", "mAP@[.5:.95]", "s per scene")
            << format_line("%-22s %8.4f %12.4f %14.4f\n", "sliding window", sliding.scores.map50,
                           sliding.scores.map, sliding.seconds_per_image)
            << format_line("%-22s %8.4f %12.4f %14.4f\n", "fully convolutional", convolutional.scores.map50,
                           convolutional.scores.map, convolutional.seconds_per_image)
            << format_line("%-22s %8.4f %12.4f\n", "(fcn, window as box)", window_boxes.map50, window_boxes.map)
            << format_line("fully convolutional speed-up: %.1fx (same scenes, windows and stride; %d threads)\n",
                           speedup, get_num_threads());

  std::cout << "\nper class (fully convolutional):\n"
            << detection_scores_text(convolutional.scores, scenes.class_names);

  // 3. the files: the boxes drawn, the boxes as COCO files (build/bin/coco_eval --gt=instances.json
  // --dt=detections.json prints all twelve COCO numbers), the score map
  if (cfg.get_int("show_scenes") > 0)
    save_detection_grid(out_dir + "/detections.png", scenes, convolutional.found, 4, 2,
                        static_cast<int>(cfg.get_int("show_scenes")));
  write_coco_instances(out_dir + "/instances.json", coco_instances_from(scenes));
  write_coco_results(out_dir + "/detections.json", convolutional.found);
  std::vector<ScoreGrid> grids;
  for (double scale : options.scales)
    grids.push_back(fcn_scores(*fcn, scenes.images[0].image, scale, options.stride, net_stride));
  save_score_map(out_dir + "/score_map.png", scenes.images[0].image, grids);
  JsonObject window_json;
  window_json.set("map50", window_boxes.map50).set("map50_95", window_boxes.map);
  metrics.set("dataset", data.dataset)
      .set("data_dir", data.folder)
      .set("test_scenes", static_cast<int64_t>(scenes.images.size()))
      .set("scales", options.scales)
      .set("stride", options.stride)
      .set("score_threshold", options.score_threshold)
      .set("nms_iou", options.nms_iou)
      .set("threads", get_num_threads())
      .set_json("sliding", detector_json(sliding).to_string())
      .set_json("fcn", detector_json(convolutional).to_string())
      .set("fcn_speedup", speedup)
      .set("fcn_max_score_difference", difference)
      .set_json("fcn_window_boxes", window_json.to_string());
  metrics.save(out_dir + "/metrics.json");
  std::cout << format_line("mAP@0.5 %.4f, mAP@[.5:.95] %.4f (sliding window); fully convolutional %.1fx faster\n",
                           sliding.scores.map50, sliding.scores.map, speedup);
  return 0;
}

int train(Config& cfg) {
  check_settings(cfg);
  // Chosen first, so that --device=cuda without a GPU stops at once (before any folder or data).
  const Device device = choose_device(cfg.get_string("device"));  // --device: cpu, cuda or auto
  const std::string out_dir = cfg.get_string("out_dir");
  const std::string checkpoint_path = out_dir + "/classifier.safetensors";
  make_dirs(out_dir);
  RunLock lock(out_dir, "sliding_window");
  set_num_threads(static_cast<int>(cfg.get_int("threads")));
  const int64_t epochs = cfg.get_int("epochs"), batch_size = cfg.get_int("batch_size");

  // ---- data: scenes, and patches cut from them ----
  const Clock::time_point data_start = Clock::now();
  LessonData data = load_data(cfg);
  cfg.set("dataset", data.dataset, "the data found");
  PatchOptions patch_options;
  patch_options.window_sides.clear();
  for (double scale : parse_scales(cfg.get_string("scales"))) patch_options.window_sides.push_back(kPatch / scale);
  Generator patch_gen(static_cast<uint64_t>(cfg.get_int("seed")) * 7 + 5);
  const Patches train_patches = cut_patches(data.train_scenes, patch_options, patch_gen);
  const Patches val_patches = cut_patches(data.val_scenes, patch_options, patch_gen);
  const BoxShapes box_shapes = average_box_shapes(data.train_scenes);
  auto backgrounds = [](const Patches& p) {
    int64_t count = 0;
    for (int64_t label : p.labels.to_vector<int64_t>()) count += label == kBackground;
    return static_cast<long long>(count);
  };
  std::cout << format_line("data: %s digits from %s/ in %zu train, %zu validation and %zu test scenes; "
                           "%lld train patches (%lld background), %lld validation patches (%lld background); %.1f s\n",
                           data.title.c_str(), data.folder.c_str(), data.train_scenes.images.size(),
                           data.val_scenes.images.size(), data.test_scenes.images.size(),
                           static_cast<long long>(train_patches.labels.numel()), backgrounds(train_patches),
                           static_cast<long long>(val_patches.labels.numel()), backgrounds(val_patches),
                           seconds_since(data_start));

  // ---- the classifier ----
  Generator gen(static_cast<uint64_t>(cfg.get_int("seed")));
  std::shared_ptr<Sequential> model = build_classifier(gen);
  std::cout << model->summary({1, 1, kPatch, kPatch}) << "\n";
  model->to(device);  // before the optimizer, whose state is made where the parameters are
  std::cout << device_line(device) << "\n";
  std::unique_ptr<Optimizer> optimizer = build_optimizer(cfg, *model);
  const int64_t steps_per_epoch = (train_patches.labels.numel() + batch_size - 1) / batch_size;
  std::cout << format_line("training: %lld epochs of %lld steps, batch %lld, AdamW lr %g, %d threads\n",
                           static_cast<long long>(epochs), static_cast<long long>(steps_per_epoch),
                           static_cast<long long>(batch_size), cfg.get_float("lr"), get_num_threads())
            << std::flush;

  // ---- train, validating after every epoch ----
  write_file_atomic(out_dir + "/settings.conf", cfg.dump());
  CsvWriter history_csv(out_dir + "/history.csv",
                        {"epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"});
  std::vector<EpochRecord> history;
  LastFiniteLoss last_finite;
  int64_t step = 0;
  const Clock::time_point start = Clock::now();
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    Progress progress(steps_per_epoch, cfg.get_int("print_every"));
    progress.set_prefix(format_line("epoch %lld/%lld", static_cast<long long>(epoch), static_cast<long long>(epochs)));
    EpochResult trained =
        train_one_epoch(*model, *optimizer, train_patches, batch_size, gen, epoch, last_finite, progress, step);
    PatchEvaluation val = evaluate_patches(*model, val_patches, 500);
    EpochRecord record{epoch, optimizer->lr(), trained.loss, trained.accuracy, val.loss, val.accuracy,
                       seconds_since(start)};
    history.push_back(record);
    history_csv.write_row({static_cast<double>(epoch), record.lr, record.train_loss, record.train_accuracy,
                           record.val_loss, record.val_accuracy, record.seconds});
    std::cout << format_line("epoch %lld/%lld: train loss %.4f acc %.4f | validation patches loss %.4f acc %.4f | "
                             "%s, about %s left\n",
                             static_cast<long long>(epoch), static_cast<long long>(epochs), trained.loss,
                             trained.accuracy, val.loss, val.accuracy, format_duration(record.seconds).c_str(),
                             format_duration(record.seconds / epoch * (epochs - epoch)).c_str())
              << std::flush;
    // The classifier, after every epoch: a later lesson (yolo_lite) starts its backbone from it.
    save_checkpoint(checkpoint_path, model_tensors(*model), *optimizer, step, gen.state(),
                    {{"lesson", "sliding_window"},
                     {"config", cfg.dump()},
                     {"epoch", std::to_string(epoch)},
                     {"box_shapes", box_shapes_text(box_shapes)}});
  }
  save_curves(out_dir + "/curves.png",
              format_line("%s patches: validation accuracy %.4f", data.title.c_str(), history.back().val_accuracy),
              history);

  JsonObject metrics;
  metrics.set("epochs", epochs)
      .set("batch_size", batch_size)
      .set("lr", cfg.get_float("lr"))
      .set("seed", cfg.get_int("seed"))
      .set("params", model->num_parameters())
      .set("train_patches", train_patches.labels.numel())
      .set("val_patch_accuracy", history.back().val_accuracy)
      .set("train_seconds", seconds_since(start));
  detect_and_report(cfg, data, *model, box_shapes, out_dir, metrics);
  std::cout << "wrote " << out_dir
            << "/: history.csv, curves.png, metrics.json, detections.png, score_map.png, instances.json, "
               "detections.json, settings.conf, classifier.safetensors"
            << std::endl;
  if (device == Device::CUDA) std::cout << memory_line(device) << "\n";
  return 0;
}

// --eval=CHECKPOINT: a saved classifier on the test scenes, without training; the files go to
// <out_dir>/eval/.
int evaluate_checkpoint(const std::string& path, const std::vector<std::string>& args) {
  const Metadata metadata = load_safetensors(path).metadata;
  check(metadata.count("lesson") && metadata.at("lesson") == "sliding_window", "sliding_window: ", path,
        " is not a checkpoint of the sliding_window lesson (its metadata has no lesson = sliding_window)");
  // The settings it was trained with (the same scenes), then the command line on top.
  Config cfg;
  add_settings(cfg);
  cfg.parse_text(saved_text(metadata, "config", path, kLessonName), path + " (the settings saved with the classifier)");
  // The device it was trained on belongs to that machine, not to the classifier: --device as given
  // here (the CPU by default), so a classifier trained on a GPU is scored anywhere.
  cfg.set("device", "cpu", "not taken from the checkpoint");
  cfg.apply_args(args);
  check_settings(cfg);
  set_num_threads(static_cast<int>(cfg.get_int("threads")));
  const Device device = choose_device(cfg.get_string("device"));  // --device: cpu, cuda or auto
  // Into a folder of its own, so that the training run's files stay as they were.
  const std::string out_dir = cfg.get_string("out_dir") + "/eval";
  make_dirs(out_dir);
  RunLock lock(out_dir, "sliding_window");

  LessonData data = load_data(cfg, /*with_training=*/false);
  Generator gen(0);
  std::shared_ptr<Sequential> model = build_classifier(gen);
  // Loaded on the CPU, then moved (a later --device on the command line picks where it runs).
  CheckpointInfo info = load_model_from_checkpoint(path, model_tensors(*model));
  model->to(device);
  std::cout << device_line(device) << "\n";
  const BoxShapes box_shapes = parse_box_shapes(saved_text(info.extra, "box_shapes", path, kLessonName), path);
  std::cout << "loaded " << path << " (" << data.title << ", after epoch " << saved_text(info.extra, "epoch", path, kLessonName)
            << ")\n";
  JsonObject metrics;
  metrics.set("checkpoint", path);
  const int result = detect_and_report(cfg, data, *model, box_shapes, out_dir, metrics);
  if (device == Device::CUDA) std::cout << memory_line(device) << "\n";
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  add_settings(cfg);
  try {
    if (!cfg.parse_args(argc, argv)) return 0;  // --help printed every key
    if (!cfg.get_string("eval").empty())
      return evaluate_checkpoint(cfg.get_string("eval"), std::vector<std::string>(argv + 1, argv + argc));
    return train(cfg);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
