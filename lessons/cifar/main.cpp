// The CIFAR-10 lesson: residual networks on colour photos (He et al., "Deep Residual Learning for
// Image Recognition", 2016: ResNet-20 reaches 91.25% on CIFAR-10's test set, ResNet-56 93.03%).
//
//   ./run.sh cifar                                        ResNet-20, a few epochs (CIFAR-10, or the
//                                                         Fashion-MNIST fallback, said loudly)
//   ./run.sh cifar --config=lessons/cifar/configs/resnet20_paper.conf     the paper's recipe
//   ./run.sh cifar --config=lessons/cifar/configs/plain_vs_resnet.conf    Figure 6: plain vs ResNet
//   ./run.sh cifar --data=photos/flowers --model=resnet18 --image_size=64  your own photos
//   build/bin/cifar --eval=runs/cifar/checkpoint.safetensors --tta
//   mpirun -np 2 build/bin/cifar ...                      data-parallel over two processes
//   ./run.sh cifar --help                                 every setting with its default
//
// The story, in order: settings -> data (train / validation / test) -> model -> for each epoch:
// train, then validate -> test once -> report. The parts live in the files named in lesson.h.
#include <sys/resource.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "core/fs.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "datasets/dataset.h"
#include "distributed/distributed.h"
#include "lessons/cifar/lesson.h"
#include "lessons/common/csv.h"
#include "lessons/common/device.h"
#include "lessons/common/json.h"
#include "lessons/common/number_format.h"
#include "lessons/common/saved_metadata.h"
#include "lessons/common/run_lock.h"

using namespace ember;
using namespace ember::cifar;

