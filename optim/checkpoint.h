#pragma once
// Checkpoints: everything a training run needs to continue exactly where it stopped, in one
// safetensors file (core/safetensors.h), readable from Python too:
//
//   tensors       the model's tensors under their own names ("fc.weight", ...), and the
//                 optimizer's buffers as "optimizer.state.<i>.<buffer>"
//   __metadata__  "format": "ember-checkpoint", "step", "rng_state" (six integers), the optimizer's
//                 type and scalars as "optimizer.*", plus any extra strings of yours
//
// Numbers are stored as text that reads back to the same bits, so resuming at `step` with the saved
// generator state gives bit-identical results to never having stopped:
//
//   save_checkpoint(path, model.state_dict(), opt, it, gen.state(), {{"val_loss", "1.52"}});
//   ...
//   CheckpointInfo info = load_checkpoint(path, model.state_dict(), opt);
//   gen.set_state(info.rng_state);
//   for (int64_t it = info.step; ...)
#include <array>
#include <cstdint>
#include <string>

#include "core/safetensors.h"
#include "optim/optimizer.h"

namespace ember {

struct CheckpointInfo {
  int64_t step = 0;
  std::array<uint64_t, 6> rng_state{};  // as Generator::state()
  Metadata extra;                       // the extra metadata given to save_checkpoint
};

// Writes atomically (a crash never destroys the previous checkpoint at `path`). Model tensor
// names must not start with "optimizer."; extra keys must not be "format", "step", "rng_state" or
// start with "optimizer.".
void save_checkpoint(const std::string& path, const NamedTensors& model_state, const Optimizer& optimizer,
                     int64_t step, const std::array<uint64_t, 6>& rng_state, const Metadata& extra = {});

// Checks the file against the model (every missing, unexpected or mismatched tensor is listed in
// one error) and the optimizer, then copies the tensors into model_state's tensors in place (they
// share memory with the model's parameters and buffers) and restores the optimizer's state.
// Nothing is changed when a check fails.
CheckpointInfo load_checkpoint(const std::string& path, const NamedTensors& model_state, Optimizer& optimizer);

// Only the model's tensors (for evaluation or fine-tuning with a new optimizer): the optimizer's
// entries in the file are ignored. Returns the checkpoint's step, RNG state and extra metadata.
CheckpointInfo load_model_from_checkpoint(const std::string& path, const NamedTensors& model_state);

}  // namespace ember
