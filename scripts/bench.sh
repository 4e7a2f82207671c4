#!/usr/bin/env bash
# Overhead benchmarks (issue #3, "cheap enough to leave on").
#
#   scripts/bench.sh micro     Google Benchmark: the hooks in every mode, and the
#                              preload library's insides (incl. snapshot time)
#   scripts/bench.sh e2e       churn_workload: plain vs leaktrace default vs
#                              leaktrace exact vs heaptrack, alternating rounds
#   scripts/bench.sh redis     Debian's redis-server plain vs under leaktrace
#                              (default, exact), driven by redis-benchmark
#   scripts/bench.sh sweep     churn_workload plain vs a do-nothing malloc
#                              interposer (the floor) vs leaktrace sampling at
#                              1g (hooks only), 64k, 128k, 256k, 512k (how the
#                              default was chosen); the fixed cost; the
#                              tracker's memory with 4 and 64 threads
#   scripts/bench.sh stall     snapshot_stall: 1,000,000 live allocations in
#                              exact mode, snapshots taken while a thread
#                              times every malloc+free (stalls, dump time)
#   scripts/bench.sh profile   perf record of churn_workload in exact mode:
#                              where the time goes, by module
#   scripts/bench.sh patterns  (issue #12) bench/patterns/: realloc growth and
#                              shrink, big calloc, string builder, thread
#                              churn, 1,000 live threads, big alignments,
#                              fd / mmap churn, fork+_exit, exec chain, plain
#                              vs default vs exact (time, peak RSS); then the
#                              start-up cost of a do-nothing program, exit
#                              dump on and off (~10 minutes)
#   scripts/bench.sh realworld (issue #12) real programs plain vs default vs
#                              exact, output checked identical: redis, nginx,
#                              python3, sqlite3, git, gcc, bash (subshells;
#                              reading through fd 3), make -j2 (~11 minutes)
#   scripts/bench.sh attach    leaktrace attach: how long it stops the borrowed
#                              thread (bench/attach/attach_stop.py), and a
#                              loaded redis-server's throughput after it against
#                              before, relative to a never-attached control
#                              (bench/attach/attach_throughput.py; ~5 minutes)
#   scripts/bench.sh all       all of the above (about 55 minutes)
#
# Every verdict is a ratio of runs made in the same invocation, alternating the
# variants round by round (A B C D A B C D ...), and the median of the
# per-round ratios: never one absolute timing. Markdown tables go to stdout
# and to $BENCH_OUT/summary.md; raw measurements stay beside them.
#
# Settings (environment): LEAKTRACE_BUILD_DIR (default ./build),
# BENCH_LIBRARY (the libleaktrace.so under test; default the one this script
# builds: point it at another build to measure before / after with the same
# script and programs), BENCH_OUT (default <build>/bench-results/<time>),
# BENCH_ROUNDS (e2e, 9),
# BENCH_REDIS_ROUNDS (7), BENCH_REDIS_REQUESTS (500000),
# BENCH_MICRO_ROUNDS (3), BENCH_THREADS (4), BENCH_OPS (2000000, raised until
# the plain run takes >= BENCH_MIN_PLAIN_S, 0.6), BENCH_SWEEP_ROUNDS (11),
# BENCH_SWEEP_INTERVALS ("64k 128k 256k 512k"), BENCH_STALL_LIVE (1000000),
# BENCH_STALL_STACK_BITS (13), BENCH_STALL_SNAPSHOTS (5),
# BENCH_PATTERN_ROUNDS (5), BENCH_PATTERN_TIMEOUT (30 s a run),
# BENCH_NOOP_ROUNDS (31), BENCH_PATTERNS (comma-separated names: only those;
# "noop" for the start-up runs), BENCH_REALWORLD_ROUNDS (5),
# BENCH_REALWORLD_TIMEOUT (300 s a run), BENCH_REALWORLD (comma-separated
# programs: only those), BENCH_REALWORLD_REDIS_REQUESTS (200000),
# BENCH_WRK_SECONDS (4), BENCH_ATTACH_RUNS (5).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${LEAKTRACE_BUILD_DIR:-$top/build}
build_type=${LEAKTRACE_BUILD_TYPE:-RelWithDebInfo}
mode=${1:-all}
case "$mode" in
  micro | e2e | redis | sweep | stall | profile | patterns | realworld | attach | all) ;;
  *)
    echo "usage: scripts/bench.sh [micro|e2e|redis|sweep|stall|profile|patterns|realworld|attach|all]" >&2
    exit 2
    ;;
