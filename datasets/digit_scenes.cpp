// Scenes for object detection made of real objects: small images (MNIST digits, Fashion-MNIST
// items) scaled and pasted onto a larger canvas, each with the tight box of its ink (detection.h).
//
// One scene, step by step:
//   1. a square canvas of side S in [canvas_min, canvas_max], black, or Gaussian noise clipped to [0, 1];
//   2. for each object: a random source image, scaled by s in [scale_min, scale_max] (bilinear; shrunk
//      further when it would not fit the canvas), its ink box found (pixels > ink_threshold), a random
//      position tried until the box overlaps every earlier box by IoU <= max_overlap, then pasted with
//      max(canvas, object);
//   3. clutter: small crops of random sources, scaled the same way, pasted where they touch no box.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "datasets/detection.h"

namespace ember {

namespace {

constexpr int kPlacementTries = 100;  // positions (and objects) tried before an object is left out
constexpr int kClutterTries = 20;     // positions tried for one clutter fragment

// Box corners in pixels (x1, y1, x2, y2), and the overlap measure of the scenes: IoU = area of the
// intersection / area of the union (metrics/boxes.h has the same for the metrics; datasets/ sits
// beside metrics/, not above it, so it keeps its own three lines).
struct Box {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

double box_area(const Box& b) { return std::max(0.0, b.x2 - b.x1) * std::max(0.0, b.y2 - b.y1); }

double overlap_area(const Box& a, const Box& b) {
  return box_area({std::max(a.x1, b.x1), std::max(a.y1, b.y1), std::min(a.x2, b.x2), std::min(a.y2, b.y2)});
}

double iou(const Box& a, const Box& b) {
  const double inter = overlap_area(a, b), uni = box_area(a) + box_area(b) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

// A grey picture in memory, row-major: value(x, y) = values[y * width + x].
struct Picture {
  int64_t width = 0, height = 0;
  std::vector<float> values;

  float at(int64_t x, int64_t y) const { return values[y * width + x]; }
};

// Bilinear resize with pixel centres aligned (PyTorch's align_corners=False): output pixel (ox, oy)
// samples the source at ((ox + 0.5) * w / out_w - 0.5, (oy + 0.5) * h / out_h - 0.5), clamped to
// the source's edge pixels.
Picture resize_bilinear(const Picture& in, int64_t out_w, int64_t out_h) {
  Picture out{out_w, out_h, std::vector<float>(out_w * out_h)};
  const double sx = double(in.width) / out_w, sy = double(in.height) / out_h;
  for (int64_t oy = 0; oy < out_h; ++oy) {
    const double fy = std::clamp((oy + 0.5) * sy - 0.5, 0.0, double(in.height - 1));
    const int64_t y0 = int64_t(fy), y1 = std::min(y0 + 1, in.height - 1);
    const double ty = fy - y0;
    for (int64_t ox = 0; ox < out_w; ++ox) {
      const double fx = std::clamp((ox + 0.5) * sx - 0.5, 0.0, double(in.width - 1));
      const int64_t x0 = int64_t(fx), x1 = std::min(x0 + 1, in.width - 1);
      const double tx = fx - x0;
      const double top = in.at(x0, y0) * (1 - tx) + in.at(x1, y0) * tx;
      const double bottom = in.at(x0, y1) * (1 - tx) + in.at(x1, y1) * tx;
      out.values[oy * out_w + ox] = float(top * (1 - ty) + bottom * ty);
    }
  }
  return out;
}

// The tight box of the pixels above `threshold`, in the picture's own pixel corners (a box around
// exactly columns 3..5 has x1 = 3, x2 = 6); false when there is no such pixel.
bool ink_box(const Picture& p, double threshold, Box& box) {
  int64_t x_min = p.width, y_min = p.height, x_max = -1, y_max = -1;
  for (int64_t y = 0; y < p.height; ++y)
    for (int64_t x = 0; x < p.width; ++x)
      if (p.at(x, y) > threshold) {
        x_min = std::min(x_min, x), x_max = std::max(x_max, x);
        y_min = std::min(y_min, y), y_max = std::max(y_max, y);
      }
  if (x_max < 0) return false;
  box = {double(x_min), double(y_min), double(x_max + 1), double(y_max + 1)};
  return true;
}

// Source image i as a Picture (`sources` is float32 [N, h, w] or [N, 1, h, w], contiguous).
Picture source_picture(const Tensor& sources, int64_t i) {
  const int64_t h = sources.size(-2), w = sources.size(-1);
  const float* p = sources.data<float>() + i * h * w;
  return Picture{w, h, std::vector<float>(p, p + h * w)};
}

// Scale factor s drawn from [scale_min, scale_max], then reduced so the scaled picture fits the
// canvas; the pasted size is round(side * s), at least 1 pixel.
Picture draw_scaled(const Picture& p, const SceneOptions& opt, int64_t canvas, Generator& gen) {
  double s = gen.uniform(opt.scale_min, opt.scale_max);
  s = std::min({s, double(canvas) / p.width, double(canvas) / p.height});
  const int64_t w = std::clamp<int64_t>(std::llround(p.width * s), 1, canvas);
  const int64_t h = std::clamp<int64_t>(std::llround(p.height * s), 1, canvas);
  return resize_bilinear(p, w, h);
}

void paste_max(Picture& canvas, const Picture& p, int64_t x0, int64_t y0) {
  for (int64_t y = 0; y < p.height; ++y)
    for (int64_t x = 0; x < p.width; ++x) {
      float& c = canvas.values[(y0 + y) * canvas.width + x0 + x];
      c = std::max(c, p.at(x, y));
    }
}

Box shifted(const Box& b, int64_t dx, int64_t dy) {
  return {b.x1 + dx, b.y1 + dy, b.x2 + dx, b.y2 + dy};
}

void check_options(const Tensor& sources, const Tensor& labels, const std::vector<std::string>& class_names,
                   int64_t count, const SceneOptions& o) {
  const char* who = "generate_digit_scenes: ";
  check(sources.defined() && (sources.dim() == 4 || sources.dim() == 3), who,
        "sources must be [N, 1, h, w] or [N, h, w], got ", sources.defined() ? shape_str(sources.shape()) : "undefined");
  check(sources.dim() == 3 || sources.size(1) == 1, who, "sources must have 1 channel, got shape ",
        shape_str(sources.shape()));
  check(sources.size(0) > 0 && sources.size(-1) > 0 && sources.size(-2) > 0, who, "no source images: shape ",
        shape_str(sources.shape()));
  check(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1 && labels.size(0) == sources.size(0),
        who, "labels must be int64 [", sources.size(0), "] (one per source), got ",
        labels.defined() ? shape_str(labels.shape()) : "undefined");
  check(!class_names.empty(), who, "class_names is empty");
  const int64_t* l = labels.data<int64_t>();
  for (int64_t i = 0; i < labels.size(0); ++i)
    check(l[i] >= 0 && l[i] < int64_t(class_names.size()), who, "labels[", i, "] = ", l[i], " is not a class (",
          class_names.size(), " class names)");
  check(count >= 0, who, "count must be >= 0, got ", count);
  check(o.canvas_min >= 1 && o.canvas_min <= o.canvas_max && o.canvas_max <= 16384, who,
        "canvas side range must satisfy 1 <= canvas_min <= canvas_max <= 16384, got [", o.canvas_min, ", ",
        o.canvas_max, "]");
  check(o.objects_min >= 0 && o.objects_min <= o.objects_max && o.objects_max <= 1000, who,
        "objects per scene must satisfy 0 <= objects_min <= objects_max <= 1000, got [", o.objects_min, ", ",
        o.objects_max, "]");
  check(o.scale_min > 0 && o.scale_min <= o.scale_max && o.scale_max <= 100, who,
        "scale range must satisfy 0 < scale_min <= scale_max <= 100, got [", o.scale_min, ", ", o.scale_max, "]");
  check(o.max_overlap >= 0 && o.max_overlap <= 1, who, "max_overlap must be in [0, 1], got ", o.max_overlap);
  check(o.ink_threshold >= 0 && o.ink_threshold < 1, who, "ink_threshold must be in [0, 1), got ", o.ink_threshold);
  check(o.noise >= 0 && std::isfinite(o.noise), who, "noise must be >= 0, got ", o.noise);
  check(o.clutter >= 0 && o.clutter <= 1000, who, "clutter must be in [0, 1000], got ", o.clutter);
  check(o.channels == 1 || o.channels == 3, who, "channels must be 1 or 3, got ", o.channels);
}

// Step 2 for one object: true when it was pasted (and its box appended).
bool place_object(Picture& canvas, std::vector<LabelledBox>& boxes, const Tensor& sources, const int64_t* labels,
                  const SceneOptions& opt, Generator& gen) {
  for (int attempt = 0; attempt < kPlacementTries; ++attempt) {
    const int64_t index = gen.randint(0, sources.size(0));
    const Picture object = draw_scaled(source_picture(sources, index), opt, canvas.width, gen);
    Box ink;
    if (!ink_box(object, opt.ink_threshold, ink)) continue;  // a blank source (or one scaled to nothing)
    const int64_t x0 = gen.randint(0, canvas.width - object.width + 1);
    const int64_t y0 = gen.randint(0, canvas.height - object.height + 1);
    const Box box = shifted(ink, x0, y0);
    bool fits = true;
    for (const LabelledBox& other : boxes)
      fits = fits && iou(box, Box{other.x1, other.y1, other.x2, other.y2}) <= opt.max_overlap;
    if (!fits) continue;
    paste_max(canvas, object, x0, y0);
    boxes.push_back({labels[index], float(box.x1), float(box.y1), float(box.x2), float(box.y2)});
    return true;
  }
  return false;
}

// Step 3 for one fragment: a crop of 1/5 to 1/3 of a source's side, placed away from every box
// (a 1-pixel margin, so no fragment touches an object's box edge).
void place_clutter(Picture& canvas, const std::vector<LabelledBox>& boxes, const Tensor& sources,
                   const SceneOptions& opt, Generator& gen) {
  const Picture source = source_picture(sources, gen.randint(0, sources.size(0)));
  const int64_t cw = std::max<int64_t>(2, gen.randint(source.width / 5, source.width / 3 + 1));
  const int64_t ch = std::max<int64_t>(2, gen.randint(source.height / 5, source.height / 3 + 1));
  const int64_t cx = gen.randint(0, std::max<int64_t>(1, source.width - cw + 1));
  const int64_t cy = gen.randint(0, std::max<int64_t>(1, source.height - ch + 1));
  Picture crop{std::min(cw, source.width - cx), std::min(ch, source.height - cy), {}};
  for (int64_t y = 0; y < crop.height; ++y)
    for (int64_t x = 0; x < crop.width; ++x) crop.values.push_back(source.at(cx + x, cy + y));
  const Picture fragment = draw_scaled(crop, opt, canvas.width, gen);
  for (int attempt = 0; attempt < kClutterTries; ++attempt) {
    const int64_t x0 = gen.randint(0, canvas.width - fragment.width + 1);
    const int64_t y0 = gen.randint(0, canvas.height - fragment.height + 1);
    const Box area{double(x0 - 1), double(y0 - 1), double(x0 + fragment.width + 1), double(y0 + fragment.height + 1)};
    bool clear = true;
    for (const LabelledBox& b : boxes) clear = clear && overlap_area(area, Box{b.x1, b.y1, b.x2, b.y2}) == 0;
    if (!clear) continue;
    paste_max(canvas, fragment, x0, y0);
    return;
  }
}

std::string scene_name(int64_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "%06lld", static_cast<long long>(index));
  return name;
}

}  // namespace

DetectionSet generate_digit_scenes(const Tensor& sources_in, const Tensor& labels,
                                   const std::vector<std::string>& class_names, int64_t count,
                                   const SceneOptions& opt, Generator& gen) {
  check_options(sources_in, labels, class_names, count, opt);
  const Tensor sources = sources_in.dtype() == DType::Float32 ? sources_in : sources_in.to(DType::Float32);
  const int64_t* label_values = labels.data<int64_t>();

  DetectionSet set;
  set.class_names = class_names;
  for (int64_t n = 0; n < count; ++n) {
    const int64_t side = gen.randint(opt.canvas_min, opt.canvas_max + 1);
    Picture canvas{side, side, std::vector<float>(side * side, 0.0f)};
    if (opt.noise > 0)
      for (float& v : canvas.values) v = float(std::clamp(gen.normal() * opt.noise, 0.0, 1.0));

    DetectionImage scene;
    const int64_t objects = gen.randint(opt.objects_min, opt.objects_max + 1);
    for (int64_t k = 0; k < objects; ++k) {
      const bool placed = place_object(canvas, scene.boxes, sources, label_values, opt, gen);
      check(placed || k > 0, "generate_digit_scenes: no source image has ink above ink_threshold ",
            opt.ink_threshold, " (", kPlacementTries, " tried): are the sources in [0, 1]?");
      if (!placed) break;
    }
    for (int64_t c = 0; c < opt.clutter; ++c) place_clutter(canvas, scene.boxes, sources, opt, gen);

    scene.image = Tensor::empty({opt.channels, side, side});
    float* out = scene.image.data<float>();
    for (int64_t c = 0; c < opt.channels; ++c) std::copy(canvas.values.begin(), canvas.values.end(), out + c * side * side);
    scene.name = scene_name(n);
    set.images.push_back(std::move(scene));
  }
  return set;
}

std::vector<SceneSources> split_sources(const Tensor& images, const Tensor& labels,
                                        const std::vector<double>& fractions, Generator& gen) {
  check(images.defined() && images.dim() >= 1, "split_sources: images must be [N, ...], got ",
        images.defined() ? shape_str(images.shape()) : "undefined");
  const int64_t n = images.size(0);
  check(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1 && labels.size(0) == n,
        "split_sources: labels must be int64 [", n, "] (one per image), got ",
        labels.defined() ? shape_str(labels.shape()) : "undefined");
  double total = 0;
  for (double f : fractions) {
    check(f > 0 && f <= 1, "split_sources: every fraction must be in (0, 1], got ", f);
    total += f;
  }
  check(total <= 1 + 1e-9, "split_sources: the fractions add up to ", total, ", more than 1");

  // Fisher-Yates: order[i] is the image that lands at place i.
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.randint(0, i + 1)]);

  const Tensor all = images.dtype() == DType::Float32 ? images : images.to(DType::Float32);
  const int64_t row = n > 0 ? all.numel() / n : 0;
  std::vector<SceneSources> parts;
  int64_t start = 0;
  for (double f : fractions) {
    const int64_t size = std::min<int64_t>(std::llround(f * n), n - start);
    Shape shape = all.shape();
    shape[0] = size;
    SceneSources part{Tensor::empty(shape), Tensor::empty({size}, DType::Int64)};
    for (int64_t i = 0; i < size; ++i) {
      const int64_t from = order[start + i];
      std::copy_n(all.data<float>() + from * row, row, part.images.data<float>() + i * row);
      part.labels.data<int64_t>()[i] = labels.data<int64_t>()[from];
    }
    parts.push_back(std::move(part));
    start += size;
  }
  return parts;
}

}  // namespace ember
