#pragma once
// Data augmentation and normalisation: functions of one image [C, H, W] (or a batch [N, C, H, W])
// that return a new image and never change their input. Images are float32; augmentations expect
// values in [0, 1], so Normalize comes last. They prepare data and record no autograd graph.
//
// Augmentation shows the network the same example in realistic variations (a digit written a
// pixel further left, a photo slightly rotated or darker) so that it learns what does not matter.
// Only variations that can really occur help: white noise does not, and a flip is wrong for digits
// and text (a mirrored 2 is not a 2).
//
// Two layers:
//  - plain functions with explicit parameters (shift, crop, hflip, rotate, adjust_brightness,
//    adjust_contrast, normalize): the same input gives the same output; a batch gets the same
//    change for every image. Good for tests and for looking at one effect.
//  - transforms (RandomShift, RandomCrop, ...): objects called as t(image, gen) that draw their
//    parameters from a Generator and call the functions above. On a batch, each image gets its own
//    draw. Compose chains them:
//
//   Transform augment = Compose{{RandomCrop{32, 4}, RandomHorizontalFlip{0.5},
//                                Normalize{{0.49, 0.48, 0.45}, {0.25, 0.24, 0.26}}}};
//   Tensor x = augment(image, gen);
//
// The DataLoader calls a transform on every example with a Generator seeded from (seed, epoch,
// batch), so augmented batches are reproducible.
#include <functional>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace ember {

// What the DataLoader accepts: any callable image, gen -> image.
using Transform = std::function<Tensor(const Tensor& image, Generator& gen)>;

// ---- plain functions ----------------------------------------------------------------------------
// A height x width window of the image whose top-left corner is at (top, left); the window may
// hang over the edge (negative top/left, or past the end), and those pixels are 0.
// crop(x, -p, -p, H + 2p, W + 2p) pads by p; crop(x, 2, 2, 24, 24) cuts a 24x24 centre out of 28x28.
Tensor crop(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width);
// Moves the content dy pixels down and dx pixels right (negative: up/left); uncovered pixels are 0.
// out[y][x] = image[y - dy][x - dx]
Tensor shift(const Tensor& image, int64_t dy, int64_t dx);
// Mirror left-right: out[y][x] = image[y][W - 1 - x].
Tensor hflip(const Tensor& image);
// Rotates counter-clockwise by `degrees` about the image centre ((W-1)/2, (H-1)/2). Each output
// pixel reads the input at the rotated-back position, interpolating its 4 neighbours bilinearly;
// positions outside the image read 0.
Tensor rotate(const Tensor& image, double degrees);
// out = clamp(x * factor, 0, 1): factor < 1 darkens, > 1 brightens.
Tensor adjust_brightness(const Tensor& image, double factor);
// out = clamp(m + (x - m) * factor, 0, 1) with m the mean of the image (all its channels):
// factor < 1 flattens towards grey, > 1 stretches.
Tensor adjust_contrast(const Tensor& image, double factor);
// out[c] = (x[c] - mean[c]) / std[c] per channel (one value in mean/std: the same for all).
Tensor normalize(const Tensor& image, const std::vector<double>& mean, const std::vector<double>& std);

// ---- transforms ----------------------------------------------------------------------------------
struct Normalize {
  std::vector<double> mean, std;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Shifts by dy, dx drawn uniformly from [-max_shift, max_shift] (zeros come in at the edge): the
// same as padding by max_shift and cropping back to the original size at a random place.
struct RandomShift {
  int64_t max_shift = 2;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Pads by `padding` zeros on every side, then cuts a size x size window at a random place
// (CIFAR-10's usual augmentation is RandomCrop{32, 4}).
struct RandomCrop {
  int64_t size = 32;
  int64_t padding = 4;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Rotates by an angle drawn uniformly from [-degrees, degrees]. Keep it small (10-15 degrees):
// a 6 turned by 180 degrees is a 9.
struct RandomRotation {
  double degrees = 10;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Mirrors left-right with probability p. Right for photos of objects that look the same mirrored
// (CIFAR-10's cars and cats); WRONG for digits and text, whose mirror image is another symbol or
// none, and for anything asymmetric.
struct RandomHorizontalFlip {
  double p = 0.5;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Scales brightness by a factor drawn from [1 - brightness, 1 + brightness], then contrast by one
// drawn from [1 - contrast, 1 + contrast] (a 0 leaves that one out).
struct ColorJitter {
  double brightness = 0.2;
  double contrast = 0.2;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Applies the transforms in order, all drawing from the same generator.
struct Compose {
  std::vector<Transform> transforms;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

}  // namespace ember