esac

out=${BENCH_OUT:-$build_dir/bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
summary=$out/summary.md
report=(python3 "$top/bench/bench_report.py")

log() { echo "bench: $*" >&2; }
emit() { tee -a "$summary"; }

# ---- packages and build ------------------------------------------------------

install_packages() {
  # The project's own list plus what only the benchmarks need.
  local wanted missing=() pkg
  mapfile -t wanted < <(grep -Ev '^\s*(#|$)' "$top/deps/debian-packages.txt")
  wanted+=(heaptrack redis-server redis-tools linux-perf time)
  [ -z "${BENCH_LIBRARY:-}" ] || [ -f "$BENCH_LIBRARY" ] || { log "BENCH_LIBRARY=$BENCH_LIBRARY: no such file"; exit 2; }
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build() {
  local generator=()
  [ -f "$build_dir/CMakeCache.txt" ] || generator=(-G Ninja)
  cmake -S "$top" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" \
    -DLEAKTRACE_BUILD_BENCH=ON ${LEAKTRACE_CMAKE_ARGS:-} >/dev/null
  # Only what the mode needs, so work in progress elsewhere cannot stop it;
  # the library itself only when it is the one under test.
  local targets=(leaktrace)
  [ -n "${BENCH_LIBRARY:-}" ] || targets+=(leaktrace_preload)
  case "$mode" in
    micro) targets+=(bench_hooks bench_core) ;;
    e2e | profile) targets+=(churn_workload) ;;
    sweep) targets+=(churn_workload interpose_floor) ;;
    stall) targets+=(snapshot_stall) ;;
    patterns) targets+=(bench_patterns) ;;
    realworld) targets+=(measure_run) ;;
    redis | attach) ;;
    all) targets+=(churn_workload bench_hooks bench_core snapshot_stall interpose_floor bench_patterns) ;;
  esac
  # Build chatter to stderr: stdout is the tables.
  cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}" >&2
}

install_packages
build
lib=${BENCH_LIBRARY:-$build_dir/preload/libleaktrace.so}
lib=$(realpath "$lib")
cli=$build_dir/cli/leaktrace
churn=$build_dir/bench/churn_workload
bench_hooks=$build_dir/bench/bench_hooks
bench_core=$build_dir/bench/bench_core
snapshot_stall=$build_dir/bench/snapshot_stall
interpose_floor=$build_dir/bench/libinterpose_floor.so

{
  echo "# leaktrace overhead: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -r); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  if git -C "$top" rev-parse --short HEAD >/dev/null 2>&1; then
    echo "- commit: $(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet HEAD -- preload || echo ' (preload/ has uncommitted changes)')"
  else
    echo "- source: $top (not a git checkout${BENCH_SOURCE_NOTE:+; $BENCH_SOURCE_NOTE})"
  fi
  echo "- library under test: \`$lib\` (sha256 $(sha256sum "$lib" | cut -c1-12), modified $(date -u -r "$lib" '+%Y-%m-%d %H:%M UTC'))"
  echo "- raw results: $out"
  echo
} | emit

