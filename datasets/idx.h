#pragma once
// IDX: the file format of MNIST (and Fashion-MNIST). A file is a header and then the data:
//
//   bytes 0-3   magic number 0x000008NN: two zero bytes, the element type (0x08 = unsigned byte),
//               and NN, the number of dimensions
//                 0x00000801  labels  [N]
//                 0x00000803  images  [N, 28, 28]
//   then NN sizes, each a 32-bit big-endian unsigned integer
//   then the elements, row-major (the last dimension changes fastest), one byte each
//
// So t10k-images-idx3-ubyte holds 16 + 10000 * 28 * 28 = 7,840,016 bytes. Files are often shipped
// gzip-compressed (.gz); read_idx recognises gzip by its first two bytes (0x1f 0x8b), whatever the
// file is called, and inflates it with zlib.
//
// Only unsigned-byte IDX files (type 0x08) are supported: that is what MNIST uses.
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

struct IdxFile {
  std::vector<int64_t> dims;   // e.g. {10000, 28, 28}
  std::vector<uint8_t> bytes;  // the elements, product(dims) of them
};

// Reads an IDX file, raw or gzip-compressed. expected_ndim >= 0 checks the number of dimensions
// (the last byte of the magic number): 1 for labels, 3 for images. Every problem is an error that
// names the file and what was expected, e.g.
//   idx: truncated file t10k-images-idx3-ubyte.gz: expected 7840016 bytes, got 4096 (after gunzip)
IdxFile read_idx(const std::string& path, int expected_ndim = -1);

// Writes an IDX file of unsigned bytes (gzip-compressed when gzip is true). bytes must hold
// product(dims) elements. Used to convert other sources to IDX, and by tests to make small files.
void write_idx(const std::string& path, const std::vector<int64_t>& dims, const std::vector<uint8_t>& bytes,
               bool gzip = false);

}  // namespace ember
