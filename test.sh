#!/usr/bin/env bash
# ./test.sh [ctest arguments...]
#
# The same set-up as ./run.sh, then every test: the engine and its tests are built with
# AddressSanitizer and UndefinedBehaviorSanitizer in build-test/ and run through ctest.
#   ./test.sh                 # everything
#   ./test.sh -R Conv         # only tests whose name matches
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

# gdb: the course steps through lessons in it, and a test checks scripts/gdb/ember.py
ensure_packages "${EMBER_BUILD_PACKAGES[@]}" dataset-fashion-mnist fortunes gdb

# The lessons and benchmarks must keep compiling too: build them (Release) without running them.
configure_and_build build all -DCMAKE_BUILD_TYPE=Release -DEMBER_BUILD_TESTS=OFF

configure_and_build build-test all -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_SANITIZE=ON -DEMBER_BUILD_BENCH=OFF

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Two threads per test process, and as many test processes as cores: the tests stay quick on 2 cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
ctest --test-dir build-test --output-on-failure -j"$(build_jobs)" "$@"
