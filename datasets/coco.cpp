// Reading and writing COCO instances and results files (layouts in coco.h) with nlohmann::json.
#include "datasets/coco.h"

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"

namespace ember {

namespace {

using nlohmann::json;

// Where in the file an entry is, for error messages: "coco: FILE: annotations[7]".
struct Place {
  const std::string& source;
  std::string entry;
};

json parse(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 5: ...", or for a
    // number too large for a double (1e999) "[json.exception.out_of_range.406] number overflow ..."
    // (found by fuzz/fuzz_coco_json: that one is no parse_error)
    fail("coco: ", source, ": not valid JSON: ", e.what());
  }
}

const json& field(const json& object, const char* name, const Place& at) {
  auto it = object.find(name);
  check(it != object.end(), "coco: ", at.source, ": ", at.entry, ": missing field '", name, "'");
  return *it;
}

// JSON numbers that are whole (1, not 1.0) and fit an int64.
int64_t int_field(const json& object, const char* name, const Place& at) {
  const json& v = field(object, name, at);
  check(v.is_number_integer(), "coco: ", at.source, ": ", at.entry, ": field '", name,
        "' must be an integer, got ", v.dump());
  if (v.is_number_unsigned())
    check(v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX), "coco: ", at.source, ": ", at.entry,
          ": field '", name, "' is too large: ", v.dump());
  return v.get<int64_t>();
}

double number_field(const json& object, const char* name, const Place& at) {
  const json& v = field(object, name, at);
  check(v.is_number(), "coco: ", at.source, ": ", at.entry, ": field '", name, "' must be a number, got ",
        v.dump());
  return v.get<double>();
}

std::array<double, 4> bbox_field(const json& object, const Place& at) {
  const json& v = field(object, "bbox", at);
  bool ok = v.is_array() && v.size() == 4;
  for (size_t i = 0; ok && i < 4; ++i) ok = v[i].is_number();
  check(ok, "coco: ", at.source, ": ", at.entry, ": field 'bbox' must be an array of 4 numbers [x, y, w, h], got ",
        v.dump());
  return {v[0].get<double>(), v[1].get<double>(), v[2].get<double>(), v[3].get<double>()};
}

// An optional string or integer field: absent is fine, the wrong type is not.
std::string optional_string(const json& object, const char* name, const Place& at) {
  auto it = object.find(name);
  if (it == object.end()) return "";
  check(it->is_string(), "coco: ", at.source, ": ", at.entry, ": field '", name, "' must be a string, got ",
        it->dump());
  return it->get<std::string>();
}

int64_t optional_int(const json& object, const char* name, const Place& at) {
  return object.contains(name) ? int_field(object, name, at) : 0;
}

// The list `name` of the top-level object; each entry must be an object.
const json& list_field(const json& root, const char* name, const std::string& source) {
  auto it = root.find(name);
  check(it != root.end(), "coco: ", source, ": missing the list '", name, "'");
  check(it->is_array(), "coco: ", source, ": '", name, "' must be a list, got ", it->type_name());
  for (size_t i = 0; i < it->size(); ++i)
    check((*it)[i].is_object(), "coco: ", source, ": ", name, "[", i, "] must be an object, got ",
          (*it)[i].type_name());
  return *it;
}

std::string entry_name(const char* list, size_t index) { return std::string(list) + "[" + std::to_string(index) + "]"; }

}  // namespace

CocoInstances parse_coco_instances(const std::string& json_text, const std::string& source) {
  json root = parse(json_text, source);
  check(root.is_object(), "coco: ", source, ": an instances file is a JSON object with 'images', 'annotations' "
        "and 'categories', got ", root.type_name());
  CocoInstances out;

  const json& images = list_field(root, "images", source);
  for (size_t i = 0; i < images.size(); ++i) {
    Place at{source, entry_name("images", i)};
    CocoImage image;
    image.id = int_field(images[i], "id", at);
    image.file_name = optional_string(images[i], "file_name", at);
    image.width = optional_int(images[i], "width", at);
    image.height = optional_int(images[i], "height", at);
    out.images.push_back(std::move(image));
  }

  const json& annotations = list_field(root, "annotations", source);
  for (size_t i = 0; i < annotations.size(); ++i) {
    const json& a = annotations[i];
    Place at{source, entry_name("annotations", i)};
    CocoAnnotation ann;
    ann.id = int_field(a, "id", at);
    ann.image_id = int_field(a, "image_id", at);
    ann.category_id = int_field(a, "category_id", at);
    ann.bbox = bbox_field(a, at);
    ann.area = number_field(a, "area", at);
    const json& crowd = field(a, "iscrowd", at);
    bool crowd_ok = crowd.is_boolean() || (crowd.is_number_integer() && (crowd == 0 || crowd == 1));
    check(crowd_ok, "coco: ", source, ": ", at.entry, ": field 'iscrowd' must be 0 or 1, got ", crowd.dump());
    ann.iscrowd = crowd.is_boolean() ? crowd.get<bool>() : crowd.get<int64_t>() == 1;
    out.annotations.push_back(ann);
  }

  const json& categories = list_field(root, "categories", source);
  for (size_t i = 0; i < categories.size(); ++i) {
    Place at{source, entry_name("categories", i)};
    CocoCategory category;
    category.id = int_field(categories[i], "id", at);
    category.name = optional_string(categories[i], "name", at);
    category.supercategory = optional_string(categories[i], "supercategory", at);
    out.categories.push_back(std::move(category));
  }
  return out;
}

