#!/usr/bin/env bash
# The MNIST lesson under mpirun, then resumed in a single process from the checkpoint the two
# processes wrote (ctest Distributed.MnistCheckpointResumesInOneProcess).
#   bash tests/distributed/mnist_resume.sh MNIST_BINARY SCRATCH_DIR MPIEXEC [MPIEXEC_FLAGS...]
set -euo pipefail
mnist=$1 scratch=$2 mpiexec=$3
shift 3
rm -rf "$scratch"
mkdir -p "$scratch/data"

# Tiny IDX files (datasets/idx.h): a big-endian magic and sizes, then the bytes. Image i is a grey
# level that depends on its label, so the run has something to learn.
be32() { printf '%08x' "$1" | sed 's/../\\x&/g'; }
write_split() {  # prefix count
  local prefix=$1 count=$2 i
  {
    printf "$(be32 2051)$(be32 "$count")$(be32 28)$(be32 28)"
    for ((i = 0; i < count; i++)); do head -c 784 /dev/zero | tr '\0' "\\$(printf '%03o' $((20 + 20 * (i % 10))))"; done
  } >"$scratch/data/$prefix-images-idx3-ubyte"
  {
    printf "$(be32 2049)$(be32 "$count")"
    for ((i = 0; i < count; i++)); do printf "\\x0$((i % 10))"; done
  } >"$scratch/data/$prefix-labels-idx1-ubyte"
}
write_split train 200
write_split t10k 40

common=(--data_dir="$scratch/data" --model=mlp --epochs=2 --batch_size=20 --threads=1 --out_dir="$scratch/run")
echo "== epoch 1 on two processes"
"$mpiexec" "$@" "$mnist" "${common[@]}" --stop_after_epoch=1
echo "== epoch 2 in one process, from their checkpoint"
"$mnist" "${common[@]}" --resume | tee "$scratch/resumed.txt"
grep -q "resuming from .* after epoch 1" "$scratch/resumed.txt"
grep -q "^score=" "$scratch/resumed.txt"
echo "resumed in one process from the checkpoint of two: ok"
