// Every setting of the MNIST lesson. The defaults are the run a class starts with `./run.sh`: the
// CNN on the real digits, trained for a few minutes on two cores; the figures they reach are in
// lessons/mnist/README.md. configs/*.conf hold other recipes (e.g. the best one for Fashion-MNIST).
#include <limits>
#include <string>

#include "datasets/mnist.h"
#include "lessons/common/device.h"
#include "lessons/mnist/lesson.h"

namespace ember::mnist {

void add_settings(Config& cfg) {
  // what to train on, and what
  cfg.add_string("model", "cnn", "cnn (conv32-pool-conv64-pool-fc128-fc10) or mlp (784-256-128-10)");
  cfg.add_string("dataset", "mnist", "mnist (handwritten digits) or fashion (Fashion-MNIST, photos of clothes)");
  cfg.add_string("data_dir", kMnistDir, "folder with the MNIST IDX files (scripts/get_mnist.sh fills it)");
  cfg.add_string("fashion_dir", kFashionMnistDir, "folder with the Fashion-MNIST IDX files");
  cfg.add_float("val_fraction", 0.1, "the last part of the training files held out for validation");
  cfg.add_bool("batchnorm", false, "batch normalisation after every conv/hidden linear layer");
  cfg.add_bool("sync_batchnorm", false, "under mpirun: batch norm uses the statistics of all processes' images");
  cfg.add_float("dropout", 0.25, "dropout probability before the last layer (0: none)");

  // how to train
  cfg.add_int("epochs", 12, "passes over the training images");
  cfg.add_int("batch_size", 64, "images per optimizer step");
  cfg.add_string("optimizer", "adamw", "adamw or sgd (with momentum)");
  cfg.add_float("lr", 1e-3, "learning rate (the peak, with a schedule)");
  cfg.add_float("momentum", 0.9, "momentum of sgd (Nesterov)");
  cfg.add_float("weight_decay", 0.01, "weight decay of conv/linear weights (not biases or norms)");
  cfg.add_string("schedule", "cosine", "learning rate over the run: constant, or cosine (warmup, then down to min_lr)");
  cfg.add_int("warmup_steps", 100, "cosine: steps of linear warmup from 0 to lr");
  cfg.add_float("min_lr", 1e-5, "cosine: the learning rate at the end of the run");
  cfg.add_bool("augment", true, "random shifts and small rotations of the training images");
  cfg.add_int("max_shift", 2, "augment: largest shift in pixels, in each direction");
  cfg.add_float("rotation", 10.0, "augment: largest rotation in degrees, either way (0: none)");
  cfg.add_bool("hflip", false, "augment: mirror left-right half the time (fashion only: a mirrored 2 is no 2)");
  cfg.add_int("seed", 0, "seed of the initial weights, the shuffling, the augmentation and dropout");

  // the machine and the outputs
  cfg.add_int("threads", 0, "threads for the math (0: EMBER_NUM_THREADS, else all cores)");
  cfg.add_string("device", "cpu", "cpu, cuda (the GPU: an error without one) or auto (the GPU when there is one)");
  cfg.add_string("out_dir", "runs/mnist", "where history.csv, curves.png, metrics.json and the checkpoint go");
  cfg.add_string("graph", "", "FILE.dot: write the first training step's autograd graph there (and FILE.png/.svg "
                 "when Graphviz's dot is installed)");
  cfg.add_int("print_every", 50, "a progress line every this many steps");
  cfg.add_int("eval_batch_size", 500, "images per forward pass when evaluating");
  cfg.add_int("show_misclassified", 36, "misclassified test images saved in misclassified.png");
  cfg.add_string("eval", "", "a checkpoint to evaluate on the test set instead of training");
  cfg.add_bool("resume", false,
               "continue the run in out_dir from its checkpoint (its settings, then the command line on top)");
  cfg.add_int("stop_after_epoch", 0,
              "stop after this epoch, checkpoint saved (0: train all epochs); --resume continues the same run");
}

namespace {

void check_choice(const Config& cfg, const std::string& key, const std::vector<std::string>& choices) {
  const std::string& value = cfg.get_string(key);
  std::string listed;
  for (const std::string& choice : choices) {
    if (value == choice) return;
    listed += (listed.empty() ? "" : ", ") + choice;
  }
  fail("mnist: --", key, "='", value, "' is not one of: ", listed);
}

void check_at_least(const Config& cfg, const std::string& key, int64_t low) {
  check(cfg.get_int(key) >= low, "mnist: --", key, " must be at least ", low, ", got ", cfg.get_int(key));
}

// Integers in [low, high]. The upper bounds are far beyond any sensible run; they stop a value
// that could only be a slip (--batch_size=100000000) before it asks for terabytes of memory.
void check_int_range(const Config& cfg, const std::string& key, int64_t low, int64_t high) {
  const int64_t value = cfg.get_int(key);
  check(value >= low && value <= high, "mnist: --", key, " must be from ", low, " to ", high, ", got ", value);
}

// Numbers in [low, high] (the Config reader has already refused nan and inf).
void check_float_range(const Config& cfg, const std::string& key, double low, double high) {
  const double value = cfg.get_float(key);
  check(value >= low && value <= high, "mnist: --", key, " must be from ", low, " to ", high, ", got ", value);
}

}  // namespace

void check_settings(const Config& cfg) {
  check_choice(cfg, "model", {"cnn", "mlp"});
  check_choice(cfg, "dataset", {"mnist", "fashion"});
  check_choice(cfg, "optimizer", {"adamw", "sgd"});
  check_choice(cfg, "schedule", {"constant", "cosine"});
  // every number has a range
  check_at_least(cfg, "epochs", 1);
  check_int_range(cfg, "epochs", 1, 100000);
  check_int_range(cfg, "batch_size", 1, 65536);
  check_int_range(cfg, "eval_batch_size", 1, 65536);
  check_int_range(cfg, "print_every", 1, 1000000000);
  check_int_range(cfg, "warmup_steps", 0, 1000000000);
  check_int_range(cfg, "max_shift", 0, 27);  // 28 pixels or more moves the whole digit out
  check_int_range(cfg, "show_misclassified", 0, 1000);
  check_int_range(cfg, "seed", 0, std::numeric_limits<int64_t>::max());
  check_int_range(cfg, "threads", 0, 1024);
  check(is_device_setting(cfg.get_string("device")), "mnist: --device must be cpu, cuda or auto, got \"",
        cfg.get_string("device"), "\"");
  check_int_range(cfg, "stop_after_epoch", 0, cfg.get_int("epochs"));
  const double val_fraction = cfg.get_float("val_fraction");
  check(val_fraction > 0.0 && val_fraction < 1.0, "mnist: --val_fraction must be between 0 and 1, got ",
        val_fraction);
  check(cfg.get_float("lr") > 0.0, "mnist: --lr must be positive, got ", cfg.get_float("lr"));
  check_float_range(cfg, "lr", 0.0, 1e6);
  // cosine glides down from lr to min_lr
  check_float_range(cfg, "min_lr", 0.0, cfg.get_string("schedule") == "cosine" ? cfg.get_float("lr") : 1e6);
  check_float_range(cfg, "momentum", 0.0, 0.999);
  check_float_range(cfg, "weight_decay", 0.0, 100.0);
  check_float_range(cfg, "rotation", 0.0, 180.0);
  const double dropout = cfg.get_float("dropout");
  check(dropout >= 0.0 && dropout < 1.0, "mnist: --dropout must be in [0, 1), got ", dropout);
}

}  // namespace ember::mnist
