// Augmentations and normalisation (see transforms.h). Every function works plane by plane: an image
// [C, H, W] or a batch [N, C, H, W] is a stack of H x W planes, and geometric changes (crop, shift,
// flip, rotation) do the same thing to each plane.
#include "datasets/transforms.h"

#include <algorithm>
#include <cmath>

#include "core/ops.h"

namespace ember {

namespace {

// An image [C, H, W] or a batch [N, C, H, W] seen as `count` planes of height x width floats.
struct Planes {
  int64_t count, height, width;
};

// (Runs once per image, so the messages are built only on failure: fail, not check.)
Planes image_planes(const Tensor& x, const char* op) {
  check(x.defined(), op, ": the image is undefined");
  if ((x.dim() != 3 && x.dim() != 4) || x.dtype() != DType::Float32)
    fail(op, ": expected a float32 image [C, H, W] or batch [N, C, H, W], got ", dtype_name(x.dtype()), " ",
         shape_str(x.shape()));
  const int64_t height = x.size(-2), width = x.size(-1);
  if (height == 0 || width == 0) fail(op, ": the image ", shape_str(x.shape()), " is empty");
  return {x.numel() / (height * width), height, width};
}

// A tensor like x with the last two sizes replaced.
Tensor empty_with_size(const Tensor& x, int64_t height, int64_t width) {
  Shape shape = x.shape();
  shape[shape.size() - 2] = height;
  shape[shape.size() - 1] = width;
  return Tensor::empty(shape, DType::Float32);
}

// How many images x holds, and the floats in each: an image is one, a batch N.
std::pair<int64_t, int64_t> images_and_size(const Tensor& x) {
  const int64_t images = x.dim() == 4 ? x.size(0) : 1;
  return {images, images == 0 ? 0 : x.numel() / images};
}

// Random transforms draw their parameters once per image: one image is passed through, a batch is
// split into images and stacked again.
template <typename F>
Tensor for_each_image(const Tensor& x, const char* op, F transform_one) {
  image_planes(x, op);
  if (x.dim() == 3) return transform_one(x);
  std::vector<Tensor> out;
  const Shape image_shape(x.shape().begin() + 1, x.shape().end());
  for (int64_t i = 0; i < x.size(0); ++i) out.push_back(transform_one(x.slice(0, i, i + 1).reshape(image_shape)));
  if (out.empty()) fail(op, ": the batch ", shape_str(x.shape()), " is empty");
  return stack(out, 0);
}

float clamp01(double v) { return static_cast<float>(std::clamp(v, 0.0, 1.0)); }

// One source pixel's share in an output pixel of a 1-D resampling.
struct Tap {
  int64_t index;
  double weight;
};

// For each of the m output pixels of an axis of n source pixels, the source pixels it is made of
// and their weights (they add up to 1): the area average when shrinking, bilinear otherwise (the
// formulas are in transforms.h, at resize()).
std::vector<std::vector<Tap>> resample_taps(int64_t n, int64_t m) {
  const double s = static_cast<double>(n) / static_cast<double>(m);
  std::vector<std::vector<Tap>> taps(m);
  for (int64_t i = 0; i < m; ++i) {
    if (m < n) {
      const double lo = i * s, hi = (i + 1) * s;  // the footprint [lo, hi) in source pixels
      for (int64_t j = static_cast<int64_t>(std::floor(lo)); j < n && j < hi; ++j) {
        const double overlap = std::min(hi, j + 1.0) - std::max(lo, static_cast<double>(j));
        if (overlap > 0) taps[i].push_back({j, overlap / s});
      }
    } else {
      const double c = std::clamp((i + 0.5) * s - 0.5, 0.0, static_cast<double>(n - 1));
      const int64_t j0 = static_cast<int64_t>(std::floor(c));
      const double w = c - static_cast<double>(j0);
      taps[i].push_back({j0, 1 - w});
      if (w > 0) taps[i].push_back({j0 + 1, w});
    }
  }
  return taps;
}

// Where pixel i (which may lie outside [0, n)) of a padded axis reads from, or -1 for a zero.
int64_t pad_source(int64_t i, int64_t n, PadMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::Zero: return -1;
    case PadMode::Edge: return i < 0 ? 0 : n - 1;
    case PadMode::Reflect: return i < 0 ? -i : 2 * (n - 1) - i;  // mirror about 0 or n - 1
  }
  return -1;
}

// An RGB image [3, H, W] or batch [N, 3, H, W]: checks the 3 channels, returns the number of
// images and the pixels per plane.
std::pair<int64_t, int64_t> rgb_images(const Tensor& x, const char* op) {
  const Planes in = image_planes(x, op);
  if (x.size(-3) != 3)
    fail(op, ": expected an RGB image [3, H, W] or batch [N, 3, H, W], got ", shape_str(x.shape()),
         " (colour changes need the three channels)");
  return {in.count / 3, in.height * in.width};
}

}  // namespace

