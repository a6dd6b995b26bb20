// Every setting of the transfer lesson. The defaults are the run `./run.sh transfer` makes: a
// small backbone pretrained on 20,000 Fashion-MNIST photos, then 12 short runs on the digits
// (shots 10, 30, 100, all x three regimes): 4 min 32 s on two idle cores, measured
// (lessons/transfer/README.md).
#include <algorithm>
#include <limits>

#include "datasets/cifar10.h"
#include "datasets/mnist.h"
#include "lessons/common/device.h"
#include "lessons/transfer/lesson.h"

namespace ember::transfer {

void add_settings(Config& cfg) {
  // the source task and the backbone
  cfg.add_string("source", "auto", "the task the backbone learns first: fashion (Fashion-MNIST), cifar10 (in grey, "
                 "28x28), or auto (cifar10 when its files are in cifar_dir, else fashion)");
  cfg.add_string("fashion_dir", kFashionMnistDir, "folder with the Fashion-MNIST IDX files");
  cfg.add_string("cifar_dir", kCifar10Dir, "folder with the CIFAR-10 .bin files");
  cfg.add_int("pretrain_images", 20000, "source training images the backbone learns from (0: all)");
  cfg.add_int("pretrain_epochs", 2, "passes over them");
  cfg.add_float("pretrain_lr", 2e-3, "AdamW learning rate of the pretraining (cosine down to 0)");
  cfg.add_int("width", 32, "backbone channels: width, 2 width, 4 width (4 width features)");
  cfg.add_string("backbone", "", "where the pretrained backbone is saved and reused from "
                 "(empty: out_dir/backbone_<source>.safetensors)");
  cfg.add_bool("retrain_backbone", false, "pretrain again even when the backbone file is there");

  // the target task
  cfg.add_string("target_dir", kMnistDir, "folder with the MNIST digits (scripts/get_mnist.sh fills it)");
  cfg.add_string("shots", "10,30,100,all", "labelled target images per class, comma-separated (all: every one)");
  cfg.add_string("regimes", "scratch,frozen,finetune", "which of scratch, frozen, finetune to run");
  cfg.add_int("val_images", 500, "the last this many target training digits: validation for the curves");
  cfg.add_int("test_images", 0, "score on only the first this many test digits (0: all)");

  // how each target run trains
  cfg.add_int("steps", 200, "optimizer steps of every target run (the same budget for every regime)");
  cfg.add_int("batch_size", 64, "images per step (fewer when there are fewer labelled images)");
  cfg.add_float("lr", 3e-3, "AdamW learning rate of the head (and of everything, from scratch)");
  cfg.add_float("backbone_lr_scale", 0.3, "finetune: the backbone's learning rate is lr times this (0.3: chosen on the "
                "validation digits, README.md; clothes' features need to move to fit digits)");
  cfg.add_float("probe_lr_scale", 10.0, "frozen: the new head's learning rate is lr times this (a linear layer on "
                "fixed features takes larger steps than a whole network)");
  cfg.add_string("frozen_bn", "source", "frozen: the batch norms keep the source images' running statistics "
                 "(source), or re-estimate them on the labelled target images before training (target; AdaBN)");
  cfg.add_float("weight_decay", 0.01, "weight decay of conv/linear weights");
  cfg.add_int("max_shift", 2, "augment: shift each training digit by up to this many pixels (0: none; no flips: a "
              "mirrored 2 is no 2)");
  cfg.add_int("curve_points", 5, "validation evaluations per run, for curves.png");

  // the machine and the outputs
  cfg.add_int("seed", 0, "seed of the weights, the shots drawn, the shuffling and the augmentation");
  cfg.add_int("threads", 0, "threads for the math (0: EMBER_NUM_THREADS, else all cores)");
  cfg.add_string("device", "cpu", "cpu, cuda (the GPU: an error without one) or auto (the GPU when there is one)");
  cfg.add_string("out_dir", "runs/transfer", "where transfer.png, curves.png, metrics.json and the models go");
  cfg.add_int("print_every", 100, "a progress line every this many steps");
  cfg.add_string("eval", "", "a model this lesson saved (out_dir/models/*.safetensors) to score on the test digits");
}

std::vector<int64_t> parse_shots(const std::string& text) {
  std::vector<int64_t> shots;
  std::string list = text + ",";
  for (size_t begin = 0, end; (end = list.find(',', begin)) != std::string::npos; begin = end + 1) {
    const std::string item = list.substr(begin, end - begin);
    if (item == "all") {
      shots.push_back(0);
      continue;
    }
    int64_t value = 0;
    bool digits = !item.empty() && item.size() <= 9;
    for (char c : item) digits = digits && c >= '0' && c <= '9';
    if (digits) value = std::stoll(item);
    check(digits && value >= 1, "transfer: --shots='", text, "': '", item,
          "' is not a number of images per class (1 or more) or 'all'");
    shots.push_back(value);
  }
  return shots;
}

std::vector<std::string> parse_regimes(const std::string& text) {
  std::vector<std::string> regimes;
  std::string list = text + ",";
  for (size_t begin = 0, end; (end = list.find(',', begin)) != std::string::npos; begin = end + 1) {
    const std::string item = list.substr(begin, end - begin);
    check(item == "scratch" || item == "frozen" || item == "finetune", "transfer: --regimes='", text, "': '", item,
          "' is not one of scratch, frozen, finetune");
    regimes.push_back(item);
  }
  return regimes;
}

namespace {

void check_int_range(const Config& cfg, const std::string& key, int64_t low, int64_t high) {
  const int64_t value = cfg.get_int(key);
  check(value >= low && value <= high, "transfer: --", key, " must be from ", low, " to ", high, ", got ", value);
}

void check_positive(const Config& cfg, const std::string& key, double high) {
  const double value = cfg.get_float(key);
  check(value > 0.0 && value <= high, "transfer: --", key, " must be above 0 and at most ", high, ", got ", value);
}

}  // namespace

void check_settings(const Config& cfg) {
  const std::string& source = cfg.get_string("source");
  check(source == "auto" || source == "fashion" || source == "cifar10", "transfer: --source='", source,
        "' is not one of: auto, fashion, cifar10");
  parse_shots(cfg.get_string("shots"));
  parse_regimes(cfg.get_string("regimes"));
  const std::string& frozen_bn = cfg.get_string("frozen_bn");
  check(frozen_bn == "source" || frozen_bn == "target", "transfer: --frozen_bn='", frozen_bn,
        "' is not one of: source, target");
  check(is_device_setting(cfg.get_string("device")), "transfer: --device must be cpu, cuda or auto, got \"",
        cfg.get_string("device"), "\"");
  check_int_range(cfg, "pretrain_images", 0, 1000000000);
  check_int_range(cfg, "pretrain_epochs", 1, 10000);
  check_int_range(cfg, "width", 1, 1024);
  check_int_range(cfg, "val_images", 1, 1000000);
  check_int_range(cfg, "test_images", 0, 1000000000);
  check_int_range(cfg, "steps", 1, 100000000);
  check_int_range(cfg, "batch_size", 1, 65536);
  check_int_range(cfg, "max_shift", 0, 27);
  check_int_range(cfg, "curve_points", 1, 1000);
  check_int_range(cfg, "seed", 0, std::numeric_limits<int64_t>::max());
  check_int_range(cfg, "threads", 0, 1024);
  check_int_range(cfg, "print_every", 1, 1000000000);
  check_positive(cfg, "pretrain_lr", 10.0);
  check_positive(cfg, "lr", 10.0);
  check_positive(cfg, "backbone_lr_scale", 100.0);
  check_positive(cfg, "probe_lr_scale", 1000.0);
  const double wd = cfg.get_float("weight_decay");
  check(wd >= 0.0 && wd <= 100.0, "transfer: --weight_decay must be from 0 to 100, got ", wd);
}

}  // namespace ember::transfer
