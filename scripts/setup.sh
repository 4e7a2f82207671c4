#!/usr/bin/env bash
# Installs the Debian packages in deps/debian-packages.txt (only those missing)
# and configures + builds leaktrace in ./build. Idempotent: a second run only
# rebuilds what changed. Needs root or sudo for the package step.
# LEAKTRACE_BUILD_TARGETS="a b" builds only those targets.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${LEAKTRACE_BUILD_DIR:-$top/build}
build_type=${LEAKTRACE_BUILD_TYPE:-RelWithDebInfo}

mapfile -t wanted < <(grep -Ev '^\s*(#|$)' "$top/deps/debian-packages.txt")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The static libunwind the preload library links in (scripts/build-unwinder.sh),
# built once for every build directory of this checkout.
unwinder_dir=${LEAKTRACE_UNWINDER_DIR:-$top/build-deps/unwinder}
"$top/scripts/build-unwinder.sh" "$unwinder_dir"

generator=()
[ -f "$build_dir/CMakeCache.txt" ] || generator=(-G Ninja)
cmake -S "$top" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" \
  -DLEAKTRACE_UNWINDER_DIR="$unwinder_dir" ${LEAKTRACE_CMAKE_ARGS:-} >/dev/null
# LEAKTRACE_BUILD_TARGETS: build only these (space-separated), e.g. for the demo.
targets=()
for t in ${LEAKTRACE_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