# Wall seconds of a command (microsecond clock), peak RSS in KiB of it or its
# largest child (/usr/bin/time %M), exit status, and CPU seconds (user+sys of
# it and its children). Prints "wall rss status cpu".
# The command's own output goes to $TIMED_OUT (default /dev/null).
timed() {
  local tfile=$out/.time.$$ start end status=0
  start=$EPOCHREALTIME
  /usr/bin/time -f '%M %U %S' -o "$tfile" "$@" >"${TIMED_OUT:-/dev/null}" 2>&1 || status=$?
  end=$EPOCHREALTIME
  local rss user sys
  read -r rss user sys < <(tail -n1 "$tfile" 2>/dev/null || echo "0 0 0")
  rm -f "$tfile"
  python3 -c "print(f'{$end - $start:.6f} ${rss:-0} $status {${user:-0} + ${sys:-0}:.2f}')"
}

# The JSON report (with the health section: the tracker's own memory) of the
# first dump under directory $1, into file $2; nothing when there is none.
report_first_dump() {
  local dump
  dump=$(find "$1" -name '*.dump' | head -n1)
  [ -n "$dump" ] && "$cli" report --format json "$dump" >"$2" 2>/dev/null || true
}

# Prints the arguments rotated left by $1 (the round number): each round
# runs the variants in another order, so no variant always follows the same
# neighbour (after heaptrack, say) or always runs first.
rotated() {
  local shift=$1
  shift
  local n=$# i
  local items=("$@")
  for ((i = 0; i < n; i++)); do printf '%s\n' "${items[$(((i + shift) % n))]}"; done
}

# ---- micro -----------------------------------------------------------------

run_micro() {
  local rounds=${BENCH_MICRO_ROUNDS:-3} r variant dir
  local variants=(plain default sample64 exact)
  log "micro: bench_hooks in ${variants[*]}, $rounds alternating rounds"
  mkdir -p "$out/micro"
  for ((r = 1; r <= rounds; r++)); do
    for variant in "${variants[@]}"; do
      dir=$out/micro/dumps.$variant.$r
      mkdir -p "$dir"
      local env=()
      case $variant in
        plain) ;;
        default) env=(LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir") ;;
        sample64) env=(LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" LEAKTRACE_SAMPLE=64) ;;
        exact) env=(LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" LEAKTRACE_SAMPLE=1) ;;
      esac
      env -u LEAKTRACE_SAMPLE "${env[@]}" "$bench_hooks" --benchmark_min_time=0.2 \
        --benchmark_out="$out/micro/hooks.$variant.$r.json" --benchmark_out_format=json >/dev/null
    done
  done
  log "micro: bench_core (internals)"
  "$bench_core" --benchmark_filter='-BM_Snapshot' --benchmark_min_time=0.3 --benchmark_repetitions=3 \
    --benchmark_out="$out/micro/core.json" --benchmark_out_format=json >/dev/null 2>"$out/micro/core.err" ||
    echo "bench_core (internals) failed with status $?" >"$out/micro/core.failed"
  log "micro: bench_core snapshots (10k .. 1M live allocations; takes a minute)"
  "$bench_core" --benchmark_filter='BM_Snapshot' \
    --benchmark_out="$out/micro/snapshot.json" --benchmark_out_format=json >/dev/null 2>"$out/micro/snapshot.err" ||
    echo "bench_core (snapshots) failed with status $?" >"$out/micro/snapshot.failed"
  {
    echo "## Microbenchmarks"
    echo
    echo '```sh'
    echo "# $rounds rounds, alternating plain / default / LEAKTRACE_SAMPLE=64 / LEAKTRACE_SAMPLE=1:"
    echo "[LD_PRELOAD=libleaktrace.so [LEAKTRACE_SAMPLE=64|1]] bench_hooks --benchmark_min_time=0.2"
    echo "bench_core --benchmark_filter=-BM_Snapshot --benchmark_min_time=0.3 --benchmark_repetitions=3"
    echo "bench_core --benchmark_filter=BM_Snapshot"
    echo '```'
    echo
  } | emit
  "${report[@]}" micro "$out/micro" | emit
}

# ---- e2e -------------------------------------------------------------------

