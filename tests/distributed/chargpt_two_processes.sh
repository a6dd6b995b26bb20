#!/usr/bin/env bash
# The char-level GPT on two processes (each half of every batch) against one process: the same
# losses to the printed digits (ctest Distributed.ChargptTwoProcessesTrainLikeOne).
#   bash tests/distributed/chargpt_two_processes.sh CHARGPT_BINARY SCRATCH_DIR MPIEXEC [MPIEXEC_FLAGS...]
set -euo pipefail
chargpt=$1 scratch=$2 mpiexec=$3
shift 3
rm -rf "$scratch"
mkdir -p "$scratch"
for i in $(seq 1 200); do echo "The quick brown fox $i jumps over the lazy dog; pack my box with five dozen jugs."; done \
  >"$scratch/input.txt"
args=(--data="$scratch/input.txt" --max_iters=12 --n_layer=1 --n_embd=32 --n_head=2 --block_size=16 --batch_size=8
      --eval_interval=6 --eval_iters=2 --dropout=0 --threads=1 --log_interval=3)
"$chargpt" "${args[@]}" --out_dir="$scratch/one" | grep -E '^iter [0-9]+: ' >"$scratch/one.txt"
"$mpiexec" "$@" "$chargpt" "${args[@]}" --out_dir="$scratch/two" | grep -E '^iter [0-9]+: ' |
  sed "s#$scratch/two#$scratch/one#" >"$scratch/two.txt"
cat "$scratch/two.txt"
[ -s "$scratch/one.txt" ] || { echo "no evaluation lines from the single process" >&2; exit 1; }
diff "$scratch/one.txt" "$scratch/two.txt"
echo "two processes train like one: ok"
