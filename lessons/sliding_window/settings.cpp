// Every setting of the sliding-window lesson. The defaults are the run `./run.sh sliding_window`
// makes: a few minutes on two cores; the figures they reach are in lessons/sliding_window/README.md.
#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "datasets/mnist.h"
#include "lessons/common/device.h"
#include "lessons/sliding_window/lesson.h"

namespace ember::sliding_window {

void add_settings(Config& cfg) {
  // the data
  cfg.add_string("dataset", "mnist", "digits pasted into the scenes: mnist, or fashion (Fashion-MNIST items)");
  cfg.add_string("data_dir", kMnistDir, "folder with the MNIST IDX files (scripts/get_mnist.sh fills it)");
  cfg.add_string("fashion_dir", kFashionMnistDir, "folder with the Fashion-MNIST IDX files");
  cfg.add_int("train_scenes", 800, "scenes the training patches are cut from (a tenth more for validation)");
  cfg.add_int("scenes", 100, "test scenes the two detectors are scored on");

  // the classifier and its training
  cfg.add_int("epochs", 4, "passes over the training patches");
  cfg.add_int("batch_size", 64, "patches per optimizer step");
  cfg.add_float("lr", 2e-3, "learning rate of AdamW");
  cfg.add_int("seed", 0, "seed of the scenes, the patches, the initial weights and the shuffling");

  // the detector
  cfg.add_string("scales", "1,0.75,0.5",
                 "the scene is resized by each of these factors and searched with a 28x28 window: a factor s "
                 "finds digits about 20/s pixels tall");
  cfg.add_int("stride", 4, "pixels between neighbouring windows (in the resized scene); a multiple of the "
                           "network's total stride, 4");
  cfg.add_float("score_threshold", 0.6, "a window is a detection when its best digit has at least this probability");
  cfg.add_float("nms_iou", 0.3,
                "non-max suppression drops a box whose IoU with a better box of its class is above this");

  // the machine and the outputs
  cfg.add_int("threads", 0, "threads for the math (0: EMBER_NUM_THREADS, else all cores)");
  cfg.add_string("device", "cpu", "cpu, cuda (the GPU: an error without one) or auto (the GPU when there is one)");
  cfg.add_string("out_dir", "runs/sliding_window",
                 "where history.csv, curves.png, metrics.json, the PNGs and classifier.safetensors go");
  cfg.add_int("print_every", 50, "a progress line every this many steps");
  cfg.add_int("show_scenes", 12, "test scenes drawn in detections.png");
  cfg.add_string("eval", "", "a classifier.safetensors to score on the test scenes instead of training");
}

namespace {

void check_choice(const Config& cfg, const std::string& key, const std::vector<std::string>& choices) {
  const std::string& value = cfg.get_string(key);
  std::string listed;
  for (const std::string& choice : choices) {
    if (value == choice) return;
    listed += (listed.empty() ? "" : ", ") + choice;
  }
  fail("sliding_window: --", key, "='", value, "' is not one of: ", listed);
}

// Integers in [low, high]; the upper bounds stop slips (--scenes=100000000) before they ask for
// hours or gigabytes.
void check_int_range(const Config& cfg, const std::string& key, int64_t low, int64_t high) {
  const int64_t value = cfg.get_int(key);
  check(value >= low && value <= high, "sliding_window: --", key, " must be from ", low, " to ", high, ", got ",
        value);
}

void check_float_range(const Config& cfg, const std::string& key, double low, double high) {
  const double value = cfg.get_float(key);
  check(value >= low && value <= high, "sliding_window: --", key, " must be from ", low, " to ", high, ", got ",
        value);
}

}  // namespace

std::vector<double> parse_scales(const std::string& text) {
  std::vector<double> scales;
  std::istringstream entries(text);
  for (std::string entry; std::getline(entries, entry, ',');) {
    double value = 0.0;
    const char* end = entry.data() + entry.size();
    auto [ptr, ec] = std::from_chars(entry.data(), end, value);
    check(!entry.empty() && ec == std::errc() && ptr == end && std::isfinite(value) && value > 0.0 && value <= 4.0,
          "sliding_window: --scales='", text, "': entry '", entry,
          "' is not a number in (0, 4] (write the factors separated by commas, e.g. --scales=1,0.75,0.5)");
    scales.push_back(value);
  }
  check(!scales.empty() && scales.size() <= 16, "sliding_window: --scales='", text,
        "' must list 1 to 16 factors, e.g. --scales=1,0.75,0.5");
  return scales;
}

void check_settings(const Config& cfg) {
  check_choice(cfg, "dataset", {"mnist", "fashion"});
  check_int_range(cfg, "train_scenes", 1, 1000000);
  check_int_range(cfg, "scenes", 1, 100000);
  check_int_range(cfg, "epochs", 1, 10000);
  check_int_range(cfg, "batch_size", 1, 65536);
  check_int_range(cfg, "seed", 0, std::numeric_limits<int64_t>::max());
  check_int_range(cfg, "threads", 0, 1024);
  check_int_range(cfg, "print_every", 1, 1000000000);
  check_int_range(cfg, "show_scenes", 0, 100);
  check_int_range(cfg, "stride", 4, 64);
  // The fully convolutional net gives a score every 4 pixels; a stride that is not a multiple of 4
  // asks for windows it never computes, and the two detectors would not see the same windows.
  check(cfg.get_int("stride") % 4 == 0, "sliding_window: --stride must be a multiple of 4 (the network's total "
        "stride: two 2x2 poolings), got ", cfg.get_int("stride"));
  check(cfg.get_float("lr") > 0.0, "sliding_window: --lr must be positive, got ", cfg.get_float("lr"));
  check_float_range(cfg, "lr", 0.0, 10.0);
  check_float_range(cfg, "score_threshold", 0.0, 1.0);
  check_float_range(cfg, "nms_iou", 0.0, 1.0);
  parse_scales(cfg.get_string("scales"));
  check(is_device_setting(cfg.get_string("device")), "sliding_window: --device must be cpu, cuda or auto, got \"",
        cfg.get_string("device"), "\"");
}

}  // namespace ember::sliding_window