# Sets churn_ops: operations per thread for which the plain churn run lasts
# at least BENCH_MIN_PLAIN_S, so a ratio of runs means something; and
# churn_plain_s, the last plain time seen.
churn_ops=""
churn_plain_s=""
calibrate_churn() {
  local threads=$1 ops=${BENCH_OPS:-2000000} min_plain=${BENCH_MIN_PLAIN_S:-0.6} wall
  if [ -n "$churn_ops" ]; then return 0; fi
  for _ in 1 2 3 4 5; do
    read -r wall _ _ _ < <(timed "$churn" --threads "$threads" --ops-per-thread "$ops")
    if python3 -c "import sys; sys.exit(0 if $wall >= $min_plain else 1)"; then break; fi
    ops=$(python3 -c "import math; print(int(math.ceil($ops * 1.3 * $min_plain / max($wall, 0.01) / 100000) * 100000))")
  done
  churn_ops=$ops
  churn_plain_s=$wall
}

run_e2e() {
  local rounds=${BENCH_ROUNDS:-9} threads=${BENCH_THREADS:-4}
  mkdir -p "$out/e2e"
  calibrate_churn "$threads"
  local ops=$churn_ops wall=$churn_plain_s
  local args=(--threads "$threads" --ops-per-thread "$ops")
  log "e2e: churn_workload ${args[*]} (plain ${wall}s), $rounds rounds of plain, default, exact, heaptrack"
  local tsv=$out/e2e/runs.tsv r variant dir status rss bytes cpu
  printf 'round\tvariant\twall_s\tmaxrss_kib\toutput_bytes\tstatus\tcpu_s\n' >"$tsv"
  for ((r = 1; r <= rounds; r++)); do
    for variant in $(rotated "$r" plain default exact heaptrack); do
      dir=$out/e2e/$variant.$r
      mkdir -p "$dir"
      case $variant in
        plain) read -r wall rss status cpu < <(timed "$churn" "${args[@]}") ;;
        default) read -r wall rss status cpu < <(timed env -u LEAKTRACE_SAMPLE LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" \
          LEAKTRACE_ON_EXIT=1 "$churn" "${args[@]}") ;;
        exact) read -r wall rss status cpu < <(timed env LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" LEAKTRACE_SAMPLE=1 \
          LEAKTRACE_ON_EXIT=1 "$churn" "${args[@]}") ;;
        heaptrack) read -r wall rss status cpu < <(TIMED_OUT=$dir/heaptrack.log timed heaptrack \
          -o "$dir/heaptrack.churn" "$churn" "${args[@]}")
          # heaptrack leaves 100+ MiB of dirty pages: let writeback finish
          # before the next timed run rather than during it.
          sync
          sleep 1 ;;
      esac
      bytes=0
      case $variant in
        default | exact) bytes=$(find "$dir" -name '*.dump' -printf '%s\n' | awk '{s += $1} END {print s + 0}') ;;
        heaptrack) bytes=$(find "$dir" -name 'heaptrack.churn*' -printf '%s\n' | awk '{s += $1} END {print s + 0}') ;;
      esac
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$variant" "$wall" "$rss" "$bytes" "$status" "$cpu" >>"$tsv"
    done
    log "e2e: round $r/$rounds done"
  done
  # The tracker's own memory, as the dump reports it (health section via JSON).
  for variant in default exact; do
    report_first_dump "$out/e2e/$variant.1" "$out/e2e/report.$variant.json"
  done
  {
    echo "## End to end: churn_workload ${args[*]}"
    echo
    echo "Commands (one round; rounds alternate the four, $rounds rounds):"
    echo
    echo '```sh'
    echo "churn_workload ${args[*]}"
    echo "LD_PRELOAD=libleaktrace.so LEAKTRACE_DIR=DIR churn_workload ${args[*]}"
    echo "LD_PRELOAD=libleaktrace.so LEAKTRACE_DIR=DIR LEAKTRACE_SAMPLE=1 churn_workload ${args[*]}"
    echo "heaptrack -o DIR/heaptrack.churn churn_workload ${args[*]}"
    echo '```'
    echo
  } | emit
  "${report[@]}" e2e "$out/e2e" | emit
}

