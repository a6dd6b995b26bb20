// Every setting of the YOLO-lite lesson. The defaults are the run `./run.sh yolo` starts: scenes of
// real MNIST digits, trained on two cores in under half an hour; the figures they reach are in
// lessons/yolo_lite/README.md. configs/*.conf hold the same (default.conf) and a quick run.
#include <limits>
#include <string>

#include "datasets/mnist.h"
#include "lessons/common/device.h"
#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

void add_settings(Config& cfg) {
  // the data
  cfg.add_string("data", "", "a YOLO-format folder (train/, test/, optionally val/) instead of digit scenes");
  cfg.add_string("data_dir", kMnistDir, "folder with the MNIST IDX files the scenes are made of");
  cfg.add_int("scenes_train", 8000, "digit scenes to train on");
  cfg.add_int("scenes_val", 500, "digit scenes to validate on after every epoch (mAP)");
  cfg.add_int("scenes_test", 1000, "digit scenes of the test digits, scored once at the end");
  cfg.add_int("canvas", 96, "side of a scene in pixels (--data: every image is resized to it)");
  cfg.add_int("objects_min", 1, "digits per scene, at least");
  cfg.add_int("objects_max", 4, "digits per scene, at most");
  cfg.add_float("scale_min", 0.6, "a pasted digit's side = 28 pixels x a scale drawn from [scale_min, scale_max]");
  cfg.add_float("scale_max", 2.4, "the largest scale of a pasted digit");
  cfg.add_float("max_overlap", 0.2, "largest IoU between two digits' boxes in a scene");
  cfg.add_int("data_seed", 0, "seed of the validation and test scenes (the same for every --seed)");

  // the model
  cfg.add_int("grid", 6, "S: the S x S grid of cells (canvas / grid must be a power of two)");
  cfg.add_int("anchors", 5, "B: anchor boxes per cell (priors from k-means on the training boxes)");
  cfg.add_int("width", 16, "channels of the first convolution (doubled after every pooling, up to 8x)");
  cfg.add_int("stem_kernel", 3, "kernel size of the first two convolutions (3, or 5 as the sliding-window classifier's)");
  cfg.add_string("init_backbone", "",
                 "start the first two convolutions from a sliding_window classifier.safetensors (needs "
                 "--width=16 --stem_kernel=5)");

  // the loss
  cfg.add_float("lambda_coord", 5.0, "weight of the box coordinates term");
  cfg.add_float("lambda_obj", 1.0, "weight of the objectness term of responsible predictions");
  cfg.add_float("lambda_noobj", 0.5, "weight of the no-object term");
  cfg.add_float("lambda_class", 1.0, "weight of the class term");
  cfg.add_float("ignore_iou", 0.6, "no no-object penalty for a prediction whose box has IoU > this with a true box");
  cfg.add_bool("rescore", true, "objectness target = IoU(predicted, true box) (else 1)");

  // the training
  cfg.add_int("epochs", 20, "passes over the training scenes");
  cfg.add_int("batch_size", 32, "scenes per optimizer step");
  cfg.add_string("optimizer", "adamw", "adamw or sgd (momentum 0.9, Nesterov)");
  cfg.add_float("lr", 2e-3, "learning rate (the peak, with a schedule)");
  cfg.add_float("weight_decay", 5e-4, "weight decay of conv weights (not biases or batch norms)");
  cfg.add_string("schedule", "cosine", "constant, or cosine (warmup, then down to min_lr)");
  cfg.add_int("warmup_steps", 200, "cosine: steps of linear warmup from 0 to lr");
  cfg.add_float("min_lr", 1e-5, "cosine: the learning rate at the end");
  cfg.add_bool("fresh_scenes", true, "new training scenes (from the same training digits) every epoch, not the same ones");
  cfg.add_int("seed", 0, "seed of the weights, the shuffling, the training scenes and the anchors' k-means");

  // detecting
  cfg.add_float("score_threshold", 0.005, "detections below this score are dropped (low: mAP wants the whole curve)");
  cfg.add_float("nms_iou", 0.45, "NMS removes a box whose IoU with a better one of its class is > this");
  cfg.add_float("draw_threshold", 0.3, "boxes drawn in the pictures and printed by --detect: score >= this");

  // the machine and the outputs
  cfg.add_int("threads", 0, "threads for the math (0: EMBER_NUM_THREADS, else all cores)");
  cfg.add_string("device", "cpu", "cpu, cuda (the GPU: an error without one) or auto (the GPU when there is one)");
  cfg.add_string("out_dir", "runs/yolo_lite", "where history.csv, curves.png, metrics.json, pictures, checkpoint go");
  cfg.add_int("print_every", 50, "a progress line every this many steps");
  cfg.add_int("eval_batch_size", 100, "scenes per forward pass when detecting");
  cfg.add_int("show_scenes", 16, "test scenes drawn with their boxes in test_scenes.png");
  cfg.add_string("eval", "", "a checkpoint to score on the test scenes instead of training");
  cfg.add_string("compare_sliding", "",
                 "with --eval: a sliding_window classifier.safetensors to compare images/s and mAP with, same scenes");
  cfg.add_string("detect", "", "an image file: detect digits in it with --eval's checkpoint (or out_dir's)");
  cfg.add_bool("resume", false, "continue the run in out_dir from its checkpoint (its settings, then the command line)");
  cfg.add_int("stop_after_epoch", 0, "stop after this epoch, checkpoint saved (0: train all); --resume continues");
}