// ---- plain functions ----------------------------------------------------------------------------

Tensor crop(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width) {
  const Planes in = image_planes(image, "crop");
  if (height <= 0 || width <= 0)
    fail("crop: the window must be at least 1x1, got ", height, "x", width, " (image shape ", shape_str(image.shape()),
         ")");
  Tensor out = empty_with_size(image, height, width);
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  // Columns [x0, x1) of each output row come from the image; the rest hang over the edge.
  const int64_t x0 = std::clamp<int64_t>(-left, 0, width);
  const int64_t x1 = std::clamp<int64_t>(in.width - left, x0, width);
  for (int64_t p = 0; p < in.count; ++p) {
    const float* plane = src + p * in.height * in.width;
    for (int64_t y = 0; y < height; ++y) {
      float* row = dst + (p * height + y) * width;
      const int64_t sy = top + y;
      if (sy < 0 || sy >= in.height) {
        std::fill(row, row + width, 0.0f);
        continue;
      }
      std::fill(row, row + x0, 0.0f);
      if (x1 > x0) std::copy(plane + sy * in.width + left + x0, plane + sy * in.width + left + x1, row + x0);
      std::fill(row + x1, row + width, 0.0f);
    }
  }
  return out;
}

Tensor shift(const Tensor& image, int64_t dy, int64_t dx) {
  const Planes in = image_planes(image, "shift");
  // A shift by the image's size or more leaves nothing of it, whatever its size: clamped to that,
  // the result is the same and -dy cannot overflow (dy = INT64_MIN).
  dy = std::clamp<int64_t>(dy, -in.height, in.height);
  dx = std::clamp<int64_t>(dx, -in.width, in.width);
  // out[y][x] = image[y - dy][x - dx]: the window starts dy rows above the image.
  return crop(image, -dy, -dx, in.height, in.width);
}

Tensor hflip(const Tensor& image) {
  const Planes in = image_planes(image, "hflip");
  Tensor out = Tensor::empty(image.shape(), DType::Float32);
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  for (int64_t r = 0; r < in.count * in.height; ++r)
    std::reverse_copy(src + r * in.width, src + (r + 1) * in.width, dst + r * in.width);
  return out;
}

