// The transfer-learning lesson: a backbone learnt on one task, reused for another with little data.
//
//   ./run.sh transfer                                  pretrain on Fashion-MNIST (once; reused
//                                                      after), then the digits with 10, 30, 100
//                                                      and all labelled images per class, three ways
//   ./run.sh transfer --shots=10 --regimes=frozen,finetune
//   build/bin/transfer --eval=runs/transfer/models/finetune_10.safetensors
//   ./run.sh transfer --help
//
// The story, in order:
//   1. source task: train backbone + head on many labelled images of clothes; keep the backbone
//   2. target task: digits, N labelled images per class; for each N, the same network three ways:
//      scratch (random weights), frozen (pretrained backbone fixed, new head: a linear probe),
//      finetune (pretrained backbone trained gently, new head trained normally)
//   3. test accuracy against N, a line per regime: transfer.png
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include "core/fs.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/safetensors.h"
#include "datasets/cifar_fallback.h"
#include "lessons/common/device.h"
#include "lessons/common/progress.h"
#include "lessons/common/csv.h"
#include "lessons/common/json.h"
#include "lessons/common/number_format.h"
#include "lessons/common/run_lock.h"
#include "lessons/transfer/lesson.h"

using namespace ember;
using namespace ember::transfer;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The tensors to save, on the CPU (a file is written from the CPU; the model may be on the GPU).
NamedTensors named(const StateDict& state) {
  NamedTensors out;
  for (const auto& [name, t] : state) out.emplace_back(name, t.cpu());
  return out;
}

const std::string& metadata_text(const Metadata& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  check(it != metadata.end(), "transfer: ", path, " has no metadata \"", key,
        "\" (every file this lesson writes has it: was it edited, or written by another program?)");
  return it->second;
}

double metadata_number(const Metadata& metadata, const std::string& key, const std::string& path) {
  const std::string& text = metadata_text(metadata, key, path);
  size_t used = 0;
  double value = std::nan("");
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  check(used == text.size() && std::isfinite(value), "transfer: ", path, ": metadata \"", key, "\" = \"", text,
        "\" is not a finite number");
  return value;
}

// Mean and standard deviation of every pixel: the normalisation the backbone learns with, and keeps.
std::pair<double, double> pixel_statistics(const Tensor& images) {
  const float* p = images.data<float>();
  double sum = 0.0, squares = 0.0;
  for (int64_t i = 0; i < images.numel(); ++i) {
    sum += p[i];
    squares += static_cast<double>(p[i]) * p[i];
  }
  const double n = static_cast<double>(images.numel());
  const double mean = sum / n;
  return {mean, std::sqrt(std::max(squares / n - mean * mean, 1e-12))};
}

int64_t parameter_count(int64_t width) {
  Generator gen(0);
  return TransferNet(width, 10, gen).num_parameters();
}

struct Backbone {
  StateDict state;
  double mean = 0.0, std = 1.0;
  std::string source, title;
  double source_accuracy = 0.0;
  double seconds = 0.0;  // pretraining time (0 when reused)
  bool reused = false;
};

