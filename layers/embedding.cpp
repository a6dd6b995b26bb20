// Embedding layer: owns the table [V, D]; the embedding op gathers rows forward and scatter-adds
// gradients backward.
#include "layers/embedding.h"

#include "core/ops.h"
#include "layers/init.h"

namespace ember {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator* gen)
    : num_embeddings(num_embeddings), embedding_dim(embedding_dim) {
  check(num_embeddings > 0 && embedding_dim > 0, "Embedding: sizes must be positive, got num_embeddings=",
        num_embeddings, ", embedding_dim=", embedding_dim);
  weight = register_parameter("weight", Tensor::empty({num_embeddings, embedding_dim}));
  normal_(weight, 0.0, 1.0, gen);
}

Tensor Embedding::forward(const Tensor& ids) {
  check(ids.dtype() == DType::Int64, name(), ": expects int64 token ids, got a ", dtype_name(ids.dtype()),
        " tensor of shape ", shape_str(ids.shape()));
  return embedding(ids, weight);
}

std::string Embedding::extra_repr() const {
  return std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
}

}  // namespace ember
