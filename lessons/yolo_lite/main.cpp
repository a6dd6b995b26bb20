// The YOLO-lite lesson: a single-shot detector that finds and names handwritten digits in scenes,
// in one pass of a small convolutional network over the whole image (YOLOv2 / YOLO-LITE style).
//
//   ./run.sh yolo                                       train on digit scenes (under half an hour)
//   ./run.sh yolo --config=lessons/yolo_lite/configs/quick.conf      a few minutes
//   build/bin/yolo_lite --eval=runs/yolo_lite/checkpoint.safetensors
//   build/bin/yolo_lite --eval=runs/yolo_lite/checkpoint.safetensors --detect=my_digits.png
//   build/bin/yolo_lite --data=my_labelled_folder       train on a YOLO-format folder
//   build/bin/yolo_lite --eval=CHECKPOINT --compare_sliding=runs/sliding_window/classifier.safetensors
//                                                       images/s against the sliding window, same scenes
//   ./run.sh yolo --help                                every setting with its default
//
// The story, in order: settings -> data (train / validation / test scenes) -> anchors (k-means on
// the training boxes) -> model -> for each epoch: train, then validation mAP -> test once ->
// report. The parts live in the files named in lesson.h.
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/fs.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "datasets/image_file.h"
#include "lessons/common/number_format.h"
#include "lessons/common/saved_metadata.h"
#include "lessons/common/csv.h"
#include "lessons/common/device.h"
#include "lessons/common/json.h"
#include "lessons/common/number_format.h"
#include "lessons/common/run_lock.h"
#include "lessons/yolo_lite/lesson.h"

using namespace ember;
using namespace ember::yolo;

namespace {

const std::string kLessonName = "yolo_lite";  // what the metadata errors start with

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

NamedTensors model_tensors(const Module& model) {
  StateDict state = model.state_dict();
  return NamedTensors(state.begin(), state.end());
}

// ---- what a checkpoint records beyond the weights: read by key, an edited entry is an error naming it

constexpr size_t kHistoryColumns = 10;
const std::vector<std::string> kHistoryHeader = {"epoch", "lr",       "loss",      "coord",          "obj",
                                                 "noobj", "class",    "val_map50", "val_map50_95", "seconds"};

std::vector<double> history_row(const EpochRecord& r) {
  return {static_cast<double>(r.epoch), r.lr, r.loss, r.coord, r.obj, r.noobj, r.cls, r.val_map50, r.val_map50_95,
          r.seconds};
}

std::string history_text(const std::vector<EpochRecord>& history) {
  std::string text;
  for (const EpochRecord& r : history) {
    std::string line;
    for (double v : history_row(r)) {
      if (!line.empty()) line += ',';
      line += format_shortest(v);
    }
    text += line + "\n";
  }
  return text;
}

std::vector<EpochRecord> parse_history(const std::string& text, const std::string& path) {
  std::vector<EpochRecord> history;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<double> v;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) v.push_back(parse_saved_number(cell, "history", path, kLessonName));
    const int64_t expected = static_cast<int64_t>(history.size()) + 1;
    check(v.size() == kHistoryColumns && v[0] == static_cast<double>(expected), "yolo_lite: ", path,
          ": metadata \"history\" line ", expected, " = \"", line, "\" should be epoch ", expected, " and ",
          kHistoryColumns - 1, " numbers");
    history.push_back({expected, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]});
  }
  return history;
}

std::string join_lines(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += item + "\n";
  return text;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> items;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) items.push_back(line);
  return items;
}

// The settings saved in a checkpoint of this lesson, then the command line on top.
// resuming: true for --resume (the run goes on where it was, on its device), false for --eval and
// --detect, where the device it was trained on belongs to that machine, not to the model: --device as
// given on this command line (the CPU by default), so a model trained on a GPU is scored anywhere.
Config saved_settings(const Metadata& metadata, const std::string& path, const std::vector<std::string>& args,
                      bool resuming) {
  check(metadata.count("lesson") && metadata.at("lesson") == "yolo_lite", "yolo_lite: ", path,
        " is not a checkpoint of the yolo_lite lesson (its metadata has no lesson = yolo_lite)");
  Config cfg;
  add_settings(cfg);
  cfg.parse_text(saved_text(metadata, "config", path, kLessonName), path + " (the settings saved with the model)");
  cfg.set("stop_after_epoch", "0", "a saved run");
  if (!resuming) cfg.set("device", "cpu", "not taken from the checkpoint");
  cfg.apply_args(args);
  check_settings(cfg);
  return cfg;
}

