// COCO JSON files (datasets/coco.cpp): the first byte chooses, even: parse_coco_instances, odd:
// parse_coco_results, on the rest. What parses is written with coco_instances_json /
// coco_results_json and parsed again: the second text must equal the first (nothing lost or
// changed on the way, numbers exact).
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "datasets/coco.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    ember::CocoInstances instances;
    try {
      instances = ember::parse_coco_instances(text, "instances.json");
    } catch (const ember::Error&) {
      return 0;
    }
    const std::string once = ember::coco_instances_json(instances);
    if (ember::coco_instances_json(ember::parse_coco_instances(once, "written")) != once) std::abort();
  } else {
    std::vector<ember::CocoResult> results;
    try {
      results = ember::parse_coco_results(text, "results.json");
    } catch (const ember::Error&) {
      return 0;
    }
    const std::string once = ember::coco_results_json(results);
    if (ember::coco_results_json(ember::parse_coco_results(once, "written")) != once) std::abort();
  }
  return 0;
}
