#!/bin/sh
# What the trend says of a sampled soak: RUNS runs of flat_cache_service
# (a steady ~1 MiB/s leak at leak_record, a full ring cache flat at ~9.8 MiB
# at cache_store) for SECONDS each, in parallel, at the default sampling,
# one snapshot a second; then `leaktrace trend` and `leaktrace check
# --trend` of each run. A right trend calls leak_record `leak` in every run
# and cache_store a leak in none; the stated errors should match the spread
# of the slopes across runs.
#
# usage: bench/trend_soak.sh [BUILD_DIR [RUNS [SECONDS]]]   e.g. bench/trend_soak.sh build 8 60
# LEAKTRACE_CLI="PATH..." judges the same dumps with each of these builds'
# leaktrace in turn (e.g. an older one beside this one).
set -eu
build=${1:-build}
runs=${2:-8}
seconds=${3:-60}
lib=$build/preload/libleaktrace.so
clis=${LEAKTRACE_CLI:-$build/cli/leaktrace}
service=$build/bench/flat_cache_service
for f in "$lib" $clis "$service"; do [ -e "$f" ] || { echo "$0: $f not built" >&2; exit 2; }; done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
i=1
while [ "$i" -le "$runs" ]; do
  mkdir "$dir/run$i"
  env LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir/run$i" LEAKTRACE_INTERVAL=1 "$service" "$seconds" >/dev/null &
  i=$((i + 1))
done
wait
for cli in $clis; do
echo "== $cli"
i=1
while [ "$i" -le "$runs" ]; do
  "$cli" trend --format json "$dir/run$i"/*.dump >"$dir/run$i.json"
  if "$cli" check --trend "$dir/run$i"/*.dump >"$dir/run$i.check" 2>&1; then :; fi
  i=$((i + 1))
done
python3 - "$dir" "$runs" <<'PY'
import json, statistics, sys
top, runs = sys.argv[1], int(sys.argv[2])
found = {"leak_record": [], "cache_store": []}
named = 0
for i in range(1, runs + 1):
    doc = json.load(open(f"{top}/run{i}.json"))
    # Each function's biggest site (leak_record's realloc of its pointer
    # array is a small site of its own).
    biggest = {}
    for site in doc["sites"]:
        frames = site.get("frames") or [{}]
        name = frames[0].get("function")
        if site["resource"] == "heap" and name in found:
            if name not in biggest or abs(site["slope"]) > abs(biggest[name]["slope"]):
                biggest[name] = site
    for name, site in biggest.items():
        found[name].append(site)
    named += "cache_store" in open(f"{top}/run{i}.check").read()
for name, sites in found.items():
    leaks = sum(s["verdict"] == "leak" for s in sites)
    slopes = [s["recent_slope"] / 1024 for s in sites]
    stated = [s["recent_slope_stderr"] / 1024 for s in sites]
    spread = statistics.stdev(slopes) if len(slopes) > 1 else 0
    print(f"{name}: {len(sites)} runs, judged leak in {leaks}; recent slope spread across runs {spread:.0f} KiB/s, "
          f"stated error median {statistics.median(stated):.0f} KiB/s")
print(f"check --trend names cache_store in {named} of {runs} runs")
PY
done