Tensor rotate(const Tensor& image, double degrees) {
  const Planes in = image_planes(image, "rotate");
  const int64_t H = in.height, W = in.width;
  Tensor out = Tensor::empty(image.shape(), DType::Float32);
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  // With y pointing down, turning the picture counter-clockwise by a moves the content at (u, v)
  // (relative to the centre) to (u cos a + v sin a, -u sin a + v cos a). Each output pixel reads
  // the input at the inverse of that: (u cos a - v sin a, u sin a + v cos a).
  const double a = degrees * M_PI / 180.0, cos_a = std::cos(a), sin_a = std::sin(a);
  const double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
  for (int64_t p = 0; p < in.count; ++p) {
    const float* plane = src + p * H * W;
    // the input pixel at (row, col), 0 outside the image
    auto pixel = [&](int64_t row, int64_t col) {
      return row >= 0 && row < H && col >= 0 && col < W ? static_cast<double>(plane[row * W + col]) : 0.0;
    };
    for (int64_t y = 0; y < H; ++y) {
      for (int64_t x = 0; x < W; ++x) {
        const double u = x - cx, v = y - cy;
        const double sx = cx + u * cos_a - v * sin_a, sy = cy + u * sin_a + v * cos_a;
        // bilinear: the 4 neighbours of (sy, sx), weighted by closeness
        const double fx0 = std::floor(sx), fy0 = std::floor(sy);
        const double wx = sx - fx0, wy = sy - fy0;
        const int64_t x0 = static_cast<int64_t>(fx0), y0 = static_cast<int64_t>(fy0);
        const double value = (1 - wy) * ((1 - wx) * pixel(y0, x0) + wx * pixel(y0, x0 + 1)) +
                             wy * ((1 - wx) * pixel(y0 + 1, x0) + wx * pixel(y0 + 1, x0 + 1));
        dst[(p * H + y) * W + x] = static_cast<float>(value);
      }
    }
  }
  return out;
}

Tensor adjust_brightness(const Tensor& image, double factor) {
  image_planes(image, "adjust_brightness");
  check(factor >= 0, "adjust_brightness: factor must be >= 0, got ", factor);
  Tensor out = Tensor::empty(image.shape(), DType::Float32);
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < image.numel(); ++i) dst[i] = clamp01(src[i] * factor);
  return out;
}

Tensor adjust_contrast(const Tensor& image, double factor) {
  image_planes(image, "adjust_contrast");
  check(factor >= 0, "adjust_contrast: factor must be >= 0, got ", factor);
  Tensor out = Tensor::empty(image.shape(), DType::Float32);
  const auto [images, size] = images_and_size(image);
  for (int64_t i = 0; i < images; ++i) {
    const float* src = image.data<float>() + i * size;
    float* dst = out.data<float>() + i * size;
    double mean = 0;
    for (int64_t j = 0; j < size; ++j) mean += src[j];
    mean /= static_cast<double>(size);
    for (int64_t j = 0; j < size; ++j) dst[j] = clamp01(mean + (src[j] - mean) * factor);
  }
  return out;
}

Tensor normalize(const Tensor& image, const std::vector<double>& mean, const std::vector<double>& std) {
  const Planes in = image_planes(image, "normalize");
  const int64_t channels = image.size(-3);
  for (const std::vector<double>* values : {&mean, &std})
    check(values->size() == 1 || static_cast<int64_t>(values->size()) == channels, "normalize: ", mean.size(),
          " means and ", std.size(), " stds for an image with ", channels, " channels (shape ",
          shape_str(image.shape()), "); give one value per channel, or one for all");
  for (double s : std) check(s > 0, "normalize: std must be positive, got ", s);
  Tensor out = Tensor::empty(image.shape(), DType::Float32);
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  const int64_t plane_size = in.height * in.width;
  for (int64_t p = 0; p < in.count; ++p) {
    const int64_t c = p % channels;  // planes go c = 0, 1, ..., C-1 for each image
    const float m = static_cast<float>(mean.size() == 1 ? mean[0] : mean[c]);
    const float inv_std = static_cast<float>(1.0 / (std.size() == 1 ? std[0] : std[c]));
    for (int64_t j = p * plane_size; j < (p + 1) * plane_size; ++j) dst[j] = (src[j] - m) * inv_std;
  }
  return out;
}

Tensor resize(const Tensor& image, int64_t height, int64_t width) {
  const Planes in = image_planes(image, "resize");
  if (height <= 0 || width <= 0)
    fail("resize: the size must be at least 1x1, got ", height, "x", width, " (image shape ", shape_str(image.shape()),
         ")");
  const std::vector<std::vector<Tap>> row_taps = resample_taps(in.height, height);
  const std::vector<std::vector<Tap>> col_taps = resample_taps(in.width, width);
  Tensor out = empty_with_size(image, height, width);
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  std::vector<double> rows(in.height * width);  // one plane resized along x only: [H, width]
  for (int64_t p = 0; p < in.count; ++p) {
    const float* plane = src + p * in.height * in.width;
    for (int64_t y = 0; y < in.height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        double v = 0;
        for (const Tap& t : col_taps[x]) v += t.weight * plane[y * in.width + t.index];
        rows[y * width + x] = v;
      }
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        double v = 0;
        for (const Tap& t : row_taps[y]) v += t.weight * rows[t.index * width + x];
        dst[(p * height + y) * width + x] = static_cast<float>(v);
      }
  }
  return out;
}