struct LoadedModel {
  Config cfg;
  std::shared_ptr<YoloLite> model;
  std::vector<Anchor> anchors;
  std::vector<std::string> class_names;
  Metadata extra;
  int64_t step = 0;
};

// --eval / --detect: the model, anchors and class names a training run saved.
LoadedModel load_trained(const std::string& path, const std::vector<std::string>& args) {
  check(file_exists(path), "yolo_lite: no checkpoint ", path, " (train first; it is saved after every epoch)");
  LoadedModel loaded;
  const Metadata metadata = load_safetensors(path).metadata;
  loaded.cfg = saved_settings(metadata, path, args, /*resuming=*/false);
  set_num_threads(static_cast<int>(loaded.cfg.get_int("threads")));
  loaded.anchors = parse_anchors(saved_text(metadata, "anchors", path, kLessonName), path + ": metadata \"anchors\"");
  loaded.class_names = split_lines(saved_text(metadata, "class_names", path, kLessonName));
  const double channels = parse_saved_number(saved_text(metadata, "channels", path, kLessonName), "channels", path, kLessonName);
  check(!loaded.class_names.empty() && static_cast<int64_t>(loaded.anchors.size()) == loaded.cfg.get_int("anchors"),
        "yolo_lite: ", path, ": its anchors (", loaded.anchors.size(), ") or class names (", loaded.class_names.size(),
        ") do not fit its settings (--anchors=", loaded.cfg.get_int("anchors"), ")");
  Generator gen(loaded.cfg.get_int("seed"));
  loaded.model = std::make_shared<YoloLite>(
      model_shape(loaded.cfg, static_cast<int64_t>(channels), static_cast<int64_t>(loaded.class_names.size())), gen);
  CheckpointInfo info = load_model_from_checkpoint(path, model_tensors(*loaded.model));
  const Device device = choose_device(loaded.cfg.get_string("device"));  // --device: cpu, cuda or auto
  loaded.model->to(device);  // detecting reads the predictions back on the CPU (decode.cpp)
  std::cout << device_line(device) << "\n";
  loaded.extra = info.extra;
  loaded.step = info.step;
  return loaded;
}

size_t count_detections(const std::vector<std::vector<Detection>>& found) {
  size_t n = 0;
  for (const std::vector<Detection>& image : found) n += image.size();
  return n;
}

void print_test_report(const Evaluation& test, const std::vector<std::string>& class_names, size_t scenes) {
  std::cout << format_line("\ntest: %zu scenes never seen in training, %zu detections after NMS\n", scenes,
                           count_detections(test.found))
            << coco_summary_text(test.scores.coco.stats);
  std::cout << "AP@[.5:.95] per class:";
  for (size_t k = 0; k < test.scores.ap.size(); ++k)
    if (test.scores.ap[k] >= 0) std::cout << format_line("  %s %.3f", class_names.at(k).c_str(), test.scores.ap[k]);
  std::cout << "\n";
}

std::string score_line(const Evaluation& test) {
  return format_line("score: mAP@0.5=%.4f, mAP@[.5:.95]=%.4f, model=YOLO-lite", test.map50(), test.map50_95());
}