namespace {

const std::string kLessonName = "cifar";  // what the metadata errors start with

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The most memory this process has held (getrusage's ru_maxrss is in KiB on Linux).
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// What a checkpoint holds: the model's tensors, and with --ema the average's as "ema.<name>".
NamedTensors checkpoint_tensors(const Module& model, const Module* ema_model) {
  StateDict state = model.state_dict();
  NamedTensors tensors(state.begin(), state.end());
  if (ema_model != nullptr)
    for (const auto& [name, t] : ema_model->state_dict()) tensors.emplace_back("ema." + name, t);
  return tensors;
}

std::string numbers_text(const std::vector<double>& values) {
  std::string text;
  for (double v : values) {
    if (!text.empty()) text += ',';
    text += format_shortest(v);
  }
  return text;
}

std::vector<double> saved_numbers(const Metadata& metadata, const std::string& key, const std::string& path) {
  std::vector<double> values;
  std::istringstream cells(saved_text(metadata, key, path, kLessonName));
  for (std::string cell; std::getline(cells, cell, ',');) values.push_back(parse_saved_number(cell, key, path, kLessonName));
  return values;
}

std::string history_text(const std::vector<EpochRecord>& history) {
  std::string text;
  for (const EpochRecord& r : history)
    text += std::to_string(r.epoch) + "," +
            numbers_text({r.lr, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.seconds}) + "\n";
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
    check(v.size() == 7 && v[0] == static_cast<double>(expected), "cifar: ", path, ": metadata \"history\" line ",
          expected, " = \"", line, "\" should be epoch ", expected, " and six numbers, separated by commas");
    history.push_back({expected, v[1], v[2], v[3], v[4], v[5], v[6]});
  }
  return history;
}

// The settings a checkpoint was trained with (its architecture, its data).
Config saved_settings(const Metadata& metadata, const std::string& path) {
  check(metadata.count("lesson") && metadata.at("lesson") == "cifar", "cifar: ", path,
        " is not a checkpoint of the cifar lesson (its metadata has no lesson = cifar)");
  Config cfg;
  add_settings(cfg);
  cfg.parse_text(saved_text(metadata, "config", path, kLessonName), path + " (the settings saved with the model)");
  return cfg;
}

void print_test_report(const LessonData& data, const Evaluation& test, bool tta) {
  std::cout << format_line("\ntest: loss %.4f, accuracy %.5f on %lld images of %s%s (never seen in training)\n\n",
                           test.loss, test.accuracy, static_cast<long long>(data.test_labels.numel()),
                           data.title.c_str(), tta ? ", with flip TTA" : "");
  std::cout << format_confusion_matrix(confusion_matrix(data.test_labels, test.predictions, data.num_classes()),
                                       data.class_names)
            << "\n";
}

struct RunResult {
  std::vector<EpochRecord> history;
  double test_accuracy = 0.0;
  bool finished = false;  // false: stopped early (--stop_after_epoch)
};

RunResult train(Config& cfg, const std::vector<std::string>& args) {
  check_settings(cfg);
  const std::string out_dir = cfg.get_string("out_dir");
  const std::string checkpoint_path = out_dir + "/checkpoint.safetensors";
  const bool writes = is_main_process();  // under mpirun only process 0 writes files
  make_dirs(out_dir);
  std::optional<RunLock> lock;
  if (writes) lock.emplace(out_dir, "cifar");
  Metadata resumed;
  if (cfg.get_bool("resume")) {
    check(file_exists(checkpoint_path), "cifar: --resume, but there is no checkpoint ", checkpoint_path,
          " (train once without --resume, with the same --out_dir)");
    resumed = load_safetensors(checkpoint_path).metadata;
    cfg = saved_settings(resumed, checkpoint_path);
    cfg.set("stop_after_epoch", "0", "--resume");
    cfg.apply_args(args);
    cfg.set("resume", "True", "--resume");
    check_settings(cfg);
    check(cfg.get_string("out_dir") == out_dir, "cifar: --resume: ", checkpoint_path, " was saved with --out_dir=",
          cfg.get_string("out_dir"), "; resume it with that --out_dir, or copy the folder");
  }
  set_num_threads(static_cast<int>(cfg.get_int("threads")));
  const int64_t epochs = cfg.get_int("epochs"), eval_batch_size = cfg.get_int("eval_batch_size");

  // ---- data: train / validation / test (a fallback is said first, loudly) ----
  LessonData data = load_data(cfg);
  for (const std::string& line : data.notice) std::cout << line << "\n";
  cfg.set("image_size", std::to_string(data.height()), "the data found");  // the crop's size
  std::cout << format_line("data: %s from %s/: %lld train, %lld validation, %lld test images of %lldx%lld, "
                           "%lld classes\n",
                           data.title.c_str(), data.source.c_str(), static_cast<long long>(data.train_labels.numel()),
                           static_cast<long long>(data.val_labels.numel()),
                           static_cast<long long>(data.test_labels.numel()), static_cast<long long>(data.height()),
                           static_cast<long long>(data.width()), static_cast<long long>(data.num_classes()))
            << "normalised per channel with mean [" << numbers_text(data.mean) << "] and std ["
            << numbers_text(data.std) << "] (--normalize=" << cfg.get_string("normalize") << ")\n";
  TensorDataset train_set(data.train_images, data.train_labels);
  DataLoader loader(train_set, cfg.get_int("batch_size"), /*shuffle=*/true, cfg.get_int("seed"),
                    /*drop_last=*/false, training_transform(cfg, data.mean, data.std));
  loader.set_shard(rank(), world_size());
  const Tensor val_images = normalize(data.val_images, data.mean, data.std);

  // ---- model, optimizer, schedule, weight average ----
  Generator gen(cfg.get_int("seed"));
  std::shared_ptr<Module> model = build_model(cfg, data.num_classes(), data.channels(), gen);
  std::cout << "\n" << model->summary({1, data.channels(), data.height(), data.width()}) << "\n";
  const Device device = choose_device(cfg.get_string("device"));  // --device: cpu, cuda or auto
  model->to(device);  // before the optimizer, whose state is made where the parameters are
  std::cout << device_line(device) << "\n";
  std::unique_ptr<Optimizer> optimizer = build_optimizer(cfg, *model);
  const auto schedule = build_schedule(cfg, epochs * loader.num_batches());
  std::optional<WeightAverage> ema;
  if (cfg.get_bool("ema")) {
    Generator shadow_gen(cfg.get_int("seed"));
    ema.emplace(*model, build_model(cfg, data.num_classes(), data.channels(), shadow_gen), cfg.get_float("ema_decay"));
  }
  Module& evaluated = ema ? ema->model() : *model;  // what validation and test score

  int64_t step = 0, first_epoch = 1;
  std::vector<EpochRecord> history;
  if (!resumed.empty()) {
    CheckpointInfo info =
        load_checkpoint(checkpoint_path, checkpoint_tensors(*model, ema ? &ema->model() : nullptr), *optimizer);
    gen.set_state(info.rng_state);
    step = info.step;
    if (ema) ema->set_updates(step);
    const double done = parse_saved_number(saved_text(info.extra, "epoch", checkpoint_path, kLessonName), "epoch", checkpoint_path, kLessonName);
    check(done >= 1 && done == std::floor(done) && done < static_cast<double>(epochs), "cifar: ", checkpoint_path,
          " is at epoch ", done, " of --epochs=", epochs,
          ": nothing left to train (--resume --epochs=N with a larger N trains on)");
    first_epoch = static_cast<int64_t>(done) + 1;
    history = parse_history(saved_text(info.extra, "history", checkpoint_path, kLessonName), checkpoint_path);
    check(static_cast<int64_t>(history.size()) == first_epoch - 1, "cifar: ", checkpoint_path,
          ": metadata \"history\" has ", history.size(), " epochs, but \"epoch\" says ", first_epoch - 1);
    check(saved_numbers(info.extra, "pixel_mean", checkpoint_path) == data.mean &&
              saved_numbers(info.extra, "pixel_std", checkpoint_path) == data.std,
          "cifar: --resume: the training images of ", data.source,
          " are not those the checkpoint was trained on (their channel means and spreads differ)");
    loader.set_epoch(first_epoch - 1);
    std::cout << "resuming from " << checkpoint_path << " after epoch " << first_epoch - 1 << " (step " << step
              << ")\n";
  }
  broadcast_parameters(*model);  // under mpirun: every process starts from process 0's weights
  std::cout << format_line("training %s (%lld layers, %lld parameters): %lld epochs of %lld steps, batch %lld, %s "
                           "lr %g (%s), label smoothing %g%s%s, %d threads%s\n",
                           display_name(cfg.get_string("model")).c_str(), static_cast<long long>(model_depth(*model)),
                           static_cast<long long>(model->num_parameters()), static_cast<long long>(epochs),
                           static_cast<long long>(loader.num_batches()),
                           static_cast<long long>(cfg.get_int("batch_size")), cfg.get_string("optimizer").c_str(),
                           cfg.get_float("lr"), cfg.get_string("schedule").c_str(), cfg.get_float("label_smoothing"),
                           ema ? ", EMA of the weights" : "", cfg.get_bool("tta") ? ", flip TTA" : "",
                           get_num_threads(),
                           world_size() > 1 ? format_line(" x %d processes (mpirun)", world_size()).c_str() : "")
            << std::flush;

  std::optional<CsvWriter> history_csv;
  if (writes) {
    write_file_atomic(out_dir + "/settings.conf", cfg.dump());
    save_augmented(out_dir + "/augmented.png", data.train_images, augmentation(cfg), 6, 7, cfg.get_int("seed"));
    history_csv.emplace(out_dir + "/history.csv", std::vector<std::string>{"epoch", "lr", "train_loss",
                                                                           "train_accuracy", "val_loss",
                                                                           "val_accuracy", "seconds"});
    for (const EpochRecord& r : history)
      history_csv->write_row({static_cast<double>(r.epoch), r.lr, r.train_loss, r.train_accuracy, r.val_loss,
                              r.val_accuracy, r.seconds});
  }
  int64_t images_trained = 0;
  double step_seconds = 0.0;
  LastFiniteLoss last_finite;
  const double seconds_before = history.empty() ? 0.0 : history.back().seconds;
  const Clock::time_point start = Clock::now();
  RunResult result;
  for (int64_t epoch = first_epoch; epoch <= epochs; ++epoch) {
    Progress progress(loader.num_batches(), cfg.get_int("print_every"));
    progress.set_prefix(format_line("epoch %lld/%lld", static_cast<long long>(epoch), static_cast<long long>(epochs)));
    EpochResult trained = train_one_epoch(*model, *optimizer, loader, schedule, cfg.get_float("label_smoothing"),
                                          ema ? &*ema : nullptr, step, epoch, last_finite, progress);
    images_trained += trained.images;
    step_seconds += trained.step_seconds;
    broadcast_buffers(*model);  // batch norm's statistics: process 0's everywhere
    if (ema) ema->copy_buffers();
    Evaluation val = evaluate(evaluated, val_images, data.val_labels, eval_batch_size, cfg.get_bool("tta"),
                              "validation");
    EpochRecord record{epoch, optimizer->lr(), trained.loss, trained.accuracy, val.loss, val.accuracy,
                       seconds_before + seconds_since(start)};
    history.push_back(record);
    if (writes)
      history_csv->write_row({static_cast<double>(epoch), record.lr, record.train_loss, record.train_accuracy,
                              record.val_loss, record.val_accuracy, record.seconds});
    std::cout << format_line("epoch %lld/%lld: train loss %.4f acc %.4f | validation loss %.4f acc %.4f | %s, "
                             "about %s left\n",
                             static_cast<long long>(epoch), static_cast<long long>(epochs), trained.loss,
                             trained.accuracy, val.loss, val.accuracy, format_duration(record.seconds).c_str(),
                             format_duration(seconds_since(start) / static_cast<double>(epoch - first_epoch + 1) *
                                             static_cast<double>(epochs - epoch))
                                 .c_str())
              << std::flush;
    if (writes)
      save_checkpoint(checkpoint_path, checkpoint_tensors(*model, ema ? &ema->model() : nullptr), *optimizer, step,
                      gen.state(),
                      {{"lesson", "cifar"},
                       {"config", cfg.dump()},
                       {"dataset", data.dataset},
                       {"epoch", std::to_string(epoch)},
                       {"pixel_mean", numbers_text(data.mean)},
                       {"pixel_std", numbers_text(data.std)},
                       {"history", history_text(history)}});
    if (epoch == cfg.get_int("stop_after_epoch") && epoch < epochs) {
      std::cout << "stopped after epoch " << epoch << " of " << epochs << " (--stop_after_epoch); " << checkpoint_path
                << " holds the run: --resume --out_dir=" << out_dir << " continues it\n";
      result.history = history;
      return result;
    }
  }
  const double train_seconds = seconds_since(start);
  const double images_per_second = static_cast<double>(images_trained) / step_seconds;

  // ---- test, once ----
  const Tensor test_images = normalize(data.test_images, data.mean, data.std);
  Evaluation test = evaluate(evaluated, test_images, data.test_labels, eval_batch_size, cfg.get_bool("tta"), "test");
  print_test_report(data, test, cfg.get_bool("tta"));
  result.history = history;
  result.test_accuracy = test.accuracy;
  result.finished = true;
  if (!writes) return result;

  // ---- report ----
  const int64_t shown = save_misclassified(out_dir + "/misclassified.png", data.test_images, data.test_labels,
                                           test.predictions, data.class_names, cfg.get_int("show_misclassified"));
  save_curves(out_dir + "/curves.png",
              format_line("%s, %s: test accuracy %.5f", data.title.c_str(),
                          display_name(cfg.get_string("model")).c_str(), test.accuracy),
              history);
  JsonObject metrics;
  metrics.set("dataset", data.dataset)
      .set("dataset_title", data.title)
      .set("data_source", data.source)
      .set("model", display_name(cfg.get_string("model")))
      .set("depth", model_depth(*model))
      .set("shortcut", cfg.get_string("shortcut"))
      .set("params", model->num_parameters())
      .set("epochs", epochs)
      .set("batch_size", cfg.get_int("batch_size"))
      .set("optimizer", cfg.get_string("optimizer"))
      .set("lr", cfg.get_float("lr"))
      .set("schedule", cfg.get_string("schedule"))
      .set("weight_decay", cfg.get_float("weight_decay"))
      .set("label_smoothing", cfg.get_float("label_smoothing"))
      .set("ema", cfg.get_bool("ema"))
      .set("tta", cfg.get_bool("tta"))
      .set("augment", cfg.get_bool("augment"))
      .set("seed", cfg.get_int("seed"))
      .set("threads", get_num_threads())
      .set("processes", world_size())
      .set("train_images", data.train_labels.numel())
      .set("val_images", data.val_labels.numel())
      .set("test_images", data.test_labels.numel())
      .set("test_accuracy", test.accuracy)
      .set("test_loss", test.loss)
      .set("val_accuracy", history.back().val_accuracy)
      .set("train_images_per_second", images_per_second)
      .set("train_seconds", train_seconds)
      .set("peak_rss_mb", peak_rss_mb())
      .set("class_names", data.class_names)
      .set("confusion_matrix", confusion_matrix(data.test_labels, test.predictions, data.num_classes()));
  metrics.save(out_dir + "/metrics.json");
  std::cout << format_line("time: %.1f s of training (validation included), %.0f images/s in the training steps, "
                           "peak memory %.0f MB\n",
                           train_seconds, images_per_second, peak_rss_mb());
  if (device == Device::CUDA) std::cout << memory_line(device) << "\n";
  std::cout << "wrote " << out_dir
            << "/: history.csv, curves.png, augmented.png, metrics.json, settings.conf, checkpoint.safetensors"
            << (shown > 0 ? ", misclassified.png (" + std::to_string(shown) + " test images)" : "") << "\n";
  for (const std::string& line : data.notice) std::cout << line << "\n";  // said again next to the score
  std::cout << score_line(test.accuracy, cfg.get_string("model")) << std::endl;  // the board's line, last
  return result;
}

// --compare=plain20,plain56,resnet20,resnet56: each model trained with the same settings in
// out_dir/<model>/, then their error curves on one plot (the paper's Figure 6).
int compare(Config& cfg, const std::vector<std::string>& args) {
  check(!cfg.get_bool("resume"), "cifar: --compare trains every model from the start; --resume one of its runs "
        "with --out_dir=<out_dir>/<model> instead");
  std::vector<std::string> models;
  std::string list = cfg.get_string("compare") + ",";
  for (size_t begin = 0, end; (end = list.find(',', begin)) != std::string::npos; begin = end + 1)
    models.push_back(list.substr(begin, end - begin));
  const std::string out_dir = cfg.get_string("out_dir");
  std::vector<std::vector<EpochRecord>> histories;
  std::vector<double> accuracies;
  for (const std::string& model : models) {
    std::cout << "\n==== " << display_name(model) << " ====\n";
    Config run = cfg;
    run.set("model", model, "--compare");
    run.set("compare", "", "--compare");
    run.set("out_dir", out_dir + "/" + model, "--compare");
    RunResult result = train(run, args);
    histories.push_back(result.history);
    accuracies.push_back(result.test_accuracy);
  }
  if (!is_main_process()) return 0;
  save_comparison(out_dir + "/compare.png", "plain nets against ResNets: error per epoch", models, histories);
  JsonObject metrics;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  std::cout << "\nmodel        final training error   final validation error   test accuracy\n";
  for (size_t m = 0; m < models.size(); ++m) {
    const EpochRecord& last = histories[m].back();
    std::cout << format_line("%-12s %20.4f %24.4f %15.5f\n", display_name(models[m]).c_str(),
                             1.0 - last.train_accuracy, 1.0 - last.val_accuracy, accuracies[m]);
    results.push_back({{"model", display_name(models[m])},
                       {"train_error", 1.0 - last.train_accuracy},
                       {"val_error", 1.0 - last.val_accuracy},
                       {"test_accuracy", accuracies[m]}});
  }
  metrics.set("compare", results);
  metrics.save(out_dir + "/compare.json");
  std::cout << "wrote " << out_dir << "/compare.png and compare.json (each model's own run in " << out_dir
            << "/<model>/)\n";
  return 0;
}

// --eval=CHECKPOINT: the saved model (or its weight average) on the test set, without training.
int evaluate_checkpoint(const std::string& path, const std::vector<std::string>& args) {
  const Metadata metadata = load_safetensors(path).metadata;
  Config cfg = saved_settings(metadata, path);
  cfg.apply_args(args);
  check_settings(cfg);
  set_num_threads(static_cast<int>(cfg.get_int("threads")));

  LessonData data = load_data(cfg, /*split_validation=*/false);
  for (const std::string& line : data.notice) std::cout << line << "\n";
  Generator gen(cfg.get_int("seed"));
  std::shared_ptr<Module> model = build_model(cfg, data.num_classes(), data.channels(), gen);
  std::shared_ptr<Module> average;
  if (cfg.get_bool("ema")) average = build_model(cfg, data.num_classes(), data.channels(), gen);
  CheckpointInfo info = load_model_from_checkpoint(path, checkpoint_tensors(*model, average.get()));
  std::cout << "loaded " << path << " (" << display_name(cfg.get_string("model")) << ", after epoch "
            << saved_text(info.extra, "epoch", path, kLessonName) << ", step " << info.step << ")"
            << (average ? ", evaluating its weight average (EMA)" : "") << "\n";
  data.mean = saved_numbers(info.extra, "pixel_mean", path);
  data.std = saved_numbers(info.extra, "pixel_std", path);
  check(static_cast<int64_t>(data.mean.size()) == data.channels() &&
            static_cast<int64_t>(data.std.size()) == data.channels(),
        "cifar: ", path, ": metadata \"pixel_mean\"/\"pixel_std\" should have one number per channel (",
        data.channels(), ")");
  for (double s : data.std) check(s > 0, "cifar: ", path, ": metadata \"pixel_std\" has ", s, ", must be positive");

  const Tensor test_images = normalize(data.test_images, data.mean, data.std);
  Evaluation test = evaluate(average ? *average : *model, test_images, data.test_labels, cfg.get_int("eval_batch_size"),
                             cfg.get_bool("tta"), "test");
  print_test_report(data, test, cfg.get_bool("tta"));
  std::cout << score_line(test.accuracy, cfg.get_string("model")) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  DistributedSession session(argc, argv);
  Config cfg;
  add_settings(cfg);
  try {
    if (!cfg.parse_args(argc, argv)) return 0;
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!cfg.get_string("eval").empty()) return evaluate_checkpoint(cfg.get_string("eval"), args);
    check_settings(cfg);
    if (!cfg.get_string("compare").empty()) return compare(cfg, args);
    train(cfg, args);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    if (world_size() > 1) abort_all_ranks(1);
    return 1;
  }
}
