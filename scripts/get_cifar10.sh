#!/usr/bin/env bash
# scripts/get_cifar10.sh [DIR]
#
# Puts the CIFAR-10 binary files (see datasets/cifar10.h) into DIR (default data/cifar10/):
#
#   data_batch_1.bin ... data_batch_5.bin   (50,000 train)      test_batch.bin   (10,000 test)
#
# from the first source that works:
#   1. the six files are already in DIR                          -> nothing to do
#   2. DIR/cifar-10-binary.tar.gz, downloaded by hand and put there -> checked and unpacked
#   3. the official cifar-10-binary.tar.gz, when this machine has internet -> downloaded, checked,
#      unpacked, and the archive deleted
# The archive must have the md5 published on the CIFAR-10 page (c32a1d4ab5d03f1284b67883e8d87530);
# another one is refused. DIR/SOURCE.txt says where the files came from. Idempotent: a second run
# finds the files and does nothing.
#
# CIFAR10_URL=... replaces the official address (a mirror inside a university network, say); the
# md5 check stays.
#
# Exit codes: 0 the files are in DIR; 3 they could not be had (no internet): the message says where
# to put them, and the caller falls back (the CIFAR lesson uses Fashion-MNIST, padded to 32x32 and
# repeated to 3 channels: datasets/cifar_fallback.h); 1 an archive was there but is damaged; 2 wrong
# usage.
set -uo pipefail
[ $# -le 1 ] || { echo "usage: scripts/get_cifar10.sh [DIR]" >&2; exit 2; }
dir=data/cifar10
[ $# -eq 1 ] && dir=$(realpath -m "$1")  # a folder given by the caller, relative to where they are
cd "$(dirname "$0")/.." || exit 2         # the repository root
url=${CIFAR10_URL:-https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz}
archive_md5=c32a1d4ab5d03f1284b67883e8d87530
archive=cifar-10-binary.tar.gz
files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)
file_bytes=30730000  # 10,000 records of 1 label byte + 3,072 pixel bytes

have_all() {
  local f size
  for f in "${files[@]}"; do
    size=$(stat -c %s "$dir/$f" 2>/dev/null) || return 1
    [ "$size" -gt 0 ] && [ $((size % 3073)) -eq 0 ] || return 1  # whole records (1 + 3,072 bytes)
  done
}

# Checks the archive's md5, unpacks it into DIR/.unpack, and moves the six files (and the class
# names, batches.meta.txt) into DIR. $1: the archive, $2: what to write into SOURCE.txt.
unpack() {
  local tar_file=$1 source=$2 tmp="$dir/.unpack" f sum
  sum=$(md5sum "$tar_file" | cut -d' ' -f1)
  if [ "$sum" != "$archive_md5" ]; then
    echo "CIFAR-10: $tar_file has md5 $sum, expected $archive_md5: the download is damaged or incomplete," \
      "or it is not the binary version (delete it and run this again)" >&2
    return 1
  fi
  rm -rf "$tmp" && mkdir -p "$tmp"
  tar xzf "$tar_file" -C "$tmp" || { echo "CIFAR-10: cannot unpack $tar_file" >&2; rm -rf "$tmp"; return 1; }
  for f in "${files[@]}"; do
    [ "$(stat -c %s "$tmp/cifar-10-batches-bin/$f" 2>/dev/null)" = "$file_bytes" ] || {
      echo "CIFAR-10: $tar_file has no $f of $file_bytes bytes (cifar-10-batches-bin/$f)" >&2
      rm -rf "$tmp"
      return 1
    }
  done
  for f in "${files[@]}" batches.meta.txt; do
    [ -e "$tmp/cifar-10-batches-bin/$f" ] && mv -f "$tmp/cifar-10-batches-bin/$f" "$dir/$f"
  done
  rm -rf "$tmp"
  printf '%s\n' "$source (md5 $archive_md5), unpacked on $(date -u +%Y-%m-%d): 50,000 train / 10,000 test" \
    >"$dir/SOURCE.txt"
}

# ---- 1. already there ----------------------------------------------------------------------------
if have_all; then
  echo "CIFAR-10: found in $dir/ ($(head -n 1 "$dir/SOURCE.txt" 2>/dev/null || echo "source not recorded"))"
  exit 0
fi
mkdir -p "$dir" || exit 2

# ---- 2. an archive put there by hand -------------------------------------------------------------
if [ -s "$dir/$archive" ]; then
  unpack "$dir/$archive" "$archive, put into $dir/ by hand" || exit 1
  echo "CIFAR-10: unpacked $dir/$archive into $dir/"
  exit 0
fi

# ---- 3. the official archive ---------------------------------------------------------------------
# A short connect timeout, so that a machine without internet moves on at once (here: "could not
# resolve host" in milliseconds); the download itself is 170 MB.
download() {
  local tmp="$dir/.download"
  command -v curl >/dev/null || { echo "CIFAR-10: curl is not installed" >&2; return 1; }
  rm -rf "$tmp" && mkdir -p "$tmp"
  if ! curl -fsSL --connect-timeout 5 --max-time 1800 -o "$tmp/$archive" "$url" 2>/dev/null; then
    rm -rf "$tmp"
    return 1
  fi
  unpack "$tmp/$archive" "$url, downloaded"
  local status=$?
  rm -rf "$tmp"
  return $status
}

if download; then
  echo "CIFAR-10: downloaded $url and unpacked it into $dir/"
  exit 0
fi

# ---- 4. nothing worked ---------------------------------------------------------------------------
cat >&2 <<EOF
CIFAR-10: the files could not be downloaded from $url (no internet?).
To use the real photos, get "CIFAR-10 binary version" (cifar-10-binary.tar.gz, 170 MB,
md5 $archive_md5) from https://www.cs.toronto.edu/~kriz/cifar.html on a machine with internet, then
either put the archive itself into $dir/ and run scripts/get_cifar10.sh again, or unpack it so
that $dir/ holds these six files:
  ${files[*]}
  (mkdir -p $dir && tar xzf cifar-10-binary.tar.gz --strip-components=1 -C $dir)
Until then the lessons fall back to Fashion-MNIST (Debian package dataset-fashion-mnist), padded to
32x32 and repeated to 3 channels: photos of clothes instead of CIFAR-10's ten classes.
EOF
exit 3
