#pragma once
// Embedding: a lookup table of vectors, one row per token id.
//
//   ids: int64 [...] -> [..., embedding_dim];   out[..., :] = weight[id, :]
//   weight: [num_embeddings, embedding_dim], initialised N(0, 1)
//
// The same as multiplying a one-hot vector by the weight, without building the one-hot vector;
// the gradient adds each position's output gradient into the row it read (core/ops/embedding.cpp).
#include "layers/module.h"

namespace ember {

class Generator;

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator* gen = nullptr);
  Tensor forward(const Tensor& ids) override;
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;  // "65, 192"

  const int64_t num_embeddings, embedding_dim;
  Tensor weight;
};

}  // namespace ember
