// The character-level transformer lesson (nanoGPT's "baby GPT"): train a small GPT on a text,
// one character at a time, then let it write.
//
//   ./run.sh chargpt --config=lessons/chargpt/configs/cpu.conf            train (minutes on 2 cores)
//   ./run.sh chargpt --config=lessons/chargpt/configs/train_hca.conf      the course's configuration
//   ./run.sh chargpt --sample --out_dir=runs/chargpt --start="Der kom en soldat"
//   ./run.sh chargpt --help                                               every setting
//
// The story, in order (lesson.h lists the files; the model itself is layers/gpt.h):
//   1. settings   the command line and config files; every value in its range   settings.cpp
//   2. data       the text -> characters -> token ids, 90% train / 10% val      data.cpp
//   3. model      GPT(n_layer, n_head, n_embd, block_size, V) and AdamW; the
//                 settings' memory need against the machine's                   model.cpp
//   4. train      for each iteration: learning rate, micro-batches, clipping,
//                 AdamW step; every eval_interval: evaluate, save checkpoints   train.cpp
//                 (what a checkpoint carries: settings, vocabulary, history)    checkpoint.cpp
//   5. report     progress lines, history.csv, curves.png, metrics.json         report.cpp
//   6. sample     the best checkpoint writes text (--sample)                    sample.cpp
// run() (settings.cpp) reads the settings and runs train() or sample(); the tests call it too.
// lessons/chargpt/README.md explains the model and the loop.
#include <iostream>
#include <string>
#include <vector>

#include "distributed/distributed.h"
#include "lessons/chargpt/lesson.h"

int main(int argc, char** argv) {
  ember::DistributedSession session(argc, argv);  // mpirun -np 2 build/bin/chargpt: data-parallel
  const int status = ember::chargpt::run(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
  // an error on one process would leave the others waiting for it in their next all-reduce
  if (status != 0 && ember::world_size() > 1) ember::abort_all_ranks(status);
  return status;
}