int train(Config& cfg, const std::vector<std::string>& args) {
  check_settings(cfg);
  const std::string out_dir = cfg.get_string("out_dir");
  const std::string checkpoint_path = out_dir + "/checkpoint.safetensors";
  make_dirs(out_dir);
  RunLock lock(out_dir, "yolo_lite");
  Metadata resumed;
  if (cfg.get_bool("resume")) {
    check(file_exists(checkpoint_path), "yolo_lite: --resume, but there is no checkpoint ", checkpoint_path,
          " (train once without --resume, with the same --out_dir)");
    resumed = load_safetensors(checkpoint_path).metadata;
    cfg = saved_settings(resumed, checkpoint_path, args, /*resuming=*/true);
    cfg.set("resume", "True", "--resume");
    check(cfg.get_string("out_dir") == out_dir, "yolo_lite: --resume: ", checkpoint_path,
          " was saved with --out_dir=", cfg.get_string("out_dir"), "; resume it with that --out_dir");
  }
  set_num_threads(static_cast<int>(cfg.get_int("threads")));
  // --device: cpu, cuda or auto; chosen before the data is made, so that "cuda" without a GPU fails at once
  const Device device = choose_device(cfg.get_string("device"));
  const int64_t epochs = cfg.get_int("epochs"), batch_size = cfg.get_int("batch_size");
  const int64_t eval_batch = cfg.get_int("eval_batch_size");
  const double score_threshold = cfg.get_float("score_threshold"), nms_iou = cfg.get_float("nms_iou");

  // ---- data ----
  const Clock::time_point data_start = Clock::now();
  LessonData data = load_data(cfg);
  int64_t train_boxes = 0;
  for (const DetectionImage& image : data.train.images) train_boxes += static_cast<int64_t>(image.boxes.size());
  std::cout << format_line("data: %s (%s): %zu train, %zu validation, %zu test scenes of %lldx%lld pixels, "
                           "%lld training boxes, %zu classes (%.1f s)\n",
                           data.dataset.c_str(), data.source.c_str(), data.train.images.size(),
                           data.val.images.size(), data.test.images.size(),
                           static_cast<long long>(cfg.get_int("canvas")), static_cast<long long>(cfg.get_int("canvas")),
                           static_cast<long long>(train_boxes), data.class_names.size(), seconds_since(data_start));
  const int64_t channels = data.test.images.front().image.size(0);

  // ---- anchors: k-means with the distance 1 - IoU on the training boxes' sizes ----
  std::vector<Anchor> anchors;
  const std::vector<Anchor> sizes = box_sizes(data.train);
  if (!resumed.empty()) {
    anchors = parse_anchors(saved_text(resumed, "anchors", checkpoint_path, kLessonName), checkpoint_path);
  } else {
    anchors = kmeans_anchors(sizes, cfg.get_int("anchors"), static_cast<uint64_t>(cfg.get_int("seed")));
  }
  std::cout << "anchors (w x h, fractions of the side, k-means with the distance 1 - IoU):";
  for (const Anchor& a : anchors) std::cout << format_line(" %.3fx%.3f", a.w, a.h);
  std::cout << format_line("\n  mean best IoU of a training box with an anchor: %.3f\n", mean_best_iou(sizes, anchors));

  // ---- model and optimizer ----
  Generator gen(cfg.get_int("seed"));
  auto model = std::make_shared<YoloLite>(
      model_shape(cfg, channels, static_cast<int64_t>(data.class_names.size())), gen);
  if (!cfg.get_string("init_backbone").empty() && resumed.empty())
    init_backbone_from_classifier(*model, cfg.get_string("init_backbone"));
  std::cout << "\n" << model->summary({1, channels, cfg.get_int("canvas"), cfg.get_int("canvas")}) << "\n";
  // after --init_backbone (copied into the CPU weights); --resume loads into the model where it is
  model->to(device);  // before the optimizer, whose state is made where the parameters are
  std::cout << device_line(device) << "\n";
  std::unique_ptr<Optimizer> optimizer = build_optimizer(cfg, *model);
  const int64_t steps_per_epoch =
      (static_cast<int64_t>(data.train.images.size()) + batch_size - 1) / batch_size;
  const auto schedule = build_schedule(cfg, epochs * steps_per_epoch);
  TrainContext context;
  context.anchors = &anchors;
  context.target_options = {.ignore_iou = cfg.get_float("ignore_iou"), .rescore = cfg.get_bool("rescore")};
  context.weights = {.coord = cfg.get_float("lambda_coord"),
                     .obj = cfg.get_float("lambda_obj"),
                     .noobj = cfg.get_float("lambda_noobj"),
                     .cls = cfg.get_float("lambda_class")};

  int64_t step = 0, first_epoch = 1;
  std::vector<EpochRecord> history;
  if (!resumed.empty()) {
    CheckpointInfo info = load_checkpoint(checkpoint_path, model_tensors(*model), *optimizer);
    gen.set_state(info.rng_state);  // the same shuffles as an uninterrupted run
    step = info.step;
    const double done = parse_saved_number(saved_text(info.extra, "epoch", checkpoint_path, kLessonName), "epoch", checkpoint_path, kLessonName);
    check(done >= 1 && done == std::floor(done) && done < static_cast<double>(epochs), "yolo_lite: ",
          checkpoint_path, " is at epoch ", done, " of --epochs=", epochs,
          ": nothing left to train (--resume --epochs=N with a larger N trains on)");
    first_epoch = static_cast<int64_t>(done) + 1;
    history = parse_history(saved_text(info.extra, "history", checkpoint_path, kLessonName), checkpoint_path);
    check(static_cast<int64_t>(history.size()) == first_epoch - 1, "yolo_lite: ", checkpoint_path,
          ": metadata \"history\" has ", history.size(), " epochs, but \"epoch\" says ", first_epoch - 1);
    std::cout << "resuming from " << checkpoint_path << " after epoch " << first_epoch - 1 << " (step " << step
              << ")\n";
  }
  std::cout << format_line("training: %lld epochs of %lld steps, batch %lld, %s lr %g (%s), %d threads\n",
                           static_cast<long long>(epochs), static_cast<long long>(steps_per_epoch),
                           static_cast<long long>(batch_size), cfg.get_string("optimizer").c_str(),
                           cfg.get_float("lr"), cfg.get_string("schedule").c_str(), get_num_threads())
            << std::flush;

  // ---- train, validating after every epoch ----
  write_file_atomic(out_dir + "/settings.conf", cfg.dump());
  CsvWriter history_csv(out_dir + "/history.csv", kHistoryHeader);
  for (const EpochRecord& r : history) history_csv.write_row(history_row(r));
  LastFiniteLoss last_finite;
  double step_seconds = 0;
  int64_t images_trained = 0;
  const double seconds_before = history.empty() ? 0.0 : history.back().seconds;
  const Clock::time_point start = Clock::now();
  for (int64_t epoch = first_epoch; epoch <= epochs; ++epoch) {
    Progress progress(steps_per_epoch, cfg.get_int("print_every"));
    progress.set_prefix(format_line("epoch %lld/%lld", static_cast<long long>(epoch), static_cast<long long>(epochs)));
    // --fresh_scenes: new scenes every epoch (the same count), so the network cannot learn the set by heart
    DetectionSet fresh;
    const DetectionSet* scenes = &data.train;
    if (cfg.get_bool("fresh_scenes") && epoch > 1) {
      fresh = fresh_training_scenes(data, cfg, epoch);
      scenes = &fresh;
    }
    EpochResult trained = train_one_epoch(*model, *optimizer, *scenes, batch_size, context, schedule, step, epoch,
                                          gen, last_finite, progress);
    step_seconds += trained.step_seconds;
    images_trained += trained.images;
    Evaluation val = evaluate(*model, data.val, anchors, score_threshold, nms_iou, eval_batch);
    EpochRecord record{epoch,          optimizer->lr(), trained.loss, trained.coord,    trained.obj,
                       trained.noobj,  trained.cls,     val.map50(),  val.map50_95(), seconds_before + seconds_since(start)};
    history.push_back(record);
    history_csv.write_row(history_row(record));
    std::cout << format_line("epoch %lld/%lld: train loss %.4f (coord %.4f obj %.4f noobj %.4f class %.4f) | "
                             "validation mAP@0.5 %.4f mAP@[.5:.95] %.4f | %s, about %s left\n",
                             static_cast<long long>(epoch), static_cast<long long>(epochs), trained.loss,
                             trained.coord, trained.obj, trained.noobj, trained.cls, val.map50(), val.map50_95(),
                             format_duration(record.seconds).c_str(),
                             format_duration(seconds_since(start) / static_cast<double>(epoch - first_epoch + 1) *
                                             static_cast<double>(epochs - epoch))
                                 .c_str())
              << std::flush;
    save_checkpoint(checkpoint_path, model_tensors(*model), *optimizer, step, gen.state(),
                    {{"lesson", "yolo_lite"},
                     {"config", cfg.dump()},
                     {"epoch", std::to_string(epoch)},
                     {"history", history_text(history)},
                     {"anchors", anchors_text(anchors)},
                     {"class_names", join_lines(data.class_names)},
                     {"channels", std::to_string(channels)},
                     {"dataset", data.dataset}});
    if (epoch == cfg.get_int("stop_after_epoch") && epoch < epochs) {
      std::cout << "stopped after epoch " << epoch << " of " << epochs << " (--stop_after_epoch); "
                << checkpoint_path << " holds the run: --resume --out_dir=" << out_dir << " continues it\n";
      return 0;
    }
  }
  const double train_seconds = seconds_before + seconds_since(start);

  // ---- test, once ----
  Evaluation test = evaluate(*model, data.test, anchors, score_threshold, nms_iou, eval_batch);
  print_test_report(test, data.class_names, data.test.images.size());
  const double inference_per_second = static_cast<double>(data.test.images.size()) / test.seconds;

  // ---- report ----
  save_curves(out_dir + "/curves.png",
              format_line("YOLO-lite on %s: test mAP@0.5 %.3f, mAP@[.5:.95] %.3f", data.dataset.c_str(), test.map50(),
                          test.map50_95()),
              history);
  if (cfg.get_int("show_scenes") > 0) {  // the boxes a user would be shown: score >= --draw_threshold
    std::vector<std::vector<Detection>> shown(test.found.size());
    for (size_t i = 0; i < test.found.size(); ++i)
      for (const Detection& d : test.found[i])
        if (d.score >= cfg.get_float("draw_threshold")) shown[i].push_back(d);
    save_detection_grid(out_dir + "/test_scenes.png", data.test, shown, 4, 3,
                        static_cast<int>(cfg.get_int("show_scenes")));
  }
  JsonObject metrics;
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  for (size_t k = 0; k < test.scores.ap.size(); ++k)
    if (test.scores.ap[k] >= 0) per_class[data.class_names.at(k)] = test.scores.ap[k];
  nlohmann::ordered_json coco = nlohmann::ordered_json::object();
  for (int s = 0; s < kNumCocoStats; ++s) coco[kCocoStatNames[s]] = test.scores.coco.stats[s];
  metrics.set("dataset", data.dataset)
      .set("data_source", data.source)
      .set("map50", test.map50())
      .set("map50_95", test.map50_95())
      .set("map75", test.scores.map75)
      .set_json("ap_per_class", per_class.dump())
      .set_json("coco", coco.dump())
      .set("val_map50", history.back().val_map50)
      .set("val_map50_95", history.back().val_map50_95)
      .set("inference_images_per_second", inference_per_second)
      .set("train_images_per_second", step_seconds > 0 ? static_cast<double>(images_trained) / step_seconds : 0.0)
      .set("train_seconds", train_seconds)
      .set("epochs", epochs)
      .set("batch_size", batch_size)
      .set("optimizer", cfg.get_string("optimizer"))
      .set("lr", cfg.get_float("lr"))
      .set("grid", cfg.get_int("grid"))
      .set("anchors", anchors_text(anchors))
      .set("canvas", cfg.get_int("canvas"))
      .set("seed", cfg.get_int("seed"))
      .set("threads", get_num_threads())
      .set("params", model->num_parameters())
      .set("train_scenes", static_cast<int64_t>(data.train.images.size()))
      .set("val_scenes", static_cast<int64_t>(data.val.images.size()))
      .set("test_scenes", static_cast<int64_t>(data.test.images.size()));
  metrics.save(out_dir + "/metrics.json");
  std::cout << format_line("time: %.1f s of training (validation included); detecting: %.0f scenes/s\n",
                           train_seconds, inference_per_second);
  std::cout << "wrote " << out_dir
            << "/: history.csv, curves.png, metrics.json, test_scenes.png, settings.conf, checkpoint.safetensors\n";
  if (device == Device::CUDA) std::cout << memory_line(device) << "\n";
  std::cout << score_line(test) << std::endl;
  return 0;
}

