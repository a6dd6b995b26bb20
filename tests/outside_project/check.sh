#!/usr/bin/env bash
# Builds tests/outside_project as a student's project would use ember, and runs it (the ctest tests
# InstalledPackageBuildsAnOutsideProject and AddSubdirectoryBuildsAnOutsideProject).
#
#   check.sh installed    EMBER_BUILD_DIR  SCRATCH [cmake options...]
#       cmake --install of that build folder into SCRATCH/prefix, then find_package(ember) from there
#       (the outside project only links: nothing of ember is compiled again)
#   check.sh subdirectory EMBER_SOURCE_DIR SCRATCH [cmake options...]
#       add_subdirectory of the source checkout (ember's sources are compiled again; with ccache and
#       the same compiler and flags, they come from the cache)
set -euo pipefail
mode=$1 from=$2 scratch=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch"
mkdir -p "$scratch"
start=$SECONDS
case $mode in
  installed)
    cmake --install "$from" --prefix "$scratch/prefix" >"$scratch/install.log"
    # the installed package must stand on its own: headers from the prefix, not the source tree
    test -f "$scratch/prefix/include/ember/core/ops.h"
    test -f "$scratch/prefix/lib/cmake/ember/emberConfig.cmake"
    cmake -S "$here" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" "$@" >"$scratch/configure.log"
    ;;
  subdirectory)
    cmake -S "$here" -B "$scratch/build" -DEMBER_DIR="$from" "$@" >"$scratch/configure.log"
    ;;
  *)
    echo "check.sh: the mode is 'installed' or 'subdirectory', not '$mode'" >&2
    exit 2
    ;;
esac
configured=$SECONDS
cmake --build "$scratch/build" -j 2 >"$scratch/build.log" 2>&1 || { tail -n 40 "$scratch/build.log"; exit 1; }
echo "configure $((configured - start)) s, build $((SECONDS - configured)) s ($mode)"
"$scratch/build/outside_project"