Tensor pad(const Tensor& image, int64_t padding, PadMode mode) {
  const Planes in = image_planes(image, "pad");
  if (padding < 0 || padding > (int64_t(1) << 20))
    fail("pad: padding must be from 0 to 2^20, got ", padding, " (image shape ", shape_str(image.shape()), ")");
  if (mode == PadMode::Reflect && (padding >= in.height || padding >= in.width))
    fail("pad: reflect padding by ", padding, " needs an image larger than that, got ", in.height, "x", in.width,
         " (shape ", shape_str(image.shape()), "); use PadMode::Edge or Zero, or pad less");
  const int64_t H = in.height + 2 * padding, W = in.width + 2 * padding;
  Tensor out = empty_with_size(image, H, W);
  const float* src = image.data<float>();
  float* dst = out.data<float>();
  std::vector<int64_t> cols(W);  // the source column of each output column (-1: zero)
  for (int64_t x = 0; x < W; ++x) cols[x] = pad_source(x - padding, in.width, mode);
  for (int64_t p = 0; p < in.count; ++p) {
    const float* plane = src + p * in.height * in.width;
    for (int64_t y = 0; y < H; ++y) {
      const int64_t sy = pad_source(y - padding, in.height, mode);
      float* row = dst + (p * H + y) * W;
      for (int64_t x = 0; x < W; ++x) row[x] = sy < 0 || cols[x] < 0 ? 0.0f : plane[sy * in.width + cols[x]];
    }
  }
  return out;
}

Tensor adjust_saturation(const Tensor& image, double factor) {
  const auto [images, pixels] = rgb_images(image, "adjust_saturation");
  check(factor >= 0, "adjust_saturation: factor must be >= 0, got ", factor);
  Tensor out = Tensor::empty(image.shape(), DType::Float32);
  for (int64_t i = 0; i < images; ++i) {
    const float* r = image.data<float>() + i * 3 * pixels;
    const float *g = r + pixels, *b = g + pixels;
    float* out_r = out.data<float>() + i * 3 * pixels;
    float *out_g = out_r + pixels, *out_b = out_g + pixels;
    for (int64_t j = 0; j < pixels; ++j) {
      const double grey = 0.299 * r[j] + 0.587 * g[j] + 0.114 * b[j];
      out_r[j] = clamp01(grey + (r[j] - grey) * factor);
      out_g[j] = clamp01(grey + (g[j] - grey) * factor);
      out_b[j] = clamp01(grey + (b[j] - grey) * factor);
    }
  }
  return out;
}

Tensor adjust_hue(const Tensor& image, double shift) {
  const auto [images, pixels] = rgb_images(image, "adjust_hue");
  check(shift >= -0.5 && shift <= 0.5, "adjust_hue: shift must be in [-0.5, 0.5] (a fraction of a turn), got ", shift);
  Tensor out = Tensor::empty(image.shape(), DType::Float32);
  for (int64_t i = 0; i < images; ++i) {
    const float* r = image.data<float>() + i * 3 * pixels;
    const float *g = r + pixels, *b = g + pixels;
    float* out_r = out.data<float>() + i * 3 * pixels;
    float *out_g = out_r + pixels, *out_b = out_g + pixels;
    for (int64_t j = 0; j < pixels; ++j) {
      const double R = r[j], G = g[j], B = b[j];
      // RGB -> HSV (H in turns, [0, 1))
      const double V = std::max({R, G, B}), C = V - std::min({R, G, B});
      const double S = V > 0 ? C / V : 0;
      double H = 0;
      if (C > 0) {
        if (V == R) H = std::fmod((G - B) / C + 6, 6) / 6;
        else if (V == G) H = ((B - R) / C + 2) / 6;
        else H = ((R - G) / C + 4) / 6;
      }
      // the turn
      H = std::fmod(H + shift + 1, 1.0);
      // HSV -> RGB
      const double h6 = 6 * H;
      auto f = [&](double k) {
        const double kk = std::fmod(k + h6, 6.0);
        return V - V * S * std::max(0.0, std::min({kk, 4 - kk, 1.0}));
      };
      out_r[j] = clamp01(f(5));
      out_g[j] = clamp01(f(3));
      out_b[j] = clamp01(f(1));
    }
  }
  return out;
}

