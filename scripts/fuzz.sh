#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang and runs them, one at a time.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]      e.g.  scripts/fuzz.sh idx 120
#
# TARGET is idx, cifar10, safetensors, config, text, image, yolo_labels or coco_json (or fuzz_idx,
# ...); all runs each in turn for SECONDS (default 60). The seeds in fuzz/corpus/<target>/ are copied to a scratch folder
# first, so the repository never changes; what the fuzzer finds (crash-*, leak-*, timeout-*, oom-*)
# is kept in that folder and listed at the end. Exit status 1 when anything was found.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
seconds=${2:-60}
all=(idx cifar10 safetensors config text image yolo_labels coco_json)
if [[ $what == all ]]; then targets=("${all[@]}"); else targets=("${what#fuzz_}"); fi
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (one of: ${all[*]}, all)" >&2; exit 2; }
done

build=$root/build-fuzz
mkdir -p "$build"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_FUZZ=ON \
  -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_BENCH=OFF -DEMBER_CUDA=OFF > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}"

scratch=$(mktemp -d /tmp/ember-fuzz.XXXXXX)
found=0
printf '\n%-12s %12s %8s %s\n' target executions seconds findings
summary=""
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t/corpus" "$scratch/$t/findings"
  cp -r "$root/fuzz/corpus/$t/." "$scratch/$t/corpus/"
  start=$(date +%s)
  # One process, one job (the machine is shared). The limits make a huge allocation or a slow
  # input a finding too. ASan's leak check stays on.
  "$build/bin/fuzz_$t" "$scratch/$t/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 -artifact_prefix="$scratch/$t/findings/" \
    > "$scratch/$t/log" 2>&1 || true
  elapsed=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$t/log" | grep -o '[0-9]*$' || echo "?")
  n=$(find "$scratch/$t/findings" -type f | wc -l)
  found=$((found + n))
  summary+=$(printf '%-12s %12s %8s %s' "$t" "$execs" "$elapsed" "$n")$'\n'
  printf '%-12s %12s %8s %s\n' "$t" "$execs" "$elapsed" "$n"
  if [[ $n -gt 0 ]]; then
    find "$scratch/$t/findings" -type f | sed 's/^/    /'
    grep -m1 -E 'ERROR|SUMMARY|terminate|Abort|deadly signal' "$scratch/$t/log" | sed 's/^/    /' || true
  fi
done
echo "logs, corpora and findings: $scratch"
[[ $found -eq 0 ]]
