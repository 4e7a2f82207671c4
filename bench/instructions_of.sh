#!/bin/sh
# Instructions a whole command executes, every process it starts counted,
# by callgrind: plain, or under a library in exact or default mode.
# Deterministic where timing on a loaded machine is not (a sampled run moves
# by the sampler's draws).
#
# usage: bench/instructions_of.sh LIB|plain exact|default COMMAND [ARGS...]
# Prints one line per process (its instructions and command) and the total.
# Example, the compiler of `make` in the real-program benchmark:
#   python3 bench/realworld/gen_make_project.py /tmp/p 24
#   bench/instructions_of.sh build/preload/libleaktrace.so exact gcc -O2 -c /tmp/p/unit3.c -o /tmp/u3.o
set -eu
[ $# -ge 3 ] || { echo "usage: $0 LIB|plain exact|default COMMAND [ARGS...]" >&2; exit 2; }
lib=$1 mode=$2
shift 2
command -v valgrind >/dev/null || { echo "$0: valgrind not found" >&2; exit 2; }
case $mode in exact) sample=1 ;; default) sample= ;; *) echo "$0: mode must be exact or default" >&2; exit 2 ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/dumps"
if [ "$lib" = plain ]; then
  valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$dir/cg.%p" "$@" >/dev/null 2>"$dir/err" || true
elif [ -n "$sample" ]; then
  env LD_PRELOAD="$lib" LEAKTRACE_SAMPLE="$sample" LEAKTRACE_DIR="$dir/dumps" \
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$dir/cg.%p" "$@" >/dev/null 2>"$dir/err" || true
else
  env LD_PRELOAD="$lib" LEAKTRACE_DIR="$dir/dumps" \
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$dir/cg.%p" "$@" >/dev/null 2>"$dir/err" || true
fi
total=0
for f in "$dir"/cg.*; do
  [ -f "$f" ] || continue
  n=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f")
  cmd=$(sed -n 's/^cmd: *//p' "$f" | cut -c1-60)
  [ -n "$n" ] || continue
  echo "$n $cmd"
  total=$((total + n))
done
[ "$total" -gt 0 ] || { echo "$0: callgrind gave no count" >&2; cat "$dir/err" >&2; exit 1; }
echo "total $total"
