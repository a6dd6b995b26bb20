#!/usr/bin/env bash
# scripts/gpu_check.sh [REPORT]: the CUDA backend on a machine with an NVIDIA GPU, in one go.
#
#   1. builds ember with the CUDA backend for this GPU (CMAKE_CUDA_ARCHITECTURES=native, all cores)
#      in build-gpu/: the gpu tests (tests/test_cuda_*.cpp), the seam's CPU tests, bench_cuda_gemm
#   2. runs the gpu tests (ctest -L gpu) and the seam's tests (DeviceErrors.*)
#   3. runs bench/bench_cuda_gemm.cu at 4096^3 (the teaching GEMMs as % of cuBLAS)
#   4. trains the char GPT lesson for 100 iterations with --device=cuda on README.md (device,
#      tokens/s and GPU memory go into the report)
#   5. writes a short report (REPORT, default build-gpu/gpu_check_report.txt) and prints it
#
# Sized for under 8 minutes on a current GPU machine (most of it is the build). Exits 1 when the
# build fails, a test fails, or no GPU can be used (the tests would only skip).
set -uo pipefail
cd "$(dirname "$0")/.."
report=${1:-build-gpu/gpu_check_report.txt}
start=$SECONDS
jobs=$(nproc 2>/dev/null || echo 4)
mkdir -p build-gpu "$(dirname "$report")"
log=build-gpu/gpu_check.log
: >"$log"

gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
if [ -z "$gpu" ]; then
  echo "gpu_check: nvidia-smi lists no GPU: the CUDA backend can only be built here, not run" | tee "$report" >&2
  exit 1
fi

echo "== building in build-gpu/ for this GPU ($jobs jobs)"
status=0
if ! cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DEMBER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native \
      -DEMBER_BUILD_TESTS=ON -DEMBER_BUILD_BENCH=ON -DEMBER_TEST_GLOB="test_[cd][ue][dv]*.cpp" >>"$log" 2>&1 ||
   ! cmake --build build-gpu -j"$jobs" --target ember_cuda_tests ember_tests bench_cuda_gemm chargpt >>"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "gpu_check: the build failed (whole log: $log)" | tee "$report" >&2
  exit 1
fi
built=$((SECONDS - start))

echo "== gpu tests"
tests_out=build-gpu/gpu_tests.txt
ctest --test-dir build-gpu -L gpu --output-on-failure --timeout 300 -j4 >"$tests_out" 2>&1 || status=1
ctest --test-dir build-gpu -R '^DeviceErrors\.' --output-on-failure --timeout 60 >>"$tests_out" 2>&1 || status=1
summary=$(grep -E "tests passed|No tests were found" "$tests_out" | head -n 1)
skipped=$(grep -c "Skipped" "$tests_out" || true)
failed=$(grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted)\)" "$tests_out" || true)
if [ "${skipped:-0}" -gt 0 ]; then
  status=1  # on a GPU machine nothing may skip: the GPU was not usable
fi

echo "== GEMM benchmark (4096^3)"
bench_out=build-gpu/bench_cuda_gemm.txt
timeout 180 build-gpu/bin/bench_cuda_gemm --size=4096 --repeats=5 >"$bench_out" 2>&1 || status=1

echo "== chargpt --device=cuda, 100 iterations"
lesson_out=build-gpu/chargpt_cuda.txt
timeout 240 build-gpu/bin/chargpt --data=README.md --device=cuda --max_iters=100 --eval_interval=100 --eval_iters=4 \
  --out_dir=build-gpu/chargpt_cuda >"$lesson_out" 2>&1 || status=1

{
  echo "ember gpu_check, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "GPU: $gpu"
  echo "build: ${built} s; tests and benchmark: $((SECONDS - start - built)) s"
  echo "gpu tests (label gpu) and DeviceErrors: ${summary:-no ctest summary} (results of both runs: $tests_out)"
  [ "${skipped:-0}" -gt 0 ] && echo "skipped: $skipped (a GPU machine should skip none: was the GPU usable?)"
  [ -n "$failed" ] && echo "failed:" && echo "$failed"
  echo "GEMM, float32, TF32 off:"
  sed -n '/^cublas\|^naive\|^tiled\|^register_blocked\|skipped\|bench_cuda_gemm:/p' "$bench_out"
  echo "chargpt --device=cuda (whole output: $lesson_out):"
  grep -E "^device:|tokens/s|GPU memory|rror" "$lesson_out" | tail -n 5
  [ $status = 0 ] && echo "result: OK" || echo "result: FAILED"
} >"$report"
cat "$report"
exit $status
