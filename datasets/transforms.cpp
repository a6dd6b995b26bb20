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
  return for_each_image(image, "RandomCrop", [&](const Tensor& x) {
    // the window's corner in the padded image, then in the image's own coordinates
    const int64_t top = gen.randint(0, in.height + 2 * padding - size + 1);
    const int64_t left = gen.randint(0, in.width + 2 * padding - size + 1);
    return crop(x, top - padding, left - padding, size, size);
  });
}

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
  return for_each_image(image, "ColorJitter", [&](const Tensor& x) {
    if (brightness == 0 && contrast == 0) return x.clone();
    Tensor out = x;
    if (brightness > 0) out = adjust_brightness(out, gen.uniform(1 - brightness, 1 + brightness));
    if (contrast > 0) out = adjust_contrast(out, gen.uniform(1 - contrast, 1 + contrast));
    return out;
  });
}

Tensor Compose::operator()(const Tensor& image, Generator& gen) const {
  Tensor x = image;
  for (const Transform& t : transforms) x = t(x, gen);
  return x;
}

}  // namespace ember
