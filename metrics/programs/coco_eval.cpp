// coco_eval: scores a detector's COCO results file against a COCO instances file and prints the 12
// numbers of pycocotools' COCOeval(iouType='bbox').summarize(), in its layout.
//
//   build/bin/coco_eval --gt=instances.json --dt=detections.json [--json=stats.json]
//
// --json=FILE also writes the numbers ({"AP": ..., "AP50": ..., ...}, all digits) for scripts.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fs.h"
#include "datasets/coco.h"
#include "metrics/coco_eval.h"

namespace {

const char* kUsage =
    "usage: coco_eval --gt=instances.json --dt=detections.json [--json=stats.json]\n"
    "  --gt=FILE    COCO instances file: images, annotations (id, image_id, category_id, bbox, area,\n"
    "               iscrowd), categories\n"
    "  --dt=FILE    COCO results file: a list of {image_id, category_id, bbox, score}\n"
    "  --json=FILE  also write the 12 numbers as JSON\n"
    "Prints COCOeval.summarize()'s 12 lines (AP@[.5:.95], AP50, AP75, AP small/medium/large, AR@1/10/100,\n"
    "AR small/medium/large).\n";

struct Args {
  std::string gt, dt, json;
};

// --key=value only; a missing or unknown key is an error with the usage.
Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    auto value_of = [&](const std::string& key, std::string& out) {
      if (arg.rfind(key, 0) != 0) return false;
      out = arg.substr(key.size());
      return true;
    };
    if (!value_of("--gt=", args.gt) && !value_of("--dt=", args.dt) && !value_of("--json=", args.json))
      ember::fail("coco_eval: unknown argument '", arg, "'\n", kUsage);
  }
  ember::check(!args.gt.empty() && !args.dt.empty(), "coco_eval: --gt=FILE and --dt=FILE are both needed\n", kUsage);
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ember;
  try {
    Args args = parse_args(argc, argv);
    CocoInstances gt = read_coco_instances(args.gt);
    std::vector<CocoResult> dt = read_coco_results(args.dt);

    std::vector<int64_t> image_ids, category_ids;
    for (const CocoImage& image : gt.images) image_ids.push_back(image.id);
    for (const CocoCategory& category : gt.categories) category_ids.push_back(category.id);
    std::vector<CocoGroundTruth> ground_truth;
    for (const CocoAnnotation& a : gt.annotations)
      ground_truth.push_back({a.id, a.image_id, a.category_id, a.bbox, a.area, a.iscrowd});
    std::vector<CocoDetection> detections;
    for (const CocoResult& r : dt) detections.push_back({r.image_id, r.category_id, r.bbox, r.score});

    CocoEvalResult result = coco_evaluate(image_ids, category_ids, ground_truth, detections);
    std::fprintf(stderr, "coco_eval: %zu images, %zu categories, %zu ground-truth boxes, %zu detections\n",
                 image_ids.size(), result.category_ids.size(), ground_truth.size(), detections.size());
    if (result.skipped_detections > 0)
      std::fprintf(stderr, "coco_eval: %lld detections have a category_id that is not in the categories and are "
                   "not scored (as in COCOeval)\n", static_cast<long long>(result.skipped_detections));
    if (result.skipped_ground_truth > 0)
      std::fprintf(stderr, "coco_eval: %lld annotations have an image_id or category_id that is not listed and are "
                   "not scored (as in COCOeval)\n", static_cast<long long>(result.skipped_ground_truth));
    std::fputs(coco_summary_text(result.stats).c_str(), stdout);
    if (!args.json.empty()) write_file_atomic(args.json, coco_stats_json(result.stats));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