std::vector<CocoResult> parse_coco_results(const std::string& json_text, const std::string& source) {
  json root = parse(json_text, source);
  check(root.is_array(), "coco: ", source, ": a results file is a JSON list of {image_id, category_id, bbox, "
        "score}, got ", root.type_name());
  std::vector<CocoResult> out;
  for (size_t i = 0; i < root.size(); ++i) {
    Place at{source, "results[" + std::to_string(i) + "]"};
    check(root[i].is_object(), "coco: ", source, ": ", at.entry, " must be an object, got ", root[i].type_name());
    CocoResult r;
    r.image_id = int_field(root[i], "image_id", at);
    r.category_id = int_field(root[i], "category_id", at);
    r.bbox = bbox_field(root[i], at);
    r.score = number_field(root[i], "score", at);
    out.push_back(r);
  }
  return out;
}

CocoInstances read_coco_instances(const std::string& path) { return parse_coco_instances(read_file(path), path); }

std::vector<CocoResult> read_coco_results(const std::string& path) { return parse_coco_results(read_file(path), path); }

namespace {

nlohmann::ordered_json bbox_json(const std::array<double, 4>& b, const char* who) {
  for (double v : b) check(std::isfinite(v), who, ": a bbox holds ", v, ", which JSON cannot store");
  return nlohmann::ordered_json::array({b[0], b[1], b[2], b[3]});
}

}  // namespace

std::string coco_instances_json(const CocoInstances& instances) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  root["images"] = nlohmann::ordered_json::array();
  for (const CocoImage& image : instances.images)
    root["images"].push_back(
        {{"id", image.id}, {"file_name", image.file_name}, {"width", image.width}, {"height", image.height}});
  root["annotations"] = nlohmann::ordered_json::array();
  for (const CocoAnnotation& a : instances.annotations) {
    check(std::isfinite(a.area), "coco_instances_json: annotation ", a.id, " has area ", a.area);
    root["annotations"].push_back({{"id", a.id},
                                   {"image_id", a.image_id},
                                   {"category_id", a.category_id},
                                   {"bbox", bbox_json(a.bbox, "coco_instances_json")},
                                   {"area", a.area},
                                   {"iscrowd", a.iscrowd ? 1 : 0}});
  }
  root["categories"] = nlohmann::ordered_json::array();
  for (const CocoCategory& c : instances.categories) {
    nlohmann::ordered_json category = {{"id", c.id}, {"name", c.name}};
    if (!c.supercategory.empty()) category["supercategory"] = c.supercategory;
    root["categories"].push_back(category);
  }
  return root.dump() + "\n";
}

std::string coco_results_json(const std::vector<CocoResult>& results) {
  nlohmann::ordered_json root = nlohmann::ordered_json::array();
  for (const CocoResult& r : results) {
    check(std::isfinite(r.score), "coco_results_json: a score is ", r.score, ", which JSON cannot store");
    root.push_back({{"image_id", r.image_id},
                    {"category_id", r.category_id},
                    {"bbox", bbox_json(r.bbox, "coco_results_json")},
                    {"score", r.score}});
  }
  return root.dump() + "\n";
}

void write_coco_instances(const std::string& path, const CocoInstances& instances) {
  write_file_atomic(path, coco_instances_json(instances));
}

void write_coco_results(const std::string& path, const std::vector<CocoResult>& results) {
  write_file_atomic(path, coco_results_json(results));
}

}  // namespace ember