Tensor erase(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width, double value) {
  const Planes in = image_planes(image, "erase");
  constexpr int64_t kFar = int64_t(1) << 31;  // keeps top + height from overflowing
  if (height < 0 || width < 0 || height > kFar || width > kFar || std::abs(top) > kFar || std::abs(left) > kFar)
    fail("erase: the rectangle at (", top, ", ", left, ") of ", height, "x", width, " is out of range (sizes from 0, ",
         "positions and sizes up to 2^31) for the image ", shape_str(image.shape()));
  Tensor out = image.detach().clone();
  float* dst = out.data<float>();
  // the rectangle clipped to the image: rows [y0, y1), columns [x0, x1)
  const int64_t y0 = std::clamp<int64_t>(top, 0, in.height), y1 = std::clamp<int64_t>(top + height, y0, in.height);
  const int64_t x0 = std::clamp<int64_t>(left, 0, in.width), x1 = std::clamp<int64_t>(left + width, x0, in.width);
  for (int64_t p = 0; p < in.count; ++p)
    for (int64_t y = y0; y < y1; ++y)
      std::fill(dst + (p * in.height + y) * in.width + x0, dst + (p * in.height + y) * in.width + x1,
                static_cast<float>(value));
  return out;
}

ChannelStats channel_mean_std(const Tensor& images) {
  const Planes in = image_planes(images, "channel_mean_std");
  const int64_t channels = images.size(-3), plane_size = in.height * in.width;
  const int64_t per_channel = in.count / channels * plane_size;  // N x H x W values of each channel
  const float* src = images.data<float>();
  ChannelStats stats{std::vector<double>(channels, 0.0), std::vector<double>(channels, 0.0)};
  for (int64_t p = 0; p < in.count; ++p)  // planes go c = 0, 1, ..., C-1 for each image
    for (int64_t j = 0; j < plane_size; ++j) stats.mean[p % channels] += src[p * plane_size + j];
  for (double& m : stats.mean) m /= static_cast<double>(per_channel);
  for (int64_t p = 0; p < in.count; ++p) {
    const double m = stats.mean[p % channels];
    for (int64_t j = 0; j < plane_size; ++j) {
      const double d = src[p * plane_size + j] - m;
      stats.std[p % channels] += d * d;
    }
  }
  for (double& s : stats.std) s = std::sqrt(s / static_cast<double>(per_channel));
  return stats;
}

// ---- transforms ----------------------------------------------------------------------------------

Tensor Normalize::operator()(const Tensor& image, Generator&) const { return normalize(image, mean, std); }

Tensor RandomShift::operator()(const Tensor& image, Generator& gen) const {
  const Planes in = image_planes(image, "RandomShift");
  // Checked before max_shift + 1 is computed (it overflows at INT64_MAX). A shift by the image's
  // size or more moves all of it out: such a max_shift would mostly give empty images.
  check(max_shift >= 0 && max_shift < std::max(in.height, in.width), "RandomShift: max_shift must be from 0 to ",
        std::max(in.height, in.width) - 1, " for images of ", in.height, "x", in.width, " pixels, got ", max_shift);
  return for_each_image(image, "RandomShift", [&](const Tensor& x) {
    const int64_t dy = gen.randint(-max_shift, max_shift + 1);
    const int64_t dx = gen.randint(-max_shift, max_shift + 1);
    return shift(x, dy, dx);
  });
}