# ---- sweep -----------------------------------------------------------------

run_sweep() {
  local rounds=${BENCH_SWEEP_ROUNDS:-11} threads=${BENCH_THREADS:-4}
  local intervals=(${BENCH_SWEEP_INTERVALS:-64k 128k 256k 512k})
  mkdir -p "$out/sweep"
  calibrate_churn "$threads"
  # Twice the end-to-end run: start-up and the exit dump (measured below)
  # weigh half as much against the steady state.
  local args=(--threads "$threads" --ops-per-thread "$((churn_ops * 2))")
  log "sweep: churn_workload ${args[*]}, $rounds rounds of plain, floor, 1g, ${intervals[*]}"
  local tsv=$out/sweep/runs.tsv r variant dir wall rss status cpu
  printf 'round\tvariant\twall_s\tmaxrss_kib\toutput_bytes\tstatus\tcpu_s\n' >"$tsv"
  for ((r = 1; r <= rounds; r++)); do
    for variant in $(rotated "$r" plain floor 1g "${intervals[@]}"); do
      dir=$out/sweep/$variant.$r
      mkdir -p "$dir"
      if [ "$variant" = plain ]; then
        read -r wall rss status cpu < <(timed "$churn" "${args[@]}")
      elif [ "$variant" = floor ]; then
        read -r wall rss status cpu < <(timed env LD_PRELOAD="$interpose_floor" "$churn" "${args[@]}")
      else
        read -r wall rss status cpu < <(timed env LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" LEAKTRACE_SAMPLE="$variant" \
          LEAKTRACE_ON_EXIT=1 "$churn" "${args[@]}")
      fi
      printf '%s\t%s\t%s\t%s\t0\t%s\t%s\n' "$r" "$variant" "$wall" "$rss" "$status" "$cpu" >>"$tsv"
    done
  done
  for variant in 1g "${intervals[@]}"; do
    report_first_dump "$out/sweep/$variant.1" "$out/sweep/report.$variant.json"
  done
  # What does not depend on the run's length: loading the library, starting
  # up, and the exit dump. A run of one operation per thread, plain and in
  # default mode, alternating.
  printf 'round\tvariant\twall_s\n' >"$out/sweep/fixed.tsv"
  for ((r = 1; r <= 21; r++)); do
    for variant in $(rotated "$r" plain default); do
      dir=$out/sweep/fixed.$variant
      mkdir -p "$dir"
      if [ "$variant" = plain ]; then
        read -r wall _ _ _ < <(timed "$churn" --threads "$threads" --ops-per-thread 1)
      else
        read -r wall _ _ _ < <(timed env -u LEAKTRACE_SAMPLE LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" LEAKTRACE_ON_EXIT=1 \
          "$churn" --threads "$threads" --ops-per-thread 1)
      fi
      printf '%s\t%s\t%s\n' "$r" "$variant" "$wall" >>"$out/sweep/fixed.tsv"
    done
  done
  # The tracker's own memory in default mode as threads multiply: every
  # allocating thread gets a shard (and, when it samples, an unwind cache).
  local many
  for many in 4 64; do
    dir=$out/sweep/threads.$many
    mkdir -p "$dir"
    env -u LEAKTRACE_SAMPLE LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" LEAKTRACE_ON_EXIT=1 \
      "$churn" --threads "$many" --ops-per-thread 500000 >/dev/null 2>&1 || true
    report_first_dump "$dir" "$out/sweep/threads.$many.json"
  done
  {
    echo "## Sampling interval sweep: churn_workload ${args[*]}"
    echo
    echo '```sh'
    echo "churn_workload ${args[*]}"
    echo "LD_PRELOAD=libinterpose_floor.so churn_workload ${args[*]}     # floor: a do-nothing interposer"
    echo "LD_PRELOAD=libleaktrace.so LEAKTRACE_DIR=DIR LEAKTRACE_SAMPLE=<interval> churn_workload ${args[*]}   # 1g: hooks, ~no samples"
    echo "# fixed cost: churn_workload --threads $threads --ops-per-thread 1, plain and default, 21 rounds"
    echo "# tracker memory: default mode, churn_workload --threads 4|64 --ops-per-thread 500000"
    echo '```'
    echo
  } | emit
  "${report[@]}" sweep "$out/sweep" | emit
}

# ---- stall -------------------------------------------------------------------

run_stall() {
  local live=${BENCH_STALL_LIVE:-1000000} bits=${BENCH_STALL_STACK_BITS:-13} count=${BENCH_STALL_SNAPSHOTS:-5}
  local dir=$out/stall
  mkdir -p "$dir/dumps"
  log "stall: $live live allocations over $((1 << bits)) stacks, $count snapshots"
  local status=0
  env LD_PRELOAD="$lib" LEAKTRACE_SAMPLE=1 LEAKTRACE_ON_EXIT=0 LEAKTRACE_DIR="$dir/dumps" \
    "$snapshot_stall" --live "$live" --stack-bits "$bits" --snapshots "$count" >"$dir/windows.tsv" 2>"$dir/stderr" ||
    status=$?
  ls -l "$dir/dumps" >"$dir/dumps.txt"
  {
    echo "## Snapshots of $live live allocations: time and stalls (exact mode)"
    echo
    echo '```sh'
    echo "LD_PRELOAD=libleaktrace.so LEAKTRACE_SAMPLE=1 LEAKTRACE_ON_EXIT=0 LEAKTRACE_DIR=DIR snapshot_stall --live $live --stack-bits $bits --snapshots $count"
    echo '```'
    echo
    ((status == 0)) || echo "snapshot_stall exited with status $status: $(tail -n1 "$dir/stderr")"
    echo
  } | emit
  "${report[@]}" stall "$dir" | emit
}

# ---- profile ---------------------------------------------------------------

run_profile() {
  local threads=${BENCH_THREADS:-4} ops=${BENCH_PROFILE_OPS:-1000000}
  mkdir -p "$out/profile"
  log "profile: perf record -g of churn_workload in exact mode"
  if ! perf record -q -F 2999 -g -o "$out/profile/perf.data" -- env LD_PRELOAD="$lib" \
    LEAKTRACE_DIR="$out/profile" LEAKTRACE_SAMPLE=1 "$churn" --threads "$threads" --ops-per-thread "$ops" \
    >"$out/profile/perf.log" 2>&1; then
    { echo "## Where the time goes (exact mode)"; echo; echo "perf record failed: $(tail -n1 "$out/profile/perf.log")"; echo; } | emit
    return 0
  fi
  perf report -i "$out/profile/perf.data" --no-children --sort dso --stdio -q 2>/dev/null \
    >"$out/profile/by_dso.txt" || true
  perf report -i "$out/profile/perf.data" --no-children --sort dso,sym --stdio -q -g none 2>/dev/null \
    | head -n 40 >"$out/profile/by_symbol.txt" || true
  {
    echo "## Where the time goes (exact mode)"
    echo
    echo "\`perf record -F 2999 -g -- env LD_PRELOAD=libleaktrace.so LEAKTRACE_SAMPLE=1 churn_workload --threads $threads --ops-per-thread $ops\`,"
    echo "then \`perf report --no-children --sort dso\` (self time by module):"
    echo
  } | emit
  "${report[@]}" profile "$out/profile" | emit
}

# ---- redis -----------------------------------------------------------------

redis_pid=""
stop_redis() {
  if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || kill "$redis_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  redis_pid=""
}
trap stop_redis EXIT

run_redis() {
  local rounds=${BENCH_REDIS_ROUNDS:-7} requests=${BENCH_REDIS_REQUESTS:-500000}
  mkdir -p "$out/redis"
  # A free private port on loopback.
  redis_port=""
  for _ in $(seq 50); do
    local p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then redis_port=$p; break; fi
  done
  [ -n "$redis_port" ] || { log "redis: no free port"; return 1; }
  local tsv=$out/redis/runs.tsv r variant dir
  printf 'round\tvariant\ttest\trps\n' >"$tsv"
  printf 'round\tvariant\tdump_bytes\tserver_status\n' >"$out/redis/dumps.tsv"
  log "redis: port $redis_port, $rounds rounds of plain, default, exact; redis-benchmark -n $requests -P 16"
  for ((r = 1; r <= rounds; r++)); do
    for variant in $(rotated "$r" plain default exact); do
      dir=$out/redis/$variant.$r
      mkdir -p "$dir"
      local env=()
      case $variant in
        default) env=(LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" LEAKTRACE_ON_EXIT=1) ;;
        exact) env=(LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir" LEAKTRACE_ON_EXIT=1 LEAKTRACE_SAMPLE=1) ;;
      esac
      env -u LEAKTRACE_SAMPLE "${env[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --daemonize no --dir "$dir" --logfile "$dir/redis.log" &
      redis_pid=$!
      local up=0
      for _ in $(seq 100); do
        if redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; then up=1; break; fi
        sleep 0.1
      done
      if ((!up)); then
        log "redis: server ($variant) did not start; see $dir/redis.log"
        stop_redis
        return 1
      fi
      timeout 300 redis-benchmark -p "$redis_port" -q -n "$requests" -t set,get,lpush,lpop -P 16 --csv \
        >"$dir/benchmark.csv" 2>"$dir/benchmark.err" || true
      # Only the tests that completed against a live server count.
      tail -n +2 "$dir/benchmark.csv" | tr -d '"' | awk -F, -v r="$r" -v v="$variant" \
        '$2 + 0 > 0 {print r "\t" v "\t" $1 "\t" $2}' >>"$tsv"
      local status=0
      if kill -0 "$redis_pid" 2>/dev/null; then
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
        for _ in $(seq 100); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$redis_pid" 2>/dev/null && kill -9 "$redis_pid"
      fi
      wait "$redis_pid" || status=$?
      redis_pid=""
      ((status == 0)) || log "redis: server ($variant, round $r) exited with status $status; see $dir/redis.log"
      printf '%s\t%s\t%s\t%s\n' "$r" "$variant" \
        "$(find "$dir" -name '*.dump' -printf '%s\n' | awk '{s += $1} END {print s + 0}')" "$status" \
        >>"$out/redis/dumps.tsv"
    done
    log "redis: round $r/$rounds done"
  done
  for variant in default exact; do
    report_first_dump "$out/redis/$variant.1" "$out/redis/report.$variant.json"
  done
  {
    echo "## Redis: redis-server $(redis-server --version | grep -o 'v=[^ ]*' | cut -d= -f2) (Debian, jemalloc)"
    echo
    echo '```sh'
    echo "[LD_PRELOAD=libleaktrace.so LEAKTRACE_DIR=DIR [LEAKTRACE_SAMPLE=1]] redis-server --port PORT --bind 127.0.0.1 --save '' --appendonly no"
    echo "redis-benchmark -p PORT -q -n $requests -t set,get,lpush,lpop -P 16 --csv"
    echo "redis-cli -p PORT shutdown nosave     # normal exit: the exit dump is written"
    echo '```'
    echo
    echo "A fresh server per run; $rounds rounds alternating plain, default, exact."
    echo
  } | emit
  "${report[@]}" redis "$out/redis" | emit
}

# ---- patterns (issue #12) -------------------------------------------------

run_patterns() {
  local rounds=${BENCH_PATTERN_ROUNDS:-5} limit=${BENCH_PATTERN_TIMEOUT:-30} noop_rounds=${BENCH_NOOP_ROUNDS:-31}
  local only=()
  [ -z "${BENCH_PATTERNS:-}" ] || only=(--only "$BENCH_PATTERNS")
  python3 "$top/bench/patterns_run.py" --bin "$build_dir/bench/patterns" --library "$lib" --cli "$cli" \
    --out "$out/patterns" --rounds "$rounds" --timeout "$limit" --noop-rounds "$noop_rounds" "${only[@]}"
  {
    echo "## Patterns: plain vs default vs exact (issue #12)"
    echo
    echo '```sh'
    echo "# each pattern, $rounds rounds, order rotated; a run over ${limit} s is killed and not repeated:"
    echo "measure_run RSS_FILE env [LD_PRELOAD=libleaktrace.so LEAKTRACE_DIR=DIR LEAKTRACE_ON_EXIT=1 [LEAKTRACE_SAMPLE=1]] bench/patterns/PROGRAM ARGS"
    echo "# start-up, $noop_rounds rounds: the same for bench/patterns/noop, plus LEAKTRACE_ON_EXIT=0 in both modes"
    echo '```'
    echo
  } | emit
  "${report[@]}" patterns "$out/patterns" | emit
}

# ---- real programs (issue #12) ---------------------------------------------

run_realworld() {
  local rounds=${BENCH_REALWORLD_ROUNDS:-5} limit=${BENCH_REALWORLD_TIMEOUT:-300}
  local only=()
  [ -z "${BENCH_REALWORLD:-}" ] || only=(--only "$BENCH_REALWORLD")
  python3 "$top/bench/realworld_run.py" --library "$lib" --top "$top" --out "$out/realworld" --rounds "$rounds" \
    --measure "$build_dir/bench/patterns/measure_run" \
    --timeout "$limit" --redis-requests "${BENCH_REALWORLD_REDIS_REQUESTS:-200000}" \
    --wrk-seconds "${BENCH_WRK_SECONDS:-4}" "${only[@]}"
  {
    echo "## Real programs: plain vs default vs exact, output checked (issue #12)"
    echo
    echo '```sh'
    echo "# each program, $rounds rounds, order rotated; the tracker in the program and every process it starts:"
    echo "measure_run RSS_FILE env [LD_PRELOAD=libleaktrace.so LEAKTRACE_DIR=DIR LEAKTRACE_ON_EXIT=1 [LEAKTRACE_SAMPLE=1]] PROGRAM ..."
    echo "python3 bench/realworld_run.py --help    # what each program runs and what output is compared"
    echo '```'
    echo
  } | emit
  "${report[@]}" realworld "$out/realworld" | emit
}

run_attach() {
  local runs=${BENCH_ATTACH_RUNS:-5}
  {
    echo "## leaktrace attach: stop time, and a loaded server's throughput after it"
    echo
    echo '```sh'
    echo "python3 bench/attach/attach_stop.py --cli CLI --lib LIB --runs 15"
    echo "python3 bench/attach/attach_throughput.py --cli CLI --lib LIB --runs $runs"
    echo '```'
    echo
    python3 "$top/bench/attach/attach_stop.py" --cli "$build_dir/cli/leaktrace" --lib "$lib" --runs 15
    echo
    python3 "$top/bench/attach/attach_throughput.py" --cli "$build_dir/cli/leaktrace" --lib "$lib" --runs "$runs"
    echo
  } | emit
}

case "$mode" in
  micro) run_micro ;;
  e2e) run_e2e ;;
  redis) run_redis ;;
  sweep) run_sweep ;;
  stall) run_stall ;;
  profile) run_profile ;;
  patterns) run_patterns ;;
  realworld) run_realworld ;;
  attach) run_attach ;;
  all)
    run_micro
    run_e2e
    run_sweep
    run_stall
    run_redis
    run_profile
    run_patterns
    run_realworld
    run_attach
    ;;
esac
log "summary: $summary"
