#!/usr/bin/env bash
# ./test.sh [--quick] [ctest arguments...]
#
# The same set-up as ./run.sh, then the tests through ctest, in tiers (labels):
#   build/           Release: the engine, every lesson and benchmark (they must keep compiling), and
#                    the tests labelled fast (every op, layer, optimizer, loader; the Layering and
#                    set-up checks; gdb), lesson (the lesson programs end to end on tiny data) and
#                    distributed (two processes under mpirun)
#   build-sanitize/  AddressSanitizer + UndefinedBehaviorSanitizer: the tests labelled sanitize, on the
#                    code that handles memory and files (storage, autograd, safetensors, checkpoints,
#                    loaders, attention, conv)
#
#   ./test.sh                 everything (what CI runs)
#   ./test.sh --quick         the fast tier only, in build/: the edit-compile-test loop
#   ./test.sh -R Conv         everything whose name matches (ctest arguments go to both tiers)
#   ./test.sh --quick -L fast -R Conv
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

quick=0
if [ "${1:-}" = --quick ]; then
  quick=1
  shift
fi

if [ $quick = 0 ]; then
  # Open MPI: the distributed tests run the engine on two processes (mpirun, loopback only).
  ensure_build_packages "${EMBER_BUILD_PACKAGES[@]}" libopenmpi-dev openmpi-bin
else
  ensure_build_packages "${EMBER_BUILD_PACKAGES[@]}"
fi
if [ $quick = 0 ]; then
  # The lesson tests read Fashion-MNIST and fortunes when present; gdb runs the pretty-printer test.
  ensure_helpers fashion-mnist fortunes gdb
fi

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
# Two threads per test process, and as many test processes as cores: the tests stay quick on 2 cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

# Where nvcc is installed, build/ compiles the CUDA backend too (EMBER_CUDA=AUTO), so that a CUDA compile
# error fails here; without a visible GPU for sm_90 alone, which keeps nvcc's time down (a GPU machine
# builds for its own GPU: scripts/gpu_check.sh). The sanitizer tier stays on the CPU.
cuda_options=()
if ! nvidia-smi -L >/dev/null 2>&1; then
  cuda_options=(-DCMAKE_CUDA_ARCHITECTURES=90)
fi

start=$SECONDS
if [ $quick = 1 ]; then
  configure_and_build build ember_tests -DCMAKE_BUILD_TYPE=Release -DEMBER_BUILD_TESTS=ON -DEMBER_TEST_GLOB="test_*.cpp" \
    "${cuda_options[@]}"
  ctest --test-dir build --output-on-failure -j"$(build_jobs)" -L fast "$@"
  echo "test.sh --quick: $((SECONDS - start)) s"
  exit 0
fi

configure_and_build build all -DCMAKE_BUILD_TYPE=Release -DEMBER_BUILD_TESTS=ON -DEMBER_TEST_GLOB="test_*.cpp" \
  "${cuda_options[@]}"
configure_and_build build-sanitize ember_tests_sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_SANITIZE=ON -DEMBER_TEST_GLOB="test_*.cpp" \
  -DEMBER_BUILD_BENCH=OFF -DEMBER_CUDA=OFF
built=$SECONDS

# One ctest run per build folder; both run even when the first fails, and either failing fails this.
status=0
ctest --test-dir build --output-on-failure -j"$(build_jobs)" "$@" || status=1
ctest --test-dir build-sanitize --output-on-failure -j"$(build_jobs)" "$@" || status=1
echo "test.sh: built in $((built - start)) s, tested in $((SECONDS - built)) s"
exit $status
