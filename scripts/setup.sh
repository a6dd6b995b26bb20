# Shared set-up for ./run.sh and ./test.sh (sourced, not run).
#
#   ensure_packages PKG...   installs the Debian packages that are missing (as root), or prints the
#                            exact apt-get line and exits when not root
#   configure_and_build DIR TARGET [cmake options...]
#                            configures DIR once, then rebuilds only what changed
#
# Both are idempotent: a second run installs nothing and rebuilds nothing that is up to date.

# What the engine needs to build and test. The data packages are added by the lesson that needs them.
EMBER_BUILD_PACKAGES=(g++ cmake make pkg-config libopenblas-openmp-dev libstb-dev libgtest-dev libbenchmark-dev zlib1g-dev nlohmann-json3-dev)

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

ensure_packages() {
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  [ -z "${missing// /}" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: $missing" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get install -y $missing" >&2
    exit 1
  fi
  echo "== installing: $missing"
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when they are missing or the install fails with stale ones.
  if ! apt-get install -y -q $missing >/tmp/ember-apt.log 2>&1; then
    apt-get update -q >/tmp/ember-apt-update.log 2>&1 || true
    apt-get install -y -q $missing >/tmp/ember-apt.log 2>&1 || {
      tail -20 /tmp/ember-apt.log >&2
      echo "apt-get install failed for: $missing (log: /tmp/ember-apt.log)" >&2
      exit 1
    }
  fi
}

# The number of parallel compile jobs: all cores.
build_jobs() { nproc 2>/dev/null || echo 2; }

configure_and_build() {
  local dir=$1 target=$2
  shift 2
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    echo "== configuring $dir"
    mkdir -p "$dir"
    cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log" >&2; exit 1; }
  fi
  echo "== building $target in $dir"
  # grep hides the progress lines; the build's own status (PIPESTATUS[0], not grep's) decides success.
  # (The subshell keeps that true whatever errexit/pipefail the caller has set.)
  if ! (
    set +e +o pipefail
    cmake --build "$dir" -j"$(build_jobs)" --target "$target" 2>&1 | grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)'
    exit "${PIPESTATUS[0]}"
  ); then
    echo "build failed in $dir (target $target): see the errors above" >&2
    exit 1
  fi
}
