// The MNIST lesson: train a network on handwritten digits and put its score on the course's
// hi-score board (the best so far: 0.9824 with an SVC; 0.9906 by a Keras net, disqualified for
// overfitting - tuned on the test set).
//
//   ./run.sh                                        the CNN on the real digits (a few minutes)
//   ./run.sh mnist --model=mlp                      the same with a plain multi-layer perceptron
//   ./run.sh mnist --config=lessons/mnist/configs/fashion_best.conf
//   build/bin/mnist --eval=runs/mnist/checkpoint.safetensors
//   ./run.sh mnist --help                           every setting with its default
//
// The story, in order: settings -> data (train / validation / test) -> model -> for each epoch:
// train, then validate -> test once -> report. The parts live in the files named in lesson.h.
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "core/ops.h"
#include "core/parallel.h"
#include "datasets/dataset.h"
#include "lessons/common/csv.h"
#include "core/fs.h"
#include "lessons/common/json.h"
#include "lessons/common/number_format.h"
#include "lessons/common/device.h"
#include "lessons/common/saved_metadata.h"
#include "distributed/distributed.h"
#include "lessons/common/run_lock.h"
#include "lessons/mnist/lesson.h"

using namespace ember;
using namespace ember::mnist;

namespace {

const std::string kLessonName = "mnist";  // what the metadata errors start with

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The model's parameters and buffers by name, as the checkpoint functions take them.
NamedTensors model_tensors(const Module& model) {
  StateDict state = model.state_dict();
  return NamedTensors(state.begin(), state.end());
}

// ---- what a checkpoint of this lesson records beyond the weights ----
// Every value is read through these, so that a missing or edited entry is an error naming the key
// and the file (not std::map::at or std::stod).

// The epochs trained so far, one line each: epoch, lr, train loss and accuracy, validation loss
// and accuracy, seconds - as history.csv, with numbers that read back to the same bits.
std::string history_text(const std::vector<EpochRecord>& history) {
  std::string text;
  for (const EpochRecord& r : history)
    text += std::to_string(r.epoch) + "," + format_shortest(r.lr) + "," + format_shortest(r.train_loss) + "," +
            format_shortest(r.train_accuracy) + "," + format_shortest(r.val_loss) + "," +
            format_shortest(r.val_accuracy) + "," + format_shortest(r.seconds) + "\n";
  return text;
}

std::vector<EpochRecord> parse_history(const std::string& text, const std::string& path) {
  std::vector<EpochRecord> history;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<double> v;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) v.push_back(parse_saved_number(cell, "history", path, kLessonName));
    const int64_t expected_epoch = static_cast<int64_t>(history.size()) + 1;
    check(v.size() == 7 && v[0] == static_cast<double>(expected_epoch), "mnist: ", path,
          ": metadata \"history\" line ", expected_epoch, " = \"", line, "\" should be epoch ", expected_epoch,
          " and six numbers, separated by commas");
    history.push_back({expected_epoch, v[1], v[2], v[3], v[4], v[5], v[6]});
  }
  return history;
}

// --resume: the settings saved with the checkpoint, then the command line on top (--epochs=20
// trains on for longer). stop_after_epoch is not inherited: the resumed run goes on to the end.
Config resumed_settings(const Metadata& metadata, const std::string& path, const std::vector<std::string>& args) {
  check(metadata.count("lesson") && metadata.at("lesson") == "mnist", "mnist: --resume: ", path,
        " is not a checkpoint of the mnist lesson (its metadata has no lesson = mnist)");
  Config cfg;
  add_settings(cfg);
  cfg.parse_text(saved_text(metadata, "config", path, kLessonName), path + " (the settings saved with the model)");
  cfg.set("stop_after_epoch", "0", "--resume");
  cfg.apply_args(args);
  cfg.set("resume", "True", "--resume");
  check_settings(cfg);
  return cfg;
}

// The test set's verdict, printed the same way after training and for --eval.
void print_test_report(const LessonData& data, const Evaluation& test) {
  std::cout << format_line("\ntest: loss %.4f, accuracy %.5f on %lld images of %s (never seen in training)\n\n",
                           test.loss, test.accuracy, static_cast<long long>(data.test_labels.numel()),
                           data.title.c_str());
  std::cout << format_confusion_matrix(confusion_matrix(data.test_labels, test.predictions, 10), data.class_names)
            << "\n";
}

