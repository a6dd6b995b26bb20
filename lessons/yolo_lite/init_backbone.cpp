// --init_backbone=PATH: transfer learning, again. The sliding-window lesson trains a classifier on
// 28x28 patches (is there a digit, and which?); its two convolutions have learnt strokes, edges and
// corners of handwritten digits. The detector's first two convolutions do the same job on a whole
// scene, so they can start from those filters instead of random numbers.
//
// The classifier (lessons/sliding_window/model.cpp) and the detector's first two blocks:
//
//   classifier tensor     shape            detector tensor         shape with --width=16 --stem_kernel=5
//   0.weight              [16, 1, 5, 5]    backbone.0.weight       [16, 1, 5, 5]   (padding 2: same size out)
//   3.weight              [32, 16, 5, 5]   backbone.4.weight       [32, 16, 5, 5]
//   0.bias, 3.bias        [16], [32]       (none)                  the detector's convolutions have no bias:
//                                                                  the batch norm after each subtracts the
//                                                                  batch mean, which would cancel it anyway
//   7.*, 9.* (the dense layers)            (not used)              they answer "which class is this patch",
//                                                                  a question the detector's head asks differently
//
// The detector keeps its own batch norms and LeakyReLU (the classifier has ReLU straight after the
// convolution): the copied filters are a starting point, trained on with everything else. A
// classifier tensor that is missing, or whose shape differs from the detector's, is an error naming
// both and their shapes, with the settings that make them fit.
#include <iostream>

#include "core/fs.h"
#include "core/safetensors.h"
#include "lessons/yolo_lite/lesson.h"

namespace ember::yolo {

const std::vector<BackboneMapping>& classifier_to_backbone() {
  static const std::vector<BackboneMapping> mapping = {{"0.weight", "backbone.0.weight"},
                                                       {"3.weight", "backbone.4.weight"}};
  return mapping;
}

void init_backbone_from_classifier(YoloLite& model, const std::string& path) {
  check(file_exists(path), "yolo_lite: --init_backbone=", path,
        ": no such file (./run.sh sliding_window writes runs/sliding_window/classifier.safetensors)");
  const SafetensorsFile file = load_safetensors(path);
  check(file.metadata.count("lesson") && file.metadata.at("lesson") == "sliding_window", "yolo_lite: --init_backbone=",
        path, " is not a checkpoint of the sliding_window lesson (its metadata has no lesson = sliding_window)");
  StateDict state = model.state_dict();
  // check everything first, so that a bad file changes nothing
  std::string problems;
  for (const BackboneMapping& m : classifier_to_backbone()) {
    check(state.contains(m.detector), "yolo_lite: the detector has no tensor ", m.detector,
          " (the backbone's layout changed?)");
    const Tensor& mine = state.at(m.detector);
    if (!file.contains(m.classifier)) {
      problems += "\n  " + m.classifier + " is missing from " + path + " (wanted for " + m.detector + " " +
                  shape_str(mine.shape()) + ")";
    } else if (file.get(m.classifier).shape() != mine.shape()) {
      problems += "\n  " + m.classifier + " is " + shape_str(file.get(m.classifier).shape()) + " but " + m.detector +
                  " is " + shape_str(mine.shape());
    }
  }
  check(problems.empty(), "yolo_lite: --init_backbone=", path, " does not fit the detector's backbone:", problems,
        "\n  (the sliding-window classifier's convolutions are 16 and 32 filters of 5x5: train with --width=16 "
        "--stem_kernel=5)");
  for (const BackboneMapping& m : classifier_to_backbone()) {
    Tensor& mine = state.at(m.detector);  // shares memory with the model's parameter
    mine.copy_(file.get(m.classifier).to(mine.dtype()));
  }
  std::string copied;
  for (const BackboneMapping& m : classifier_to_backbone())
    copied += (copied.empty() ? "" : ", ") + m.classifier + " -> " + m.detector;
  std::cout << "backbone: started from " << path << " (" << copied << ")\n";
}

}  // namespace ember::yolo
