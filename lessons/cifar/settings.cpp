// Every setting of the CIFAR-10 lesson. The defaults are ResNet-20 with the paper's recipe (SGD
// with momentum, lr 0.1 divided by 10 at 50% and 75% of the run, crop + flip), cut to a few epochs
// so that `./run.sh cifar` ends on a laptop; configs/*.conf hold the paper's full run, the best
// 30-minute CPU run and the plain-vs-ResNet comparison. The figures they reach are in README.md.
#include <limits>
#include <string>

#include "datasets/cifar10.h"
#include "datasets/mnist.h"
#include "lessons/cifar/lesson.h"
#include "lessons/common/device.h"

namespace ember::cifar {

const std::vector<std::string>& lesson_models() {
  static const std::vector<std::string> models = {"resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
                                                  "plain20",  "plain56",  "resnet18", "cnn"};
  return models;
}

void add_settings(Config& cfg) {
  // what to train on
  cfg.add_string("data", "", "a folder of your own photos, one sub-folder per class (an ImageFolder); empty: CIFAR-10");
  cfg.add_string("data_dir", kCifar10Dir, "folder with the six CIFAR-10 .bin files (scripts/get_cifar10.sh fills it)");
  cfg.add_string("fashion_dir", kFashionMnistDir, "Fashion-MNIST, the fallback when CIFAR-10 is not in the default data_dir");
  cfg.add_int("image_size", 32, "--data: every photo is resized to image_size x image_size");
  cfg.add_float("test_fraction", 0.2, "--data without train/ and test/ sub-folders: the part of each class kept for testing");
  cfg.add_float("val_fraction", 0.1, "the last part of the training images held out for validation (0.1: CIFAR's 45k/5k)");
  cfg.add_int("train_images", 0, "train on only the first this many training images (0: all), for short runs");
  cfg.add_int("test_images", 0, "score on only the first this many test images (0: all), for short runs");
  cfg.add_string("normalize", "dataset", "dataset (per-channel mean/std of the training images) or none");

  // the model
  cfg.add_string("model", "resnet20", "resnet20|resnet32|resnet44|resnet56|resnet110 (CIFAR ResNets, 6n+2 layers), "
                 "plain20|plain56 (the same without shortcuts), resnet18 (ImageNet layout), cnn (a small VGG-style net)");
  cfg.add_string("shortcut", "A", "how a ResNet block that halves the picture reaches its output: A (zero-padded "
                 "identity, no parameters) or B (1x1 convolution + batch norm)");
  cfg.add_string("compare", "", "comma-separated models trained one after the other with these settings, their "
                 "training and validation error drawn on one plot (compare.png), e.g. plain20,plain56,resnet20,resnet56");

  // how to train
  cfg.add_int("epochs", 4, "passes over the training images");
  cfg.add_int("batch_size", 128, "images per optimizer step");
  cfg.add_string("optimizer", "sgd", "sgd (with momentum) or adamw");
  cfg.add_float("lr", 0.1, "learning rate (the peak, after warmup)");
  cfg.add_float("momentum", 0.9, "momentum of sgd");
  cfg.add_bool("nesterov", false, "sgd: Nesterov momentum (look ahead along the momentum before taking the gradient)");
  cfg.add_float("weight_decay", 1e-4, "weight decay of conv/linear weights (not biases or batch norms)");
  cfg.add_string("schedule", "step", "step (lr / 10 at 50% and at 75% of the run, the paper's), cosine, or constant");
  cfg.add_int("warmup_steps", 0, "steps of linear warmup from 0 to lr before the schedule");
  cfg.add_float("min_lr", 0.0, "cosine: the learning rate at the end of the run");
  cfg.add_float("label_smoothing", 0.0, "eps: the targets are 1 - eps + eps/K for the true class and eps/K for the others");
  cfg.add_bool("ema", false, "evaluate an exponential moving average of the weights instead of the weights");
  cfg.add_float("ema_decay", 0.999, "--ema: ema <- decay * ema + (1 - decay) * weights after every step");
  cfg.add_bool("tta", false, "test-time augmentation: average the logits of each image and its mirror image");

  // augmentation (on the training images only)
  cfg.add_bool("augment", true, "augment the training images as the keys below say");
  cfg.add_int("crop_padding", 4, "augment: pad by this many pixels, then crop back at a random place (0: none)");
  cfg.add_string("padding_mode", "zero", "augment: what the crop's padding is: zero, reflect or edge");
  cfg.add_bool("hflip", true, "augment: mirror left-right half the time (right for photos, wrong for digits)");
  cfg.add_float("color_jitter", 0.0, "augment: brightness, contrast and saturation each scaled by a factor in "
                "[1 - x, 1 + x] (0: none; 0.4 is common for photos)");
  cfg.add_int("cutout", 0, "augment: black out a square of this side at a random place (0: none; the paper uses 16)");
  cfg.add_int("seed", 0, "seed of the initial weights, the shuffling and the augmentation");

  // the machine and the outputs
  cfg.add_int("threads", 0, "threads for the math (0: EMBER_NUM_THREADS, else all cores)");
  cfg.add_string("device", "cpu", "cpu, cuda (the GPU: an error without one) or auto (the GPU when there is one)");
  cfg.add_string("out_dir", "runs/cifar", "where history.csv, curves.png, metrics.json and the checkpoint go");
  cfg.add_int("print_every", 50, "a progress line every this many steps");
  cfg.add_int("eval_batch_size", 500, "images per forward pass when evaluating");
  cfg.add_int("show_misclassified", 36, "misclassified test images saved in misclassified.png");
  cfg.add_string("eval", "", "a checkpoint to evaluate on the test set instead of training");
  cfg.add_bool("resume", false, "continue the run in out_dir from its checkpoint (its settings, then the command line on top)");
  cfg.add_int("stop_after_epoch", 0, "stop after this epoch, checkpoint saved (0: train all epochs); --resume continues");
}

namespace {

void check_choice(const Config& cfg, const std::string& key, const std::vector<std::string>& choices) {
  const std::string& value = cfg.get_string(key);
  std::string listed;
  for (const std::string& choice : choices) {
    if (value == choice) return;
    listed += (listed.empty() ? "" : ", ") + choice;
  }
  fail("cifar: --", key, "='", value, "' is not one of: ", listed);
}

void check_int_range(const Config& cfg, const std::string& key, int64_t low, int64_t high) {
  const int64_t value = cfg.get_int(key);
  check(value >= low && value <= high, "cifar: --", key, " must be from ", low, " to ", high, ", got ", value);
}

void check_float_range(const Config& cfg, const std::string& key, double low, double high) {
  const double value = cfg.get_float(key);
  check(value >= low && value <= high, "cifar: --", key, " must be from ", low, " to ", high, ", got ", value);
}

}  // namespace

void check_settings(const Config& cfg) {
  check_choice(cfg, "model", lesson_models());
  check_choice(cfg, "shortcut", {"A", "B"});
  check_choice(cfg, "optimizer", {"sgd", "adamw"});
  check_choice(cfg, "schedule", {"step", "cosine", "constant"});
  check_choice(cfg, "normalize", {"dataset", "none"});
  check_choice(cfg, "padding_mode", {"zero", "reflect", "edge"});
  check_int_range(cfg, "epochs", 1, 100000);
  check_int_range(cfg, "batch_size", 1, 65536);
  check_int_range(cfg, "eval_batch_size", 1, 65536);
  check_int_range(cfg, "print_every", 1, 1000000000);
  check_int_range(cfg, "warmup_steps", 0, 1000000000);
  check_int_range(cfg, "image_size", 8, 1024);
  check_int_range(cfg, "train_images", 0, 1000000000);
  check_int_range(cfg, "test_images", 0, 1000000000);
  check_int_range(cfg, "crop_padding", 0, cfg.get_int("image_size") - 1);
  check_int_range(cfg, "cutout", 0, cfg.get_int("image_size"));
  check_int_range(cfg, "show_misclassified", 0, 1000);
  check_int_range(cfg, "seed", 0, std::numeric_limits<int64_t>::max());
  check_int_range(cfg, "threads", 0, 1024);
  check(is_device_setting(cfg.get_string("device")), "cifar: --device must be cpu, cuda or auto, got \"",
        cfg.get_string("device"), "\"");
  check_int_range(cfg, "stop_after_epoch", 0, cfg.get_int("epochs"));
  const double val_fraction = cfg.get_float("val_fraction");
  check(val_fraction > 0.0 && val_fraction < 1.0, "cifar: --val_fraction must be between 0 and 1, got ", val_fraction);
  const double test_fraction = cfg.get_float("test_fraction");
  check(test_fraction > 0.0 && test_fraction < 1.0, "cifar: --test_fraction must be between 0 and 1, got ",
        test_fraction);
  check(cfg.get_float("lr") > 0.0, "cifar: --lr must be positive, got ", cfg.get_float("lr"));
  check_float_range(cfg, "lr", 0.0, 1e6);
  check_float_range(cfg, "min_lr", 0.0, cfg.get_float("lr"));
  check_float_range(cfg, "momentum", 0.0, 0.999);
  check(!cfg.get_bool("nesterov") || cfg.get_float("momentum") > 0.0,
        "cifar: --nesterov needs --momentum above 0 (Nesterov looks ahead along the momentum)");
  check_float_range(cfg, "weight_decay", 0.0, 100.0);
  const double eps = cfg.get_float("label_smoothing");
  check(eps >= 0.0 && eps < 1.0, "cifar: --label_smoothing must be in [0, 1), got ", eps);
  const double decay = cfg.get_float("ema_decay");
  check(decay > 0.0 && decay < 1.0, "cifar: --ema_decay must be between 0 and 1, got ", decay);
  check_float_range(cfg, "color_jitter", 0.0, 1.0);
  if (!cfg.get_string("compare").empty()) {
    std::string list = cfg.get_string("compare") + ",";
    for (size_t begin = 0, end; (end = list.find(',', begin)) != std::string::npos; begin = end + 1) {
      const std::string name = list.substr(begin, end - begin);
      bool known = false;
      for (const std::string& m : lesson_models()) known = known || m == name;
      check(known, "cifar: --compare: '", name, "' is not one of the models of --model (resnet20, plain56, ...)");
    }
  }
}

}  // namespace ember::cifar