int train(Config& cfg, const std::vector<std::string>& args) {
  check_settings(cfg);
  const std::string out_dir = cfg.get_string("out_dir");
  const std::string checkpoint_path = out_dir + "/checkpoint.safetensors";
  // One run at a time in out_dir: a second one stops here, before it touches any file. Under
  // mpirun only process 0 writes files (the others train with it and print nothing).
  const bool writes = is_main_process();
  make_dirs(out_dir);
  std::optional<RunLock> lock;
  if (writes) lock.emplace(out_dir, "mnist");
  Metadata resumed;  // --resume: the checkpoint's metadata
  if (cfg.get_bool("resume")) {
    check(file_exists(checkpoint_path), "mnist: --resume, but there is no checkpoint ", checkpoint_path,
          " (train once without --resume, with the same --out_dir)");
    resumed = load_safetensors(checkpoint_path).metadata;
    cfg = resumed_settings(resumed, checkpoint_path, args);
    check(cfg.get_string("out_dir") == out_dir, "mnist: --resume: ", checkpoint_path, " was saved with --out_dir=",
          cfg.get_string("out_dir"), "; resume it with that --out_dir, or copy the folder");
  }
  set_num_threads(static_cast<int>(cfg.get_int("threads")));
  const int64_t epochs = cfg.get_int("epochs"), eval_batch_size = cfg.get_int("eval_batch_size");

  // ---- data: train / validation / test ----
  LessonData data = load_data(cfg);
  cfg.set("dataset", data.dataset, "the data found");  // what the saved settings record
  check(!(data.dataset == "mnist" && cfg.get_bool("hflip")),
        "mnist: --hflip mirrors the images, and a mirrored digit is another symbol or none: use it for fashion only");
  std::cout << format_line("data: %s from %s/: %lld train, %lld validation, %lld test images; pixels normalised "
                           "with the training set's mean %.4f and std %.4f\n",
                           data.title.c_str(), data.folder.c_str(), static_cast<long long>(data.train_labels.numel()),
                           static_cast<long long>(data.val_labels.numel()),
                           static_cast<long long>(data.test_labels.numel()), data.mean, data.std);
  TensorDataset train_set(data.train_images, data.train_labels);
  DataLoader loader(train_set, cfg.get_int("batch_size"), /*shuffle=*/true, cfg.get_int("seed"),
                    /*drop_last=*/false, training_transform(cfg, data.mean, data.std));
  loader.set_shard(rank(), world_size());  // under mpirun: this process's slice of every batch
  const Tensor val_images = normalize(data.val_images, {data.mean}, {data.std});

  // ---- model and optimizer ----
  Generator gen(cfg.get_int("seed"));
  std::shared_ptr<Sequential> model = build_model(cfg, gen);
  std::cout << "\n" << model->summary({1, 1, 28, 28}) << "\n";
  const Device device = choose_device(cfg.get_string("device"));  // --device: cpu, cuda or auto
  model->to(device);  // before the optimizer, whose state is made where the parameters are
  std::cout << device_line(device) << "\n";
  std::unique_ptr<Optimizer> optimizer = build_optimizer(cfg, *model);
  const auto schedule = build_schedule(cfg, epochs * loader.num_batches());

  // ---- a resumed run: weights, optimizer, generator and step as they were after the saved epoch
  int64_t step = 0, first_epoch = 1;
  std::vector<EpochRecord> history;
  if (!resumed.empty()) {
    CheckpointInfo info = load_checkpoint(checkpoint_path, model_tensors(*model), *optimizer);
    gen.set_state(info.rng_state);  // dropout continues with the same masks
    step = info.step;
    const double done = saved_number(info.extra, "epoch", checkpoint_path, kLessonName);
    check(done >= 1 && done == std::floor(done) && done <= static_cast<double>(epochs), "mnist: ", checkpoint_path,
          ": metadata \"epoch\" = ", done, " should be a whole number from 1 to --epochs (", epochs, ")");
    check(done < static_cast<double>(epochs), "mnist: ", checkpoint_path, " is already at epoch ", done, " of ",
          epochs, ": nothing left to train (--resume --epochs=N with a larger N trains on)");
    first_epoch = static_cast<int64_t>(done) + 1;
    history = parse_history(saved_text(info.extra, "history", checkpoint_path, kLessonName), checkpoint_path);
    check(static_cast<int64_t>(history.size()) == first_epoch - 1, "mnist: ", checkpoint_path,
          ": metadata \"history\" has ", history.size(), " epochs, but \"epoch\" says ", first_epoch - 1);
    const double saved_mean = saved_number(info.extra, "pixel_mean", checkpoint_path, kLessonName);
    const double saved_std = saved_number(info.extra, "pixel_std", checkpoint_path, kLessonName);
    check(saved_mean == data.mean && saved_std == data.std, "mnist: --resume: the training images in ", data.folder,
          "/ are not those the checkpoint was trained on (pixel mean and std ", data.mean, ", ", data.std,
          "; the checkpoint's ", saved_mean, ", ", saved_std, ")");
    loader.set_epoch(first_epoch - 1);  // the loader counts epochs from 0: the same shuffles and augmentation
    std::cout << "resuming from " << checkpoint_path << " after epoch " << first_epoch - 1 << " (step " << step
              << ")\n";
  }
  broadcast_parameters(*model);  // under mpirun: every process starts from process 0's weights
  if (cfg.get_bool("sync_batchnorm")) synchronise_batch_norm(*model);
  std::cout << format_line("training: %lld epochs of %lld steps, batch %lld, %s lr %g (%s), %d threads%s\n",
                           static_cast<long long>(epochs), static_cast<long long>(loader.num_batches()),
                           static_cast<long long>(cfg.get_int("batch_size")), cfg.get_string("optimizer").c_str(),
                           cfg.get_float("lr"), cfg.get_string("schedule").c_str(), get_num_threads(),
                           world_size() > 1 ? format_line(" x %d processes (mpirun)", world_size()).c_str() : "")
            << std::flush;  // shown now, also when the output goes through a pipe (| tee log.txt)

  // ---- train, validating after every epoch ----
  // A resumed run rewrites the rows of the epochs in its checkpoint (and drops any written after it).
  std::optional<CsvWriter> history_csv;
  if (writes) {
    write_file_atomic(out_dir + "/settings.conf", cfg.dump());  // --config=<this> repeats the run
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
  const double seconds_before = history.empty() ? 0.0 : history.back().seconds;  // of the earlier part
  const Clock::time_point start = Clock::now();
  for (int64_t epoch = first_epoch; epoch <= epochs; ++epoch) {
    Progress progress(loader.num_batches(), cfg.get_int("print_every"));
    progress.set_prefix(format_line("epoch %lld/%lld", static_cast<long long>(epoch), static_cast<long long>(epochs)));
    const std::string graph_path = epoch == first_epoch && writes ? cfg.get_string("graph") : "";  // --graph
    EpochResult trained =
        train_one_epoch(*model, *optimizer, loader, schedule, step, epoch, last_finite, progress, graph_path);
    images_trained += trained.images;
    step_seconds += trained.step_seconds;
    // Batch norm's running statistics are each process's own: take process 0's everywhere, so all
    // evaluate (and save) the same model.
    broadcast_buffers(*model);
    Evaluation val = evaluate(*model, val_images, data.val_labels, eval_batch_size, "validation");

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
    // Saved every epoch, atomically: a run stopped early still leaves a usable model.
    if (writes)
      save_checkpoint(checkpoint_path, model_tensors(*model), *optimizer, step, gen.state(),
                    {{"lesson", "mnist"},
                     {"config", cfg.dump()},
                     {"epoch", std::to_string(epoch)},
                     {"pixel_mean", format_shortest(data.mean)},
                     {"pixel_std", format_shortest(data.std)},
                     {"history", history_text(history)}});
    if (epoch == cfg.get_int("stop_after_epoch") && epoch < epochs) {
      std::cout << "stopped after epoch " << epoch << " of " << epochs << " (--stop_after_epoch); "
                << checkpoint_path << " holds the run: --resume --out_dir=" << out_dir << " continues it\n";
      return 0;
    }
  }
  const double train_seconds = seconds_since(start);
  const double images_per_second = static_cast<double>(images_trained) / step_seconds;

  // ---- test, once ----
  const Tensor test_images = normalize(data.test_images, {data.mean}, {data.std});
  Evaluation test = evaluate(*model, test_images, data.test_labels, eval_batch_size, "test");
  print_test_report(data, test);
  if (!writes) return 0;

  // ---- report ----
  const int64_t shown = save_misclassified(out_dir + "/misclassified.png", data.test_images, data.test_labels,
                                           test.predictions, data.class_names, cfg.get_int("show_misclassified"));
  save_curves(out_dir + "/curves.png",
              format_line("%s, %s: test accuracy %.5f", data.title.c_str(), cfg.get_string("model").c_str(),
                          test.accuracy),
              history);
  JsonObject metrics;
  metrics.set("dataset", data.dataset)
      .set("data_dir", data.folder)
      .set("model", cfg.get_string("model"))
      .set("epochs", epochs)
      .set("batch_size", cfg.get_int("batch_size"))
      .set("optimizer", cfg.get_string("optimizer"))
      .set("lr", cfg.get_float("lr"))
      .set("schedule", cfg.get_string("schedule"))
      .set("augment", cfg.get_bool("augment"))
      .set("batchnorm", cfg.get_bool("batchnorm"))
      .set("dropout", cfg.get_float("dropout"))
      .set("seed", cfg.get_int("seed"))
      .set("threads", get_num_threads())
      .set("processes", world_size())
      .set("params", model->num_parameters())
      .set("train_images", data.train_labels.numel())
      .set("val_images", data.val_labels.numel())
      .set("test_images", data.test_labels.numel())
      .set("test_accuracy", test.accuracy)
      .set("test_loss", test.loss)
      .set("val_accuracy", history.back().val_accuracy)
      .set("val_loss", history.back().val_loss)
      .set("train_images_per_second", images_per_second)
      .set("train_seconds", train_seconds)
      .set("confusion_matrix", confusion_matrix(data.test_labels, test.predictions, 10));
  metrics.save(out_dir + "/metrics.json");
  std::cout << format_line("time: %.1f s of training (validation included), %.0f images/s in the training steps\n",
                           train_seconds, images_per_second);
  if (device == Device::CUDA) std::cout << memory_line(device) << "\n";
  std::cout << "wrote " << out_dir << "/: history.csv, curves.png, metrics.json, settings.conf, checkpoint.safetensors"
            << (shown > 0 ? ", misclassified.png (" + std::to_string(shown) + " test images)" : "") << "\n";
  std::cout << score_line(test.accuracy, cfg.get_string("model")) << std::endl;  // the board's line, last
  return 0;
}

// --eval=CHECKPOINT: the model a training run saved, on the test set, without training.
int evaluate_checkpoint(const std::string& path, const std::vector<std::string>& args) {
  const Metadata metadata = load_safetensors(path).metadata;
  check(metadata.count("lesson") && metadata.at("lesson") == "mnist" && metadata.count("config"),
        "mnist: ", path, " is not a checkpoint of the mnist lesson (its metadata has no lesson = mnist and config)");
  // The settings the model was trained with (its architecture, its dataset), then the command line
  // on top (e.g. --threads, --data_dir when the files have moved).
  Config cfg;
  add_settings(cfg);
  cfg.parse_text(saved_text(metadata, "config", path, kLessonName), path + " (the settings saved with the model)");
  cfg.apply_args(args);
  check_settings(cfg);
  set_num_threads(static_cast<int>(cfg.get_int("threads")));

  LessonData data = load_data(cfg, /*split_validation=*/false);
  Generator gen(cfg.get_int("seed"));
  std::shared_ptr<Sequential> model = build_model(cfg, gen);
  std::cout << model->summary({1, 1, 28, 28}) << "\n";
  CheckpointInfo info = load_model_from_checkpoint(path, model_tensors(*model));
  std::cout << "loaded " << path << " (" << data.title << ", after epoch " << saved_text(info.extra, "epoch", path, kLessonName)
            << ", step " << info.step << ")\n";
  data.mean = saved_number(info.extra, "pixel_mean", path, kLessonName);
  data.std = saved_number(info.extra, "pixel_std", path, kLessonName);
  check(data.std > 0, "mnist: ", path, ": metadata \"pixel_std\" = ", data.std, " must be positive");

  const Tensor test_images = normalize(data.test_images, {data.mean}, {data.std});
  Evaluation test = evaluate(*model, test_images, data.test_labels, cfg.get_int("eval_batch_size"), "test");
  print_test_report(data, test);
  std::cout << score_line(test.accuracy, cfg.get_string("model")) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  DistributedSession session(argc, argv);  // mpirun -np 2 build/bin/mnist: data-parallel training
  Config cfg;
  add_settings(cfg);
  try {
    if (!cfg.parse_args(argc, argv)) return 0;  // --help printed every key
    if (!cfg.get_string("eval").empty())
      return evaluate_checkpoint(cfg.get_string("eval"), std::vector<std::string>(argv + 1, argv + argc));
    return train(cfg, std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    if (world_size() > 1) abort_all_ranks(1);  // the other processes would wait for this one forever
    return 1;
  }
}
