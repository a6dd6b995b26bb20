#!/usr/bin/env bash
# ./run.sh [LESSON] [--key=value ...]
#
# Installs what is missing (Debian packages, the MNIST digits), builds the engine in build/
# (Release), and runs a lesson. With no arguments: the MNIST lesson on real handwritten digits.
#   ./run.sh                              # = ./run.sh mnist
#   ./run.sh mnist --model=mlp --epochs=3
#   ./run.sh chargpt --config=lessons/chargpt/configs/cpu.conf
#   ./run.sh mnist --help                 # every key with its default
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

lesson=mnist
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  lesson=$1
  shift
fi
case $lesson in
  yolo) lesson=yolo_lite ;;  # the README's short name
esac
if [ ! -f "lessons/$lesson/main.cpp" ]; then
  echo "run.sh: no lesson '$lesson'. Lessons: $(ls -d lessons/*/ | xargs -n1 basename | grep -v common | tr '\n' ' ')" >&2
  exit 2
fi

# The build's packages first, on their own: an optional data helper that cannot be installed must
# not take them down with it. Then the lesson's data helpers, each on its own, with its fallback.
ensure_build_packages "${EMBER_BUILD_PACKAGES[@]}"
case $lesson in
  mnist | sliding_window | yolo_lite | transfer) ensure_helpers curl node fashion-mnist ;;
  cifar) ensure_helpers curl fashion-mnist ;;
  chargpt) ensure_helpers fortunes ;;
esac

# The same build folder and settings as ./test.sh, so neither undoes the other's configuration.
configure_and_build build "$lesson" -DCMAKE_BUILD_TYPE=Release

case $lesson in
  mnist | sliding_window | yolo_lite | transfer)
    # Real digits into data/mnist/ (see scripts/get_mnist.sh); exit code 3 means none could be
    # had, and the lesson falls back to Fashion-MNIST, saying so.
    bash scripts/get_mnist.sh || [ $? -eq 3 ] ;;
  cifar)
    # CIFAR-10 into data/cifar10/ where it can be downloaded; exit code 3: the lesson falls back
    # to Fashion-MNIST at 32x32 in colour, saying so (and where to put the real files).
    if [ -f scripts/get_cifar10.sh ]; then bash scripts/get_cifar10.sh || [ $? -eq 3 ]; fi ;;
esac

# Where OpenBLAS fell back to its generic kernels on a CPU it does not know, ask for the right ones
# (scripts/setup.sh, openblas_coretype): about twice the speed for every convolution of a lesson.
coretype=$(openblas_coretype "build/bin/$lesson")
if [ -n "$coretype" ]; then
  echo "note: OpenBLAS does not recognise this CPU and chose its generic SSE3 (Prescott) kernels;" \
       "running with OPENBLAS_CORETYPE=$coretype, about 2x faster (set OPENBLAS_CORETYPE yourself to choose)"
  export OPENBLAS_CORETYPE=$coretype
fi

exec "build/bin/$lesson" "$@"
