#!/usr/bin/env bash
# A CI soak gate to copy: start a service under leaktrace, drive load in
# rounds of fixed length, take a snapshot after each, and gate on the trend
# of the whole series with `leaktrace check --trend`. A bounded cache and a
# warm-up pass; only steady growth (a leak) fails.
#
# usage: examples/soak-gate.sh [--leak] [--rounds N] [--requests N]
#                              [--round-seconds S] [--sample N] [--keep DIR]
#
#   --leak             start examples/soak_service with its leak switched on
#   --rounds N         load rounds, one snapshot after each (default 5; the
#                      series has N+1 snapshots: one more before the load)
#   --requests N       requests per round (default 1000), over keys 0..999:
#                      with fewer, the service's warm-up (one route per key)
#                      lasts several rounds and is, rightly, judged a leak
#   --round-seconds S  wall time per round, whole seconds (default 1): equal
#                      rounds keep the snapshots evenly spaced in time
#   --sample N         leaktrace's --sample (default 1: exact, so a small
#                      load gives a certain verdict)
#   --keep DIR         keep the dumps and the service's log in DIR
#
# Exit status: the gate's. 0 passed, 1 a call site grows steadily, 2 the
# soak itself could not run (the service did not start, a snapshot failed).
#
# Finds the tools in $LEAKTRACE_BUILD_DIR (default ./build, as
# scripts/setup.sh builds them); $LEAKTRACE and $SOAK_SERVICE override the
# two programs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${LEAKTRACE_BUILD_DIR:-$top/build}
leaktrace=${LEAKTRACE:-$build_dir/cli/leaktrace}
service=${SOAK_SERVICE:-$build_dir/examples/soak_service}

leak=() rounds=5 requests=1000 round_seconds=1 sample=1 keep=""
fail() { echo "soak-gate: $*" >&2; exit 2; }
number() { [[ $2 =~ ^[0-9]+$ ]] || fail "$1: '$2' is not a whole number"; }
while (($#)); do
  case $1 in
    --leak) leak=(--leak) ;;
    --rounds) number "$1" "${2-}"; rounds=$2; shift ;;
    --requests) number "$1" "${2-}"; requests=$2; shift ;;
    --round-seconds) number "$1" "${2-}"; round_seconds=$2; shift ;;
    --sample) [ -n "${2-}" ] || fail "--sample needs a value"; sample=$2; shift ;;
    --keep) [ -n "${2-}" ] || fail "--keep needs a directory"; keep=$2; shift ;;
    *) fail "unknown argument '$1' (see the usage at the top of $0)" ;;
  esac
  shift
done
((rounds >= 2)) || fail "--rounds: a trend needs 3 or more snapshots, so at least 2 rounds"
for tool in "$leaktrace" "$service"; do
  [ -x "$tool" ] || fail "$tool: not found; build first (scripts/setup.sh)"
done

if [ -n "$keep" ]; then
  mkdir -p "$keep" && work=$(cd "$keep" && pwd)
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/soak-gate.XXXXXX")
fi
runner_pid="" service_pid=""
cleanup() {
  exec 3>&- 2>/dev/null || true
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; fi
  if [ -n "$runner_pid" ]; then wait "$runner_pid" 2>/dev/null || true; fi
  [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT

# 1. The service, under leaktrace. Exit snapshots are not wanted: the
#    service frees everything on the way out, which says nothing of growth.
LEAKTRACE_ON_EXIT=0 "$leaktrace" run -o "$work" --sample "$sample" -- "$service" --port 0 "${leak[@]}" \
  >"$work/service.log" 2>&1 &
runner_pid=$!
port=""
for _ in $(seq 200); do
  if read -r _ _ pid _ _ address _ < <(grep -m1 'listening on' "$work/service.log" 2>/dev/null); then
    service_pid=${pid%,} port=${address##*:}
    break
  fi
  kill -0 "$runner_pid" 2>/dev/null || break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/service.log" >&2; fail "the service did not start"; }
echo "soak-gate: $(head -n1 "$work/service.log")"

# 2. One client connection for the whole soak, opened before the first
#    snapshot so the socket is in every one.
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to 127.0.0.1:$port"

dumps=()
snapshot() {
  local dump
  dump=$("$leaktrace" snapshot --timeout 10 "$service_pid") || fail "snapshot of pid $service_pid failed"
  dumps+=("$dump")
}

# Sends `requests` GETs over keys 0..999 in batches, reading every answer.
key=0
drive_load() {
  local left=$requests batch i line reply
  while ((left > 0)); do
    batch=$((left < 100 ? left : 100))
    line=""
    for ((i = 0; i < batch; ++i)); do
      line+="GET $key"$'\n'
      key=$(((key + 1) % 1000))
    done
    printf '%s' "$line" >&3
    for ((i = 0; i < batch; ++i)); do
      read -r -t 10 reply <&3 || fail "no answer from the service"
      [[ $reply == OK* ]] || fail "unexpected answer '$reply'"
    done
    left=$((left - batch))
  done
}

# 3. The series: a snapshot before the load, then one after each round.
snapshot
start_us=${EPOCHREALTIME/./}
for ((round = 1; round <= rounds; ++round)); do
  drive_load
  # Wait out the round so snapshots are evenly spaced.
  deadline_us=$((start_us + round * round_seconds * 1000000))
  now_us=${EPOCHREALTIME/./}
  if ((now_us < deadline_us)); then
    sleep "$(printf '%d.%06d' $(((deadline_us - now_us) / 1000000)) $(((deadline_us - now_us) % 1000000)))"
  fi
  snapshot
done
echo "soak-gate: ${#dumps[@]} snapshots in $work"

# 4. Shut the service down cleanly.
printf 'QUIT\n' >&3
read -r -t 10 _ <&3 || true
exec 3>&-
service_status=0
wait "$runner_pid" 2>/dev/null || service_status=$?
runner_pid="" service_pid=""
((service_status == 0)) || { cat "$work/service.log" >&2; fail "the service exited with status $service_status"; }

# 5. The gate.
gate=0
"$leaktrace" check --trend "${dumps[@]}" || gate=$?
case $gate in
  0) echo "soak-gate: PASSED: no call site grows steadily" ;;
  1) echo "soak-gate: FAILED: steady growth (above); dumps: ${keep:-rerun with --keep DIR to keep them}" ;;
  *) echo "soak-gate: leaktrace check could not judge the series (exit $gate)" >&2 ;;
esac
exit "$gate"