Tensor RandomCrop::operator()(const Tensor& image, Generator& gen) const {
  const Planes in = image_planes(image, "RandomCrop");
  check(padding >= 0 && size > 0 && size <= in.height + 2 * padding && size <= in.width + 2 * padding,
        "RandomCrop: cannot cut ", size, "x", size, " out of an image ", shape_str(image.shape()), " padded by ",
        padding);
  if (padding_mode == PadMode::Reflect && (padding >= in.height || padding >= in.width))
    fail("RandomCrop: reflect padding by ", padding, " needs an image larger than that, got ", shape_str(image.shape()));
  return for_each_image(image, "RandomCrop", [&](const Tensor& x) {
    // the window's corner in the padded image, then in the image's own coordinates
    const int64_t top = gen.randint(0, in.height + 2 * padding - size + 1);
    const int64_t left = gen.randint(0, in.width + 2 * padding - size + 1);
    if (padding_mode == PadMode::Zero) return crop(x, top - padding, left - padding, size, size);
    return crop(pad(x, padding, padding_mode), top, left, size, size);
  });
}

Tensor Resize::operator()(const Tensor& image, Generator&) const { return resize(image, height, width); }

Tensor RandomRotation::operator()(const Tensor& image, Generator& gen) const {
  return for_each_image(image, "RandomRotation",
                        [&](const Tensor& x) { return rotate(x, gen.uniform(-degrees, degrees)); });
}

Tensor RandomHorizontalFlip::operator()(const Tensor& image, Generator& gen) const {
  // always one draw per image, flipped or not, so the later draws do not depend on the outcome
  return for_each_image(image, "RandomHorizontalFlip",
                        [&](const Tensor& x) { return gen.uniform() < p ? hflip(x) : x.clone(); });
}

Tensor ColorJitter::operator()(const Tensor& image, Generator& gen) const {
  check(brightness >= 0 && brightness <= 1 && contrast >= 0 && contrast <= 1,
        "ColorJitter: brightness and contrast must be in [0, 1], got ", brightness, " and ", contrast);
  check(saturation >= 0 && saturation <= 1 && hue >= 0 && hue <= 0.5,
        "ColorJitter: saturation must be in [0, 1] and hue in [0, 0.5], got ", saturation, " and ", hue);
  if (saturation > 0 || hue > 0) rgb_images(image, "ColorJitter (saturation, hue)");
  return for_each_image(image, "ColorJitter", [&](const Tensor& x) {
    if (brightness == 0 && contrast == 0 && saturation == 0 && hue == 0) return x.clone();
    Tensor out = x;
    if (brightness > 0) out = adjust_brightness(out, gen.uniform(1 - brightness, 1 + brightness));
    if (contrast > 0) out = adjust_contrast(out, gen.uniform(1 - contrast, 1 + contrast));
    if (saturation > 0) out = adjust_saturation(out, gen.uniform(1 - saturation, 1 + saturation));
    if (hue > 0) out = adjust_hue(out, gen.uniform(-hue, hue));
    return out;
  });
}

Tensor Cutout::operator()(const Tensor& image, Generator& gen) const {
  const Planes in = image_planes(image, "Cutout");
  check(size >= 0 && size <= std::max(in.height, in.width) && p >= 0 && p <= 1, "Cutout: size must be from 0 to ",
        std::max(in.height, in.width), " for images ", shape_str(image.shape()), " and p in [0, 1], got size ", size,
        " and p ", p);
  return for_each_image(image, "Cutout", [&](const Tensor& x) {
    // always three draws per image, so the later draws do not depend on the outcome
    const bool apply = gen.uniform() < p;
    const int64_t cy = gen.randint(0, in.height), cx = gen.randint(0, in.width);  // the square's centre
    return apply ? erase(x, cy - size / 2, cx - size / 2, size, size, 0.0) : x.clone();
  });
}

Tensor Compose::operator()(const Tensor& image, Generator& gen) const {
  Tensor x = image;
  for (const Transform& t : transforms) x = t(x, gen);
  return x;
}

}  // namespace ember