// Step 1: the backbone, from its file when one made with the same width is there, else pretrained
// on the source task (on `device`) and saved.
Backbone pretrained_backbone(const Config& cfg, const std::string& path, Device device) {
  Backbone result;
  if (!cfg.get_bool("retrain_backbone") && file_exists(path)) {
    SafetensorsFile file = load_safetensors(path);
    const bool ours = file.metadata.count("lesson") && file.metadata.at("lesson") == "transfer-backbone";
    check(ours, "transfer: ", path, " is not a backbone saved by this lesson (its metadata has no lesson = "
          "transfer-backbone): remove it, or choose another --backbone");
    if (metadata_number(file.metadata, "width", path) == static_cast<double>(cfg.get_int("width"))) {
      Generator gen(0);
      TransferNet net(cfg.get_int("width"), 10, gen);
      StateDict state = backbone_state(net);
      StateDict loaded;
      for (const auto& [name, t] : file.tensors) loaded.insert(name, t);
      net.backbone->load_state_dict(loaded);  // checks every name and shape
      result.state = backbone_state(net);
      result.mean = metadata_number(file.metadata, "pixel_mean", path);
      result.std = metadata_number(file.metadata, "pixel_std", path);
      result.source = metadata_text(file.metadata, "source", path);
      result.title = metadata_text(file.metadata, "source_title", path);
      result.source_accuracy = metadata_number(file.metadata, "source_test_accuracy", path);
      result.reused = true;
      std::printf("step 1: reusing the backbone in %s (pretrained on %s, %.4f on its test images; "
                  "--retrain_backbone trains it again)\n",
                  path.c_str(), result.title.c_str(), result.source_accuracy);
      std::cout << std::flush;
      return result;
    }
    std::printf("step 1: %s has width %s, not --width=%lld: pretraining a new backbone\n", path.c_str(),
                metadata_text(file.metadata, "width", path).c_str(), static_cast<long long>(cfg.get_int("width")));
  }
  const Clock::time_point start = Clock::now();
  SourceData source = load_source(cfg);
  std::tie(result.mean, result.std) = pixel_statistics(source.train.images);
  std::printf("step 1: pretraining the backbone on %s from %s/: %lld training images, %lld epochs\n",
              source.title.c_str(), source.folder.c_str(), static_cast<long long>(source.train.images.size(0)),
              static_cast<long long>(cfg.get_int("pretrain_epochs")));
  std::cout << std::flush;  // shown now, also through a pipe (| tee log.txt)
  Generator gen(cfg.get_int("seed"));
  TransferNet net(cfg.get_int("width"), 10, gen);
  net.to(device);  // before the optimizer, whose state is made where the parameters are
  std::unique_ptr<Optimizer> optimizer = regime_optimizer(net, "scratch", cfg.get_float("pretrain_lr"), 1.0,
                                                         cfg.get_float("weight_decay"));
  const int64_t batch = 128, n = source.train.images.size(0);
  TrainOptions options{.steps = cfg.get_int("pretrain_epochs") * ((n + batch - 1) / batch),
                       .batch_size = batch,
                       .curve_points = cfg.get_int("pretrain_epochs"),
                       .print_every = cfg.get_int("print_every"),
                       .seed = static_cast<uint64_t>(cfg.get_int("seed")),
                       .label = "pretrain on " + source.name};
  const LabelledImages test{normalize(source.test.images, {result.mean}, {result.std}), source.test.labels};
  Transform augment = Compose{{RandomShift{2}, Normalize{{result.mean}, {result.std}}}};
  std::vector<CurvePoint> curve = train_steps(net, *optimizer, source.train, test, augment, options);
  result.state = backbone_state(net);
  result.source = source.name;
  result.title = source.title;
  result.source_accuracy = curve.back().val_accuracy;
  result.seconds = seconds_since(start);
  save_safetensors(path, named(result.state),
                   {{"lesson", "transfer-backbone"},
                    {"source", source.name},
                    {"source_title", source.title},
                    {"width", std::to_string(cfg.get_int("width"))},
                    {"pixel_mean", format_shortest(result.mean)},
                    {"pixel_std", format_shortest(result.std)},
                    {"source_test_accuracy", format_shortest(result.source_accuracy)}});
  std::printf("step 1: the backbone scores %.4f on %lld %s test images after %.1f s; saved to %s (reused next time)\n",
              result.source_accuracy, static_cast<long long>(source.test.images.size(0)), source.title.c_str(),
              result.seconds, path.c_str());
  std::cout << std::flush;
  return result;
}

