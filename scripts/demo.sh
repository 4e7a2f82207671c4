#!/usr/bin/env bash
# The demo: builds what it needs (scripts/setup.sh, quietly), runs examples/leaky_service
# under the library in its default sampled mode, takes two snapshots a few
# seconds apart with `leaktrace snapshot`, and shows `leaktrace diff`: the
# leaking function, parse_header, comes first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${LEAKTRACE_BUILD_DIR:-$top/build}
# Only what the demo runs, quietly: the compiler's output is shown when the
# build fails, or in CI logs ($CI set), not on a newcomer's screen.
build_log=$(mktemp "${TMPDIR:-/tmp}/leaktrace-demo-build.XXXXXX")
echo "== building leaktrace, libleaktrace.so and examples/leaky_service (log: $build_log)"
if ! LEAKTRACE_BUILD_TARGETS="leaktrace leaktrace_preload leaky_service" "$top/scripts/setup.sh" >"$build_log" 2>&1; then
  cat "$build_log" >&2
  echo "demo: the build failed (its output is above)" >&2
  exit 1
fi
if [ -n "${CI:-}" ]; then cat "$build_log" >&2; fi
rm -f "$build_log"

leaktrace="$build_dir/cli/leaktrace"
service="$build_dir/examples/leaky_service"
work=$(mktemp -d "${TMPDIR:-/tmp}/leaktrace-demo.XXXXXX")
service_pid=""
cleanup() {
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting leaky_service under leaktrace (dumps in $work)"
"$leaktrace" run -o "$work" -- "$service" --rate 20000 >"$work/service.log" 2>&1 &
runner_pid=$!
# `leaktrace run` starts the service as its child; wait until it is up.
for _ in $(seq 100); do
  service_pid=$(pgrep -P "$runner_pid" -x leaky_service || true)
  [ -n "$service_pid" ] && break
  sleep 0.05
done
[ -n "$service_pid" ] || { echo "demo: leaky_service did not start" >&2; cat "$work/service.log" >&2; exit 1; }

sleep 1
echo "== snapshot 1"
before=$("$leaktrace" snapshot "$service_pid")
echo "$before"
sleep 4
echo "== snapshot 2"
after=$("$leaktrace" snapshot "$service_pid")
echo "$after"
kill -TERM "$service_pid"
wait "$runner_pid" || true
service_pid=""

echo "== leaktrace diff (what grew in between)"
"$leaktrace" diff --top 5 "$before" "$after"
