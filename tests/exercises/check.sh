#!/usr/bin/env bash
# The exercise checks (tests/exercises/CMakeLists.txt says what is built).
#
#   check.sh build EMBER_BUILD_DIR SCRATCH [cmake options...]
#       configures and builds every exercise program in SCRATCH, linked against that ember build
#   check.sh pass SCRATCH PROGRAM
#       PROGRAM's tests all pass
#   check.sh fail SCRATCH PROGRAM REGEX
#       PROGRAM's tests fail, and the output has a line matching REGEX (the worst element named)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case $1 in
  build)
    ember_build=$2 scratch=$3
    shift 3
    start=$SECONDS
    mkdir -p "$(dirname "$scratch")"  # a fresh build folder has no test_tmp/ yet
    cmake -S "$here" -B "$scratch" -Dember_DIR="$ember_build" "$@" >"$scratch.configure.log" 2>&1 ||
      { tail -n 30 "$scratch.configure.log"; exit 1; }
    cmake --build "$scratch" -j 2 >"$scratch.build.log" 2>&1 || { tail -n 40 "$scratch.build.log"; exit 1; }
    echo "exercises built in $((SECONDS - start)) s"
    ;;
  pass)
    out=$("$2/$3" 2>&1) || { echo "$out"; echo "check.sh: $3 failed; its tests should pass" >&2; exit 1; }
    echo "$out" | tail -n 3
    ;;
  fail)
    if out=$("$2/$3" 2>&1); then
      echo "$out"
      echo "check.sh: $3 passed; its tests should fail" >&2
      exit 1
    fi
    echo "$out" | grep -E -- "$4" || { echo "$out"; echo "check.sh: no line matches '$4'" >&2; exit 1; }
    ;;
  *)
    echo "check.sh: build, pass or fail, not '$1'" >&2
    exit 2
    ;;
esac
