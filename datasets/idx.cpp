// Reading and writing IDX files (see idx.h for the format), raw or gzip-compressed.
#include "datasets/idx.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "core/fs.h"

namespace ember {

namespace {

constexpr uint8_t kUnsignedByte = 0x08;  // the IDX type code of unsigned bytes
constexpr int kMaxDims = 16;

// The bytes of an IDX file, in order, from a raw file or through zlib from a gzip file.
//
// Gzip is inflated on demand, as many bytes as asked: the header first, so that it is checked
// before anything is allocated for the elements, then exactly the elements it declares. A small
// file that inflates to gigabytes (a "gzip bomb") is stopped as soon as it yields more bytes than
// its header declared. Several gzip members one after another (what `cat a.gz b.gz` makes, and
// what zcat reads) are one stream; anything else after the last member is an error.
class IdxBytes {
 public:
  // A raw file is read as needed; a gzip file (at most `max_compressed` bytes) is held in memory.
  IdxBytes(const std::string& path, uint64_t max_compressed) : path_(path), raw_(path, "idx") {
    uint8_t magic[2] = {0, 0};
    if (raw_.size() >= 2) raw_.read_at(0, magic, 2);
    gzip_ = magic[0] == 0x1f && magic[1] == 0x8b;
    if (!gzip_) return;
    file_ = read_file(path, max_compressed);
    check(file_.size() < UINT_MAX, "idx: ", path, " is too large to inflate in one go (", file_.size(), " bytes)");
    // 15 + 16: a 32 KiB window and a gzip header (not a bare zlib stream).
    check(inflateInit2(&zs_, 15 + 16) == Z_OK, "idx: cannot initialise zlib to read ", path);
    zs_.next_in = reinterpret_cast<Bytef*>(file_.data());
    zs_.avail_in = static_cast<uInt>(file_.size());
  }
  ~IdxBytes() {
    if (gzip_) inflateEnd(&zs_);
  }
  IdxBytes(const IdxBytes&) = delete;
  IdxBytes& operator=(const IdxBytes&) = delete;

  bool gzip() const { return gzip_; }
  uint64_t file_size() const { return raw_.size(); }
  const char* after() const { return gzip_ ? " (after gunzip)" : ""; }

  // Up to `n` bytes into `out`; fewer only when the data ends.
  size_t read(uint8_t* out, size_t n) {
    if (!gzip_) {
      size_t got = static_cast<size_t>(std::min<uint64_t>(n, raw_.size() - position_));
      raw_.read_at(position_, out, got);
      position_ += got;
      return got;
    }
    size_t got = 0;
    while (got < n && !ended_) {
      zs_.next_out = out + got;
      zs_.avail_out = static_cast<uInt>(std::min<size_t>(n - got, UINT_MAX));
      const uInt before = zs_.avail_out;
      int ret = inflate(&zs_, Z_NO_FLUSH);
      got += before - zs_.avail_out;
      if (ret == Z_STREAM_END) {
        next_member();
        continue;
      }
      if (ret == Z_OK) continue;
      if (ret == Z_BUF_ERROR && zs_.avail_in == 0) {  // the compressed data stops before the stream's end
        truncated_ = true;
        ended_ = true;
        break;
      }
      if (ret == Z_BUF_ERROR) continue;  // only out of output space
      fail("idx: ", path_, " is not a valid gzip file: ", zs_.msg ? zs_.msg : "zlib error " + std::to_string(ret),
           " (at compressed byte offset ", compressed_offset(), ")");
    }
    position_ += got;
    return got;
  }

  // True when the data ends exactly here: no byte follows, and a gzip stream is complete (its
  // trailer, with CRC and length, was read and checked).
  bool at_end() {
    uint8_t extra;
    return read(&extra, 1) == 0;
  }
  bool truncated() const { return truncated_; }

 private:
  std::string path_;
  InputFile raw_;     // the file as it is on disk
  std::string file_;  // a gzip file's compressed bytes
  bool gzip_ = false;
  z_stream zs_{};
  uint64_t position_ = 0;
  bool ended_ = false, truncated_ = false;

