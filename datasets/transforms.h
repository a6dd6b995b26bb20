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
//  - plain functions with explicit parameters (shift, crop, pad, hflip, rotate, resize,
//    adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue, erase, normalize): the same
//    input gives the same output; a batch gets the same change for every image. Good for tests and
//    for looking at one effect.
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

// Resizes every plane to height x width. Each axis is resampled on its own (first the rows, then
// the columns), with pixel i of a length-n axis covering [i, i + 1) and scale s = n / m for an
// output length m (pixel centres line up: PyTorch's align_corners=False):
//
//  - shrinking (m < n, s > 1): output pixel i covers the source interval [i s, (i + 1) s) and is the
//    AVERAGE of the source pixels under it, each weighted by how much of it lies inside:
//        out[i] = (1 / s) * sum_j |[j, j + 1) ∩ [i s, (i + 1) s)| * in[j]
//    so every source pixel counts (anti-aliased: a fine stripe pattern becomes grey, not a
//    random pick of stripes). 4 -> 2 averages pairs; 3 -> 2 gives (2 a + b) / 3 and (b + 2 c) / 3.
//  - enlarging or keeping (m >= n): bilinear interpolation at the output pixel's centre mapped
//    back, c = (i + 0.5) s - 0.5, clamped to [0, n - 1]:
//        out[i] = (1 - w) in[floor(c)] + w in[floor(c) + 1],   w = c - floor(c)
//    so 2 -> 4 turns [a, b] into [a, 0.75 a + 0.25 b, 0.25 a + 0.75 b, b].
// Done in two passes this is separable: a 2-D shrink averages the source rectangle under each
// output pixel (a box filter), a 2-D enlarge is the usual bilinear interpolation.
Tensor resize(const Tensor& image, int64_t height, int64_t width);

// Pads every plane by `padding` pixels on every side:
//   Zero:    0 outside the image                         [1, 2, 3] by 2 -> [0, 0, 1, 2, 3, 0, 0]
//   Reflect: mirrored about the edge pixel, which is not repeated
//                                                        [1, 2, 3] by 2 -> [3, 2, 1, 2, 3, 2, 1]
//   Edge:    the edge pixel repeated                     [1, 2, 3] by 2 -> [1, 1, 1, 2, 3, 3, 3]
// Reflect needs padding < the image's height and width (there is nothing further to mirror).
// Reflect and Edge keep a photo's colours at the border, where zero padding draws a black frame.
enum class PadMode { Zero, Reflect, Edge };
Tensor pad(const Tensor& image, int64_t padding, PadMode mode = PadMode::Zero);

// Colour, for RGB images ([3, H, W] or [N, 3, H, W], values in [0, 1]):
// out = clamp(g + (x - g) * factor, 0, 1) with g each pixel's grey value
// g = 0.299 R + 0.587 G + 0.114 B (ITU-R 601 luma): factor 0 gives grey, 1 the image, > 1 more
// vivid colours.
Tensor adjust_saturation(const Tensor& image, double factor);
// Turns every pixel's hue by `shift` of a full turn (shift in [-0.5, 0.5]; 1/3 moves red to green,
// green to blue, blue to red), keeping saturation and value: RGB -> HSV, h = (h + shift) mod 1,
// HSV -> RGB. With V = max(R, G, B), m = min(R, G, B), C = V - m (HSV as in Smith, 1978):
//   S = C / V (0 when V = 0)
//   H = ((G - B) / C mod 6) / 6 when V = R,  ((B - R) / C + 2) / 6 when V = G,
//       ((R - G) / C + 4) / 6 when V = B     (0 for a grey pixel, C = 0: a hue changes nothing)
// and back: with h6 = 6 H, f(k) = V - V S max(0, min(k', 4 - k', 1)), k' = (k + h6) mod 6,
//   (R, G, B) = (f(5), f(3), f(1)).
Tensor adjust_hue(const Tensor& image, double shift);

// Sets a height x width rectangle with its top-left corner at (top, left) to `value` in every
// channel; the part outside the image is ignored. Cutout (DeVries & Taylor, 2017) is erase with a
// square at a random place.
Tensor erase(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width, double value = 0);

// Per-channel mean and standard deviation of a training set, what Normalize needs:
//   images [N, C, H, W] -> mean[c] = the average of channel c over all N x H x W pixels,
//                          std[c]  = sqrt(the average of (x - mean[c])^2)  (population std)
// Computed in double, in two passes (mean first, then the squared deviations), in a fixed order.
// Compute them on the training set only, and use the same numbers for the test set.
//   ChannelStats stats = channel_mean_std(train.images);
//   Normalize norm{stats.mean, stats.std};
struct ChannelStats {
  std::vector<double> mean, std;
};
ChannelStats channel_mean_std(const Tensor& images);

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

// Pads by `padding` pixels on every side (zeros, or as padding_mode says: see pad()), then cuts a
// size x size window at a random place (CIFAR-10's usual augmentation is RandomCrop{32, 4};
// RandomCrop{32, 4, PadMode::Reflect} avoids the black frame).
struct RandomCrop {
  int64_t size = 32;
  int64_t padding = 4;
  PadMode padding_mode = PadMode::Zero;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Resizes to height x width (see resize()); draws nothing.
struct Resize {
  int64_t height = 32, width = 32;
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
// drawn from [1 - contrast, 1 + contrast], then saturation by one drawn from
// [1 - saturation, 1 + saturation], then turns the hue by a shift drawn from [-hue, hue] (see
// adjust_saturation and adjust_hue; those two need RGB images). A 0 leaves that one out and draws
// nothing for it. Always in this order (torchvision draws a random order).
//   ColorJitter{0.4, 0.4, 0.4, 0.1}   // a common setting for photos
struct ColorJitter {
  double brightness = 0.2;
  double contrast = 0.2;
  double saturation = 0;  // in [0, 1]
  double hue = 0;         // in [0, 0.5], a fraction of a full turn
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Cutout (DeVries & Taylor, 2017): with probability p, zeroes a size x size square whose centre is
// drawn uniformly over the image (so the square may hang over the edge and cover less). The
// network must then recognise objects with a part hidden. Comes before Normalize, so the square
// is black; the paper uses size 16 on CIFAR-10 (8 is gentler).
struct Cutout {
  int64_t size = 8;
  double p = 1.0;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

// Applies the transforms in order, all drawing from the same generator.
struct Compose {
  std::vector<Transform> transforms;
  Tensor operator()(const Tensor& image, Generator& gen) const;
};

}  // namespace ember
