#!/usr/bin/env bash
# The whole test suite: builds leaktrace (scripts/setup.sh), then runs every
# test through ctest. Extra arguments go to ctest (e.g. -L integration).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${LEAKTRACE_BUILD_DIR:-$top/build}
"$top/scripts/setup.sh"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
