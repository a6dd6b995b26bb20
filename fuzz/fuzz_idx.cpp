// IDX files, raw and gzip (datasets/idx.cpp). The first byte chooses: bit 0 gzip-compresses the
// rest before it is written (so mutations reach the IDX checks behind zlib too; the rest may also
// be a gzip file itself), bits 1-2 the expected number of dimensions (any, 1, 3, or 2).
#include <zlib.h>

#include <string>

#include "core/error.h"
#include "datasets/idx.h"
#include "fuzz_util.h"

namespace {

std::string gzip(const uint8_t* data, size_t size) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&zs, size), '\0');
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const int expected_ndim[4] = {-1, 1, 3, 2};
  std::string path;
  if (mode & 1) {
    const std::string packed = gzip(data + 1, size - 1);
    path = ember_fuzz::write_input("input.idx", reinterpret_cast<const uint8_t*>(packed.data()), packed.size());
  } else {
    path = ember_fuzz::write_input("input.idx", data + 1, size - 1);
  }
  try {
    ember::IdxFile idx = ember::read_idx(path, expected_ndim[(mode >> 1) & 3]);
    int64_t count = 1;
    for (int64_t d : idx.dims) count *= d;
    if (static_cast<int64_t>(idx.bytes.size()) != count) std::abort();  // a silent wrong answer
  } catch (const ember::Error&) {
  }
  return 0;
}
