// The character-level transformer lesson (nanoGPT's "baby GPT"): train a small GPT on a text,
// one character at a time, then let it write.
//
//   ./run.sh chargpt --config=lessons/chargpt/configs/cpu.conf            train (minutes on 2 cores)
//   ./run.sh chargpt --config=lessons/chargpt/configs/train_hca.conf      the course's configuration
//   ./run.sh chargpt --sample --out_dir=runs/chargpt --start="Der kom en soldat"
//   ./run.sh chargpt --help                                               every setting
//
// The training loop is chargpt::train() in lessons/chargpt/chargpt.cpp, the model is
// layers/gpt.h; lessons/chargpt/README.md explains both.
#include <iostream>
#include <string>
#include <vector>

#include "lessons/chargpt/chargpt.h"

int main(int argc, char** argv) {
  return ember::chargpt::run(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