// --eval=CHECKPOINT: the saved model on the test scenes (made again from the same settings).
int evaluate_checkpoint(const std::string& path, const std::vector<std::string>& args) {
  LoadedModel loaded = load_trained(path, args);
  std::cout << "loaded " << path << " (after epoch " << saved_text(loaded.extra, "epoch", path, kLessonName) << ", step "
            << loaded.step << "); anchors " << anchors_text(loaded.anchors) << "\n";
  LessonData data = load_data(loaded.cfg, /*training=*/false);
  check(data.class_names == loaded.class_names, "yolo_lite: --eval: the test data's classes differ from those ", path,
        " was trained on");
  Evaluation test = evaluate(*loaded.model, data.test, loaded.anchors, loaded.cfg.get_float("score_threshold"),
                             loaded.cfg.get_float("nms_iou"), loaded.cfg.get_int("eval_batch_size"));
  print_test_report(test, data.class_names, data.test.images.size());
  std::cout << score_line(test) << std::endl;
  const std::string classifier = loaded.cfg.get_string("compare_sliding");
  if (!classifier.empty()) {
    std::cout << format_line("\nspeed against the sliding window (%s) on the same %zu test scenes, %d threads:\n",
                             classifier.c_str(), data.test.images.size(), get_num_threads())
              << std::flush;
    const std::vector<SpeedRow> rows = compare_with_sliding_window(
        *loaded.model, loaded.anchors, data.test, loaded.cfg.get_float("score_threshold"),
        loaded.cfg.get_float("nms_iou"), loaded.cfg.get_int("eval_batch_size"), classifier);
    std::cout << speed_table(rows);
    JsonObject speed;
    speed.set("scenes", static_cast<int64_t>(data.test.images.size()))
        .set("threads", get_num_threads())
        .set("sliding_window_checkpoint", classifier)
        .set("yolo_checkpoint", path);
    const char* keys[] = {"sliding_window", "yolo_one_scene_per_pass", "yolo_batched"};
    for (size_t r = 0; r < rows.size(); ++r) {
      nlohmann::ordered_json o = {{"map50", rows[r].map50},
                                  {"map50_95", rows[r].map50_95},
                                  {"images_per_second", rows[r].images_per_second},
                                  {"speedup", rows[r].images_per_second / rows[0].images_per_second},
                                  {"images_per_cpu_second", rows[r].images_per_cpu_second},
                                  {"cpu_speedup", rows[r].images_per_cpu_second / rows[0].images_per_cpu_second}};
      speed.set_json(keys[r], o.dump());
    }
    make_dirs(loaded.cfg.get_string("out_dir"));
    const std::string out = loaded.cfg.get_string("out_dir") + "/speed_vs_sliding_window.json";
    speed.save(out);
    std::cout << "wrote " << out << std::endl;
  }
  return 0;
}

