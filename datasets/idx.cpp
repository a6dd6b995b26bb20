// Reading and writing IDX files (see idx.h for the format), raw or gzip-compressed.
#include "datasets/idx.h"

#include <zlib.h>

#include <climits>
#include <cstdio>

#include "core/error.h"
#include "core/fs.h"

namespace ember {

namespace {

constexpr uint8_t kUnsignedByte = 0x08;  // the IDX type code of unsigned bytes
constexpr int kMaxDims = 16;

bool is_gzip(const std::string& file) {
  return file.size() >= 2 && static_cast<uint8_t>(file[0]) == 0x1f && static_cast<uint8_t>(file[1]) == 0x8b;
}

// Inflates a gzip file held in memory. A stream that stops before its end (a cut-off download) is
// not an error here: `truncated` is set and the bytes inflated so far are returned, so that the
// caller can say how many it expected and how many it got.
std::vector<uint8_t> gunzip(const std::string& compressed, const std::string& path, bool& truncated) {
  check(compressed.size() < UINT_MAX, "idx: ", path, " is too large to inflate in one go (", compressed.size(),
        " bytes)");
  z_stream zs{};
  // 15 + 16: a 32 KiB window and a gzip header (not a bare zlib stream).
  check(inflateInit2(&zs, 15 + 16) == Z_OK, "idx: cannot initialise zlib to read ", path);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());

  std::vector<uint8_t> out(std::max<size_t>(compressed.size() * 2, 1 << 16));
  truncated = false;
  for (;;) {
    if (zs.total_out == out.size()) out.resize(out.size() * 2);  // the output buffer is full: grow
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - zs.total_out, UINT_MAX));
    int ret = inflate(&zs, Z_NO_FLUSH);
    if (ret == Z_STREAM_END) break;
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && zs.avail_out == 0) continue;  // only out of output space
    if (ret == Z_BUF_ERROR && zs.avail_in == 0) {           // out of input before the end
      truncated = true;
      break;
    }
    std::string reason = zs.msg ? zs.msg : "zlib error " + std::to_string(ret);
    inflateEnd(&zs);
    fail("idx: ", path, " is not a valid gzip file: ", reason);
  }
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

std::string gzip_compress(const std::string& raw, const std::string& path) {
  check(raw.size() < UINT_MAX, "write_idx: ", path, " is too large to compress in one go");
  z_stream zs{};
  check(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
        "write_idx: cannot initialise zlib to write ", path);
  std::string out(deflateBound(&zs, static_cast<uLong>(raw.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int ret = deflate(&zs, Z_FINISH);  // deflateBound guarantees that one call finishes
  out.resize(zs.total_out);
  deflateEnd(&zs);
  check(ret == Z_STREAM_END, "write_idx: gzip compression of ", path, " failed (zlib error ", ret, ")");
  return out;
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

void append_be32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

// "0x00000803"
std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", v);
  return buf;
}

}  // namespace

IdxFile read_idx(const std::string& path, int expected_ndim) {
  check(file_exists(path), "idx: file not found: ", path);
  std::string file = read_file(path);

  // The whole file, inflated if it is gzip-compressed.
  bool gzipped = is_gzip(file), truncated_stream = false;
  std::vector<uint8_t> data =
      gzipped ? gunzip(file, path, truncated_stream) : std::vector<uint8_t>(file.begin(), file.end());
  file.clear();
  const char* after = gzipped ? " (after gunzip)" : "";
  const int64_t got = static_cast<int64_t>(data.size());

  // Magic number: 0x00 0x00 type ndim.
  check(got >= 4, "idx: truncated file ", path, ": expected at least 4 bytes (the magic number), got ", got, after);
  const uint32_t magic = read_be32(data.data());
  const int ndim = data[3];
  const bool magic_ok = data[0] == 0 && data[1] == 0 && data[2] == kUnsignedByte &&
                        (expected_ndim < 0 ? ndim >= 1 && ndim <= kMaxDims : ndim == expected_ndim);
  if (!magic_ok) {
    std::string wanted = expected_ndim < 0
                             ? std::string("0x000008NN (unsigned bytes, NN dimensions)")
                             : hex32(0x800u + expected_ndim) + " (unsigned bytes, " + std::to_string(expected_ndim) +
                                   (expected_ndim == 1 ? " dimension)" : " dimensions)");
    fail("idx: wrong magic number in ", path, ": ", hex32(magic), ", expected ", wanted);
  }

  // The sizes of the dimensions.
  const int64_t header = 4 + 4 * int64_t(ndim);
  check(got >= header, "idx: truncated file ", path, ": expected at least ", header, " bytes (the header of ", ndim,
        " dimensions), got ", got, after);
  IdxFile idx;
  int64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    const int64_t size = read_be32(data.data() + 4 + 4 * d);
    idx.dims.push_back(size);
    // (a corrupt header could claim 2^32 x 2^32 x ... elements: stop before the product overflows)
    check(size == 0 || count <= (int64_t(1) << 40) / size, "idx: ", path, ": dimensions ", shape_str(idx.dims),
          "... are too large for an IDX file");
    count *= size;
  }

  // The elements: exactly product(dims) bytes.
  const int64_t expected = header + count;
  check(got >= expected, "idx: truncated file ", path, ": expected ", expected, " bytes, got ", got, after);
  check(got == expected, "idx: ", path, " has ", got, " bytes", after, ", expected ", expected, " for dimensions ",
        shape_str(idx.dims), ": extra data after the last element");
  check(!truncated_stream, "idx: truncated file ", path, ": the gzip stream ends before its trailer");
  data.erase(data.begin(), data.begin() + header);
  idx.bytes = std::move(data);
  return idx;
}

void write_idx(const std::string& path, const std::vector<int64_t>& dims, const std::vector<uint8_t>& bytes,
               bool gzip) {
  check(!dims.empty() && dims.size() <= kMaxDims, "write_idx: ", path, ": an IDX file has 1 to ", kMaxDims,
        " dimensions, got ", dims.size());
  int64_t count = 1;
  for (int64_t d : dims) {
    check(d >= 0 && d <= int64_t(UINT32_MAX), "write_idx: ", path, ": dimension sizes must fit in 32 bits, got ",
          shape_str(dims));
    count *= d;
  }
  check(count == static_cast<int64_t>(bytes.size()), "write_idx: ", path, ": dimensions ", shape_str(dims), " need ",
        count, " bytes, got ", bytes.size());

  std::string file;
  file.reserve(4 + 4 * dims.size() + bytes.size());
  append_be32(file, 0x800u + static_cast<uint32_t>(dims.size()));
  for (int64_t d : dims) append_be32(file, static_cast<uint32_t>(d));
  file.append(bytes.begin(), bytes.end());
  write_file_atomic(path, gzip ? gzip_compress(file, path) : file);
}

}  // namespace ember
