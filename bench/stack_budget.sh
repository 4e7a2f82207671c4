#!/bin/sh
# What a program allocating from ever-new call stacks costs under the
# library, with the stack budget (LEAKTRACE_MAX_STACKS, default 65536) and
# with the largest one (16m, i.e. no budget in effect): the process's peak
# RSS, its exit dump's size and stacks, and what `leaktrace report` of that
# dump takes. The program is the integration tests' distinct_stacks (random
# paths through a call tree 12 levels deep, four ways at each: some
# CALLS distinct stacks), in exact mode.
#
# usage: bench/stack_budget.sh [BUILD_DIR [CALLS [MODE]]]   MODE: exact (default) or default
# e.g.   bench/stack_budget.sh build 1000000
set -eu
build=${1:-build}
calls=${2:-1000000}
mode=${3:-exact}
lib=$build/preload/libleaktrace.so
cli=$build/cli/leaktrace
program=$build/tests/integration/programs/distinct_stacks
for f in "$lib" "$cli" "$program"; do [ -e "$f" ] || { echo "$0: $f not built" >&2; exit 2; }; done
case $mode in exact) sample=1 ;; default) sample=512k ;; *) echo "$0: MODE must be exact or default" >&2; exit 2 ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
plain=$(/usr/bin/time -f %M "$program" "$calls" 1000 2>&1 >/dev/null)
echo "plain: peak RSS ${plain} kB"
for budget in 65536 16m; do
  rm -f "$dir"/*.dump
  rss=$(env LD_PRELOAD="$lib" LEAKTRACE_PROGRAMS=distinct_stacks LEAKTRACE_SAMPLE=$sample LEAKTRACE_MAX_STACKS=$budget LEAKTRACE_DIR="$dir" \
    /usr/bin/time -f %M "$program" "$calls" 1000 2>&1 >/dev/null)
  dump=$(ls "$dir"/*.dump)
  report=$( { /usr/bin/time -f "%M kB, %e s" "$cli" report --format json "$dump" >"$dir/report.json"; } 2>&1)
  health=$(python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))["dumps"][0]["health"]
print("stacks %d, folded_stacks %d, tracker_mapped_bytes %d" % (h["stacks"], h.get("folded_stacks", 0), h["tracker_mapped_bytes"]))
' "$dir/report.json")
  echo "LEAKTRACE_MAX_STACKS=$budget: peak RSS $rss kB, dump $(stat -c %s "$dump") bytes ($health); report: $report"
done