namespace {

void check_choice(const Config& cfg, const std::string& key, const std::vector<std::string>& choices) {
  const std::string& value = cfg.get_string(key);
  std::string listed;
  for (const std::string& choice : choices) {
    if (value == choice) return;
    listed += (listed.empty() ? "" : ", ") + choice;
  }
  fail("yolo_lite: --", key, "='", value, "' is not one of: ", listed);
}

void check_int_range(const Config& cfg, const std::string& key, int64_t low, int64_t high) {
  const int64_t value = cfg.get_int(key);
  check(value >= low && value <= high, "yolo_lite: --", key, " must be from ", low, " to ", high, ", got ", value);
}

void check_float_range(const Config& cfg, const std::string& key, double low, double high) {
  const double value = cfg.get_float(key);
  check(value >= low && value <= high, "yolo_lite: --", key, " must be from ", low, " to ", high, ", got ", value);
}

}  // namespace

void check_settings(const Config& cfg) {
  check_choice(cfg, "optimizer", {"adamw", "sgd"});
  check_choice(cfg, "schedule", {"constant", "cosine"});
  check_int_range(cfg, "scenes_train", 1, 10000000);
  check_int_range(cfg, "scenes_val", 1, 1000000);
  check_int_range(cfg, "scenes_test", 1, 1000000);
  check_int_range(cfg, "canvas", 8, 4096);
  check_int_range(cfg, "objects_min", 0, 100);
  check_int_range(cfg, "objects_max", cfg.get_int("objects_min"), 100);
  check_float_range(cfg, "scale_min", 0.05, 100.0);
  check_float_range(cfg, "scale_max", cfg.get_float("scale_min"), 100.0);
  check_float_range(cfg, "max_overlap", 0.0, 1.0);
  check_int_range(cfg, "data_seed", 0, std::numeric_limits<int64_t>::max() / 4);
  check_int_range(cfg, "grid", 1, cfg.get_int("canvas"));
  const int64_t grid = cfg.get_int("grid"), canvas = cfg.get_int("canvas");
  int64_t stride = canvas / grid;
  while (stride > 1 && stride % 2 == 0) stride /= 2;
  check(canvas % grid == 0 && stride == 1, "yolo_lite: --canvas / --grid must be a power of two (each pooling ",
        "halves the picture): --canvas=", canvas, " --grid=", grid);
  check_int_range(cfg, "anchors", 1, 20);
  check_int_range(cfg, "width", 1, 512);
  check(cfg.get_int("stem_kernel") == 3 || cfg.get_int("stem_kernel") == 5 || cfg.get_int("stem_kernel") == 7,
        "yolo_lite: --stem_kernel must be 3, 5 or 7, got ", cfg.get_int("stem_kernel"));
  check_float_range(cfg, "lambda_coord", 0.0, 1000.0);
  check_float_range(cfg, "lambda_obj", 0.0, 1000.0);
  check_float_range(cfg, "lambda_noobj", 0.0, 1000.0);
  check_float_range(cfg, "lambda_class", 0.0, 1000.0);
  check_float_range(cfg, "ignore_iou", 0.0, 1.0);
  check_int_range(cfg, "epochs", 1, 100000);
  check_int_range(cfg, "batch_size", 1, 65536);
  check(cfg.get_float("lr") > 0.0, "yolo_lite: --lr must be positive, got ", cfg.get_float("lr"));
  check_float_range(cfg, "lr", 0.0, 1e3);
  check_float_range(cfg, "weight_decay", 0.0, 100.0);
  check_int_range(cfg, "warmup_steps", 0, 1000000000);
  check_float_range(cfg, "min_lr", 0.0, cfg.get_string("schedule") == "cosine" ? cfg.get_float("lr") : 1e3);
  check_int_range(cfg, "seed", 0, std::numeric_limits<int64_t>::max() / 4);
  check_float_range(cfg, "score_threshold", 0.0, 1.0);
  check_float_range(cfg, "nms_iou", 0.0, 1.0);
  check_float_range(cfg, "draw_threshold", 0.0, 1.0);
  check_int_range(cfg, "threads", 0, 1024);
  check(is_device_setting(cfg.get_string("device")), "yolo_lite: --device must be cpu, cuda or auto, got \"",
        cfg.get_string("device"), "\"");
  check_int_range(cfg, "print_every", 1, 1000000000);
  check_int_range(cfg, "eval_batch_size", 1, 65536);
  check_int_range(cfg, "show_scenes", 0, 1000);
  check_int_range(cfg, "stop_after_epoch", 0, cfg.get_int("epochs"));
}

}  // namespace ember::yolo