int run(Config& cfg) {
  check_settings(cfg);
  set_num_threads(static_cast<int>(cfg.get_int("threads")));
  const Device device = choose_device(cfg.get_string("device"));  // --device: cpu, cuda or auto
  std::cout << device_line(device) << "\n";
  const std::string out_dir = cfg.get_string("out_dir");
  make_dirs(out_dir + "/models");
  RunLock lock(out_dir, "transfer");
  const std::vector<int64_t> shots = parse_shots(cfg.get_string("shots"));
  const std::vector<std::string> regimes = parse_regimes(cfg.get_string("regimes"));
  const Clock::time_point start = Clock::now();

  // Step 2 needs the digits: found before a long pretraining, not after.
  TargetData target = load_target(cfg);
  std::string source_name = cfg.get_string("source");
  if (source_name == "auto") source_name = has_cifar10(cfg.get_string("cifar_dir")) ? "cifar10" : "fashion";
  const std::string backbone_path = cfg.get_string("backbone").empty()
                                        ? out_dir + "/backbone_" + source_name + ".safetensors"
                                        : cfg.get_string("backbone");
  bool needs_backbone = false;
  for (const std::string& r : regimes) needs_backbone = needs_backbone || r != "scratch";
  Backbone backbone;
  if (needs_backbone) backbone = pretrained_backbone(cfg, backbone_path, device);
  if (!needs_backbone) std::tie(backbone.mean, backbone.std) = pixel_statistics(target.pool.images);

  // ---- step 2: the digits, three ways, for each number of shots ----
  const LabelledImages val{normalize(target.val.images, {backbone.mean}, {backbone.std}), target.val.labels};
  const LabelledImages test{normalize(target.test.images, {backbone.mean}, {backbone.std}), target.test.labels};
  std::vector<Transform> steps;
  if (cfg.get_int("max_shift") > 0) steps.push_back(RandomShift{cfg.get_int("max_shift")});
  steps.push_back(Normalize{{backbone.mean}, {backbone.std}});
  const Transform transform = Compose{steps};
  std::printf("step 2: the digits of %s/: shots drawn from %lld training images, %lld for validation curves, %lld "
              "test images; %lld steps per run, batch %lld, AdamW lr %g (finetune: backbone x %g; frozen: head x %g)\n",
              target.folder.c_str(), static_cast<long long>(target.pool.images.size(0)),
              static_cast<long long>(val.images.size(0)), static_cast<long long>(test.images.size(0)),
              static_cast<long long>(cfg.get_int("steps")), static_cast<long long>(cfg.get_int("batch_size")),
              cfg.get_float("lr"), cfg.get_float("backbone_lr_scale"), cfg.get_float("probe_lr_scale"));
  std::cout << std::flush;

  std::vector<RunResult> results;
  CsvWriter history(out_dir + "/history.csv",
                    {"shots", "regime", "step", "train_loss", "val_accuracy"});
  for (int64_t s : shots) {
    const LabelledImages labelled = take_shots(target.pool, s, 10, static_cast<uint64_t>(cfg.get_int("seed")));
    for (const std::string& regime : regimes) {
      const Clock::time_point run_start = Clock::now();
      Generator gen(cfg.get_int("seed"));
      TransferNet net(cfg.get_int("width"), 10, gen);
      net.to(device);  // first: the pretrained backbone is copied in where the network is, then the optimizer
      prepare_regime(net, regime, backbone.state);
      // frozen: the batch norms' statistics of the clothes, or re-estimated on these digits
      if (regime == "frozen" && cfg.get_string("frozen_bn") == "target")
        adapt_batch_norm(net, normalize(labelled.images, {backbone.mean}, {backbone.std}));
      const double lr = cfg.get_float("lr") * (regime == "frozen" ? cfg.get_float("probe_lr_scale") : 1.0);
      std::unique_ptr<Optimizer> optimizer = regime_optimizer(net, regime, lr,
                                                             cfg.get_float("backbone_lr_scale"),
                                                             cfg.get_float("weight_decay"));
      TrainOptions options{.steps = cfg.get_int("steps"),
                           .batch_size = cfg.get_int("batch_size"),
                           .curve_points = cfg.get_int("curve_points"),
                           .print_every = cfg.get_int("print_every"),
                           .seed = static_cast<uint64_t>(cfg.get_int("seed")),
                           .frozen_backbone = regime == "frozen",
                           .label = shots_name(s) + " shots, " + regime};
      RunResult result;
      result.shots = s;
      result.images = labelled.images.size(0);
      result.regime = regime;
      result.curve = train_steps(net, *optimizer, labelled, val, transform, options);
      result.test_accuracy = accuracy(net, test.images, test.labels);
      result.seconds = seconds_since(run_start);
      for (const CurvePoint& p : result.curve)
        history.write_text_row({std::to_string(s == 0 ? result.images / 10 : s), regime, std::to_string(p.step),
                           format_shortest(p.train_loss), format_shortest(p.val_accuracy)});
      const std::string model_path = out_dir + "/models/" + regime + "_" + shots_name(s) + ".safetensors";
      save_safetensors(model_path, named(net.state_dict()),
                       {{"lesson", "transfer"},
                        {"regime", regime},
                        {"shots", shots_name(s)},
                        {"width", std::to_string(cfg.get_int("width"))},
                        {"pixel_mean", format_shortest(backbone.mean)},
                        {"pixel_std", format_shortest(backbone.std)},
                        {"config", cfg.dump()}});
      std::printf("%s shots, %s: test accuracy %.4f (%lld labelled images, %.1f s, %s elapsed)\n",
                  shots_name(s).c_str(), regime.c_str(), result.test_accuracy, static_cast<long long>(result.images),
                  result.seconds, format_duration(seconds_since(start)).c_str());
      std::cout << std::flush;
      results.push_back(result);
    }
  }

  // ---- step 3: the picture ----
  const double total_seconds = seconds_since(start);
  std::cout << "\n" << results_table(results, shots, regimes) << "\n";
  const std::string source_title = needs_backbone ? backbone.title : "none (scratch only)";
  save_transfer_plot(out_dir + "/transfer.png", results, regimes,
                     "digits: test accuracy against labelled images (backbone from " + source_title + ")");
  save_transfer_curves(out_dir + "/curves.png", results, shots, regimes);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const RunResult& r : results)
    rows.push_back({{"shots", r.shots == 0 ? nlohmann::ordered_json("all") : nlohmann::ordered_json(r.shots)},
                    {"images", r.images},
                    {"regime", r.regime},
                    {"test_accuracy", r.test_accuracy},
                    {"seconds", r.seconds}});
  JsonObject metrics;
  metrics.set("source", needs_backbone ? backbone.source : "none")
      .set("source_title", source_title)
      .set("source_test_accuracy", backbone.source_accuracy)
      .set("backbone", backbone_path)
      .set("backbone_reused", backbone.reused)
      .set("pretrain_seconds", backbone.seconds)
      .set("target", "digits from " + target.folder)
      .set("test_images", test.images.size(0))
      .set("width", cfg.get_int("width"))
      .set("params", parameter_count(cfg.get_int("width")))
      .set("steps", cfg.get_int("steps"))
      .set("batch_size", cfg.get_int("batch_size"))
      .set("lr", cfg.get_float("lr"))
      .set("backbone_lr_scale", cfg.get_float("backbone_lr_scale"))
      .set("probe_lr_scale", cfg.get_float("probe_lr_scale"))
      .set("threads", get_num_threads())
      .set("total_seconds", total_seconds)
      .set("results", rows);
  metrics.save(out_dir + "/metrics.json");
  std::printf("time: %.1f s in all (pretraining %.1f s%s)\n", total_seconds, backbone.seconds,
              backbone.reused ? ", reused" : "");
  if (device == Device::CUDA) std::cout << memory_line(device) << "\n";
  std::cout << "wrote " << out_dir << "/: transfer.png, curves.png, history.csv, metrics.json, models/ (one per run), "
            << (needs_backbone ? backbone_path : std::string("no backbone")) << std::endl;
  return 0;
}

