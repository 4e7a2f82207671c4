#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#  1. builds leaktrace into ./build (scripts/setup.sh) and runs every test
#     through ctest, the dump reader fuzzer included (label "fuzz", 60 s of
#     libFuzzer with ASan+UBSan, built with clang);
#  2. builds the tools and their tests again with ASan+UBSan
#     (-DLEAKTRACE_SANITIZE=ON) into ./build-asan and runs the same suite
#     there, all but the fuzzer. The preload library itself is never
#     sanitized, so the programs the integration tests run under it are not
#     either; the sanitized `leaktrace` command checks their dumps.
# Extra arguments go to both ctest runs (e.g. -L integration).
# LEAKTRACE_BUILD_DIR / LEAKTRACE_ASAN_BUILD_DIR choose the build directories;
# LEAKTRACE_SKIP_ASAN=1 skips step 2. Exit status: non-zero if either failed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${LEAKTRACE_BUILD_DIR:-$top/build}
asan_dir=${LEAKTRACE_ASAN_BUILD_DIR:-$top/build-asan}
jobs=$(nproc)

stamp() { date +%s; }
t0=$(stamp)
LEAKTRACE_BUILD_DIR=$build_dir "$top/scripts/setup.sh"
t1=$(stamp)
status=0
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@" || status=$?
t2=$(stamp)
echo "test.sh: build $((t1 - t0)) s, tests $((t2 - t1)) s ($build_dir)" >&2

if [ "${LEAKTRACE_SKIP_ASAN:-0}" != 1 ]; then
  LEAKTRACE_BUILD_DIR=$asan_dir \
    LEAKTRACE_CMAKE_ARGS="-DLEAKTRACE_SANITIZE=ON -DLEAKTRACE_BUILD_BENCH=OFF ${LEAKTRACE_CMAKE_ARGS:-}" \
    "$top/scripts/setup.sh"
  t3=$(stamp)
  # Leak checking on for the tools; ASan/UBSan settings mean nothing to the
  # unsanitized programs the tests start.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    ctest --test-dir "$asan_dir" --output-on-failure -j "$jobs" -LE fuzz "$@" || status=$?
  t4=$(stamp)
  echo "test.sh: ASan+UBSan build $((t3 - t2)) s, tests $((t4 - t3)) s ($asan_dir)" >&2
fi
exit "$status"