  size_t compressed_offset() const { return file_.size() - zs_.avail_in; }

  // After the end of a member: another member (gzip magic), or the end of the file.
  void next_member() {
    if (zs_.avail_in == 0) {
      ended_ = true;
      return;
    }
    const uint8_t* next = zs_.next_in;
    check(zs_.avail_in >= 2 && next[0] == 0x1f && next[1] == 0x8b, "idx: ", path_, ": ", zs_.avail_in,
          " bytes of trailing garbage after the gzip stream, at compressed byte offset ", compressed_offset(),
          " (not another gzip member)");
    check(inflateReset(&zs_) == Z_OK, "idx: cannot reset zlib to read ", path_);
  }
};

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
  // MNIST's largest file is 47 MB raw, 9.9 MB compressed; 4 GiB leaves room for larger IDX sets.
  IdxBytes data(path, uint64_t(4) << 30);
  const char* after = data.after();

  // Magic number: 0x00 0x00 type ndim.
  uint8_t magic_bytes[4];
  size_t got = data.read(magic_bytes, 4);
  check(got == 4, "idx: truncated file ", path, ": expected at least 4 bytes (the magic number), got ", got, after);
  const uint32_t magic = read_be32(magic_bytes);
  const int ndim = magic_bytes[3];
  const bool magic_ok = magic_bytes[0] == 0 && magic_bytes[1] == 0 && magic_bytes[2] == kUnsignedByte &&
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
  uint8_t sizes[4 * 255];
  got = 4 + data.read(sizes, 4 * ndim);
  check(static_cast<int64_t>(got) == header, "idx: truncated file ", path, ": expected at least ", header,
        " bytes (the header of ", ndim, " dimensions), got ", got, after);
  IdxFile idx;
  int64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    const int64_t size = read_be32(sizes + 4 * d);
    idx.dims.push_back(size);
    // (a corrupt header could claim 2^32 x 2^32 x ... elements: stop before the product overflows)
    check(size == 0 || count <= (int64_t(1) << 40) / size, "idx: ", path, ": dimensions ", shape_str(idx.dims),
          "... are too large for an IDX file (more than 2^40 elements; the header at offset ", 4 + 4 * d,
          " is damaged?)");
    count *= size;
  }

  // The elements: exactly product(dims) bytes. A raw file's size is known: check it before
  // allocating anything. A gzip file's is not: the buffer grows as bytes arrive, doubling from
  // 64 KiB (and at most 64 MiB at a time), so a header that promises more than the file holds
  // allocates little. (Growing by 64 MiB at once made every 20-byte input allocate and clear
  // 64 MiB: the fuzzer ran at 500 inputs a second.)
  const int64_t expected = header + count;
  if (!data.gzip()) {
    const int64_t file_size = static_cast<int64_t>(data.file_size());
    check(file_size >= expected, "idx: truncated file ", path, ": expected ", expected, " bytes, got ", file_size);
    check(file_size == expected, "idx: ", path, " has ", file_size, " bytes, expected ", expected,
          " for dimensions ", shape_str(idx.dims), ": extra data after the last element");
  }
  constexpr int64_t kChunk = int64_t(64) << 20;
  while (static_cast<int64_t>(idx.bytes.size()) < count) {
    const int64_t have = static_cast<int64_t>(idx.bytes.size());
    const int64_t want = std::min({count - have, std::max<int64_t>(have, int64_t(1) << 16), kChunk});
    idx.bytes.resize(static_cast<size_t>(have + want));
    const int64_t n = static_cast<int64_t>(data.read(idx.bytes.data() + have, static_cast<size_t>(want)));
    check(n == want, "idx: truncated file ", path, ": expected ", expected, " bytes, got ", header + have + n, after);
  }
  check(data.at_end(), "idx: ", path, " has more than ", expected, " bytes", after, ", expected ", expected,
        " for dimensions ", shape_str(idx.dims), ": extra data after the last element");
  check(!data.truncated(), "idx: truncated file ", path, ": the gzip stream ends before its trailer");
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