// --eval=FILE: a model saved by a run, on the test digits.
int evaluate_saved(const std::string& path, Config& cfg) {
  SafetensorsFile file = load_safetensors(path);
  check(file.metadata.count("lesson") && file.metadata.at("lesson") == "transfer", "transfer: ", path,
        " is not a model saved by this lesson (its metadata has no lesson = transfer)");
  const double width = metadata_number(file.metadata, "width", path);
  check(width >= 1 && width <= 1024 && width == std::floor(width), "transfer: ", path, ": metadata \"width\" = ",
        width, " is not a width from 1 to 1024");
  set_num_threads(static_cast<int>(cfg.get_int("threads")));
  // --device: where the test digits are scored (choose_device names a value that is not cpu, cuda or auto)
  const Device device = choose_device(cfg.get_string("device"));
  Generator gen(0);
  TransferNet net(static_cast<int64_t>(width), 10, gen);
  net.to(device);
  StateDict state;
  for (const auto& [name, t] : file.tensors) state.insert(name, t);
  net.load_state_dict(state);  // the file's CPU tensors copied onto the device
  const double mean = metadata_number(file.metadata, "pixel_mean", path);
  const double std = metadata_number(file.metadata, "pixel_std", path);
  check(std > 0, "transfer: ", path, ": metadata \"pixel_std\" = ", std, " must be positive");
  cfg.set("val_images", "1", "--eval");  // every training digit is irrelevant here; keep the check satisfied
  TargetData target = load_target(cfg);
  const double acc = accuracy(net, normalize(target.test.images, {mean}, {std}), target.test.labels);
  std::printf("%s (%s, %s shots): test accuracy %.4f on %lld digits of %s/\n", path.c_str(),
              metadata_text(file.metadata, "regime", path).c_str(), metadata_text(file.metadata, "shots", path).c_str(),
              acc, static_cast<long long>(target.test.images.size(0)), target.folder.c_str());
  std::printf("score=%.5f, model=TransferNet %s %s-shot\n", acc, metadata_text(file.metadata, "regime", path).c_str(),
              metadata_text(file.metadata, "shots", path).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  add_settings(cfg);
  try {
    if (!cfg.parse_args(argc, argv)) return 0;
    if (!cfg.get_string("eval").empty()) return evaluate_saved(cfg.get_string("eval"), cfg);
    return run(cfg);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
