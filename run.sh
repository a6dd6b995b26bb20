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
if [ ! -f "lessons/$lesson/main.cpp" ]; then
  echo "run.sh: no lesson '$lesson'. Lessons: $(ls -d lessons/*/ | xargs -n1 basename | grep -v common | tr '\n' ' ')" >&2
  exit 2
fi

# The build's packages first, on their own: an optional data helper that cannot be installed must
# not take them down with it. Then the lesson's data helpers, each on its own, with its fallback.
ensure_build_packages "${EMBER_BUILD_PACKAGES[@]}"
case $lesson in
  mnist) ensure_helpers curl node fashion-mnist ;;
  chargpt) ensure_helpers fortunes ;;
esac

configure_and_build build "$lesson" -DCMAKE_BUILD_TYPE=Release -DEMBER_BUILD_TESTS=OFF

if [ "$lesson" = mnist ]; then
  # Real digits into data/mnist/ (see scripts/get_mnist.sh); exit code 3 means none could be had,
  # and the lesson falls back to Fashion-MNIST, saying so.
  bash scripts/get_mnist.sh || [ $? -eq 3 ]
fi

exec "build/bin/$lesson" "$@"
