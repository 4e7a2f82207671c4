#!/bin/sh
# Instructions per operation, counted by callgrind: the difference of two
# run lengths divided by the operations between them, so start-up and exit
# cancel out. Exact mode by default (deterministic, unlike timing on a
# loaded machine); SAMPLE=512k (any LEAKTRACE_SAMPLE) for sampled mode, whose
# samples fall at random: run it a few times.
#
# usage: [SAMPLE=T] bench/instructions_per_op.sh LIB|plain|floor churn|realloc [BUILD_DIR]
#   churn:   churn_workload --threads 1 --ops-per-thread 100000|300000,
#            per malloc+free pair ((Ir(300k) - Ir(100k)) / 200,000)
#   realloc: realloc_grow 64 1048576 2|4, per realloc ((Ir(4) - Ir(2)) / 32,768)
# LIB "plain" runs without the library, "floor" under the do-nothing
# interposer (bench/interpose_floor.c, BUILD_DIR/bench/libinterpose_floor.so).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 LIB|plain churn|realloc [BUILD_DIR]" >&2; exit 2; }
lib=$1 workload=$2 build=${3:-build}
command -v valgrind >/dev/null || { echo "$0: valgrind not found" >&2; exit 2; }
case $workload in
  churn) program="$build/bench/churn_workload --threads 1 --ops-per-thread"; short=100000 long=300000 ops=200000 ;;
  realloc) program="$build/bench/patterns/realloc_grow 64 1048576"; short=2 long=4 ops=32768 ;;
  *) echo "$0: unknown workload '$workload' (churn, realloc)" >&2; exit 2 ;;
esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
count() {
  if [ "$lib" = plain ]; then
    valgrind --tool=callgrind --callgrind-out-file=/dev/null $program "$1" 2>&1
  elif [ "$lib" = floor ]; then
    env LD_PRELOAD="$build/bench/libinterpose_floor.so" \
      valgrind --tool=callgrind --callgrind-out-file=/dev/null $program "$1" 2>&1
  else
    env LD_PRELOAD="$lib" LEAKTRACE_SAMPLE="${SAMPLE:-1}" LEAKTRACE_DIR="$dir" \
      valgrind --tool=callgrind --callgrind-out-file=/dev/null $program "$1" 2>&1
  fi | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
a=$(count $short)
b=$(count $long)
[ -n "$a" ] && [ -n "$b" ] || { echo "$0: callgrind gave no count" >&2; exit 1; }
echo "$workload $lib${SAMPLE:+ (LEAKTRACE_SAMPLE=$SAMPLE)}: $(( (b - a) / ops )).$(( (b - a) * 10 / ops % 10 )) instructions per operation (Ir $a, $b)"
