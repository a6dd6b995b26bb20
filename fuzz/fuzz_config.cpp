// Config files and --key=value argument lists (lessons/common/config.cpp). The first byte chooses:
// even, the rest is config-file text (parse_text and load_file); odd, the rest is an argument
// list, one argument per line. A config that loads is dumped and read back: same values.
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "lessons/common/config.h"

namespace {

ember::Config make_config() {
  ember::Config cfg;
  cfg.add_int("epochs", 2, "passes over the data");
  cfg.add_float("lr", 0.01, "learning rate");
  cfg.add_float("clip", 1.0, "gradient clipping", /*allow_non_finite=*/true);
  cfg.add_bool("augment", false, "random crops");
  cfg.add_string("model", "mlp", "which network");
  cfg.add_string("out_dir", "runs", "where results go");
  return cfg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  ember::Config cfg = make_config();
  try {
    if (data[0] % 2 == 0) {
      if (data[0] % 4 == 0) {
        cfg.parse_text(text, "fuzz.conf");
      } else {
        const std::string path = ember_fuzz::write_input("fuzz.conf", data + 1, size - 1);
        cfg.load_file(path);
      }
    } else {
      std::vector<std::string> args;
      size_t start = 0;
      while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        args.push_back(text.substr(start, end - start));
        start = end + 1;
      }
      cfg.apply_args(args);
    }
  } catch (const ember::Error&) {
    return 0;
  }
  // What loaded must survive a dump and a reload unchanged.
  ember::Config back = make_config();
  back.parse_text(cfg.dump(), "dump");  // an Error here is a finding
  if (back.dump() != cfg.dump()) std::abort();
  return 0;
}
