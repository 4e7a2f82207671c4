# Sourced by the scripts that check leaktrace's exports in real viewers
# (flamegraph-screenshot.sh, speedscope-check.sh). Defines:
#   leaky_service_dump WORKDIR   runs examples/leaky_service under the library
#                                (every allocation recorded), snapshots it once
#                                after a second, stops it, and prints the dump's path.
# Needs $leaktrace and $service (paths) and a fail() from the sourcing script.
leaky_service_dump() {
  local work=$1 pid="" runner dump
  LEAKTRACE_ON_EXIT=0 LEAKTRACE_VERBOSE=0 "$leaktrace" run -o "$work" --sample 1 -- "$service" --rate 5000 --seconds 30 \
    >"$work/service.log" 2>&1 &
  runner=$!
  for _ in $(seq 200); do
    pid=$(sed -n 's/^leaky_service: pid \([0-9]*\),.*/\1/p' "$work/service.log" 2>/dev/null)
    [ -n "$pid" ] && break
    sleep 0.05
  done
  if [ -z "$pid" ]; then
    kill "$runner" 2>/dev/null || true
    cat "$work/service.log" >&2
    fail "leaky_service did not start" 2
  fi
  sleep 1
  dump=$("$leaktrace" snapshot --timeout 20 "$pid") || { kill "$runner" 2>/dev/null; fail "snapshot of leaky_service failed" 2; }
  kill -TERM "$pid"
  wait "$runner" || true
  echo "$dump"
}
