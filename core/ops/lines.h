#pragma once
// A tensor seen as [outer, n, inner] around one of its dimensions: the view that every op working
// "along dim d" (reductions, softmax, cross-entropy's class dimension, slice, concat) walks.
//
//   shape [d0, ..., d(d-1), n, d(d+1), ..., d(r-1)]  seen as  [outer, n, inner]
//   outer = d0 * ... * d(d-1)          (1 when d is the first dimension)
//   n     = the size of dimension d
//   inner = d(d+1) * ... * d(r-1)      (1 when d is the last dimension)
//
// Row-major memory makes this free: element (o, j, i) sits at (o * n + j) * inner + i. A "line" is
// the n elements (o, 0..n-1, i) for one (o, i): consecutive elements of a line are `inner` apart,
// and there are outer * inner lines. With d the last dimension (inner = 1) the lines are the rows.
#include <cstdint>
#include <vector>

namespace ember {

struct Lines {
  int64_t outer = 1, n = 1, inner = 1;

  // where element (o, j, i) sits in memory
  int64_t at(int64_t o, int64_t j, int64_t i) const { return (o * n + j) * inner + i; }
};

// `shape` seen as [outer, n, inner] around dimension d (0 <= d < shape.size()).
inline Lines lines_of(const std::vector<int64_t>& shape, int64_t d) {
  Lines l;
  for (int64_t k = 0; k < d; ++k) l.outer *= shape[k];
  l.n = shape[d];
  for (size_t k = d + 1; k < shape.size(); ++k) l.inner *= shape[k];
  return l;
}

}  // namespace ember
