// UTF-8 text corpora (datasets/text.cpp): read_utf8_file on the bytes; text that decodes must
// encode back to exactly the same bytes. (Vocab is left out: it marks code points in a table of
// all 0x110000 of them, which under coverage instrumentation costs ~5 ms an input.)
#include <string>

#include "core/error.h"
#include "datasets/text.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ember_fuzz::write_input("corpus.txt", data, size);
  std::u32string text;
  try {
    text = ember::read_utf8_file(path);
  } catch (const ember::Error&) {
    return 0;
  }
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (ember::encode_utf8(text) != bytes) std::abort();  // decoding lost or changed something
  return 0;
}