// --detect=IMAGE: every digit found in one picture file, printed and drawn into <out_dir>/<name>_boxes.png.
int detect_image(const std::string& checkpoint, const std::string& image_path, const std::vector<std::string>& args) {
  LoadedModel loaded = load_trained(checkpoint, args);
  const Config& cfg = loaded.cfg;
  const int64_t channels = loaded.model->shape.channels, side = loaded.model->shape.canvas;
  const Image file = load_image(image_path, static_cast<int>(channels));
  DetectionImage original;
  original.name = std::filesystem::path(image_path).stem().string();
  original.image = Tensor::empty({channels, file.height, file.width});
  float* pixels = original.image.data<float>();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < int64_t{file.height} * file.width; ++i)
      pixels[c * file.height * file.width + i] = static_cast<float>(file.pixels[static_cast<size_t>(i * channels + c)]) / 255.0f;
  DetectionSet one;
  one.class_names = loaded.class_names;
  one.images.push_back(resize_detection_image(original, side));
  std::vector<Detection> found;
  for (Detection d : detect(*loaded.model, one, loaded.anchors, cfg.get_float("draw_threshold"),
                            cfg.get_float("nms_iou"), 1)) {
    // back to the file's pixels
    const double sx = static_cast<double>(file.width) / static_cast<double>(side);
    const double sy = static_cast<double>(file.height) / static_cast<double>(side);
    d.box = Box{d.box.x1 * sx, d.box.y1 * sy, d.box.x2 * sx, d.box.y2 * sy};
    found.push_back(d);
  }
  std::cout << format_line("%s: %zu digits found (score >= %g)\n", image_path.c_str(), found.size(),
                           cfg.get_float("draw_threshold"))
            << format_detections(found, loaded.class_names);
  const int scale = file.width < 256 ? 2 : 1;
  const Canvas picture = draw_detections(original.image, found, /*truth=*/{}, loaded.class_names, scale);
  make_dirs(cfg.get_string("out_dir"));
  const std::string out = cfg.get_string("out_dir") + "/" + original.name + "_boxes.png";
  picture.save_png(out);
  std::cout << "wrote " << out << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  add_settings(cfg);
  try {
    if (!cfg.parse_args(argc, argv)) return 0;
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!cfg.get_string("detect").empty()) {
      const std::string checkpoint = cfg.get_string("eval").empty()
                                         ? cfg.get_string("out_dir") + "/checkpoint.safetensors"
                                         : cfg.get_string("eval");
      return detect_image(checkpoint, cfg.get_string("detect"), args);
    }
    if (!cfg.get_string("eval").empty()) return evaluate_checkpoint(cfg.get_string("eval"), args);
    return train(cfg, args);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
