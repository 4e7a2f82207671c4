#!/usr/bin/env python3
"""Runs the allocation and resource patterns of bench/patterns/ plain and
under libleaktrace.so (default and exact mode), alternating round by round,
and writes the raw figures; bench_report.py patterns DIR makes the tables.

    patterns_run.py --bin DIR --library LIB --out DIR [--cli LEAKTRACE]
                    [--rounds N] [--timeout S] [--noop-rounds N] [--only a,b]

Writes OUT/runs.tsv (one line per run of a pattern) and OUT/noop.tsv (the
start-up runs), each run's output and dumps under OUT/<pattern>/<variant>.<round>/.

A run that exceeds --timeout is killed and recorded as timed out; that
variant of that pattern is not run again in later rounds (it would only time
out again), and the report shows "> N s (timeout)".
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paired  # noqa: E402
from paired import dump_stats, log, rotated, run, tracker_mapped_bytes, variant_settings  # noqa: E402

MIB = 1 << 20

# name, program, arguments, what it is. Sizes are chosen so every plain run
# lasts long enough (tens of milliseconds or more) for its own timer to mean
# something, and so the whole mode ends in about ten minutes even when a
# variant is quadratic (it then times out once and is not run again).
PATTERNS = [
    ("realloc_grow_4k_64m", "realloc_grow", [4096, 64 * MIB], "realloc growth, 4 KiB steps to 64 MiB"),
    ("realloc_grow_4k_8m", "realloc_grow", [4096, 8 * MIB], "realloc growth, 4 KiB steps to 8 MiB"),
    ("realloc_grow_64b_1m", "realloc_grow", [64, 1 * MIB, 4], "realloc growth, 64 B steps to 1 MiB, 4 times"),
    ("realloc_grow_64b_1m_x100", "realloc_grow", [64, 1 * MIB, 100],
     "realloc growth, 64 B steps to 1 MiB, 100 times (the heap warm: what a step costs)"),
    ("realloc_shrink_4k_32m", "realloc_shrink", [4096, 32 * MIB], "realloc shrink, 4 KiB steps down from 32 MiB"),
    ("realloc_small_5k_25k", "realloc_small", [1000000, 5000, 20000], "1,000,000 blocks of 64-2,063 B realloc'd to 5-25 KB, freed"),
    ("calloc_256m_x8", "calloc_big", [8, 256, "keep"], "8 x calloc(1, 256 MiB) kept live, one page touched each"),
    ("calloc_64m_x50", "calloc_big", [50, 64, "free"], "50 x calloc(1, 64 MiB), one page touched, freed"),
    ("calloc_64m_head_x2000", "calloc_big", [2000, 64, "head"], "2,000 x calloc(1, 64 MiB), its first bytes written, freed"),
    ("malloc_1_200k", "malloc_sizes", [1000000, 200000], "1,000,000 x malloc(1..200,000 B), first byte written, freed"),
    ("string_builder", "string_builder", [64, 4], "doubling string builder to 64 MiB, 4 times"),
    ("thread_churn", "thread_churn", [5000], "5,000 threads created and joined one by one"),
    ("live_threads", "live_threads", [1000], "1,000 threads alive at once, each having allocated"),
    ("big_align", "big_align", [200000], "200,000 posix_memalign, alignment 4096 / 64 KiB, 1-64 KiB"),
    ("fd_churn", "fd_churn", [200000], "open + close of /dev/null x 200,000"),
    ("fd_churn_relative", "fd_churn", [200000, "relative"], "open + close of \"null\" from /dev x 200,000"),
    ("fd_churn_at", "fd_churn", [200000, "at"], "openat(/dev's descriptor, \"null\") + close x 200,000"),
    ("mmap_churn", "mmap_churn", [50000, 64], "mmap + touch + munmap of 64 KiB x 50,000"),
    ("fork_exit", "fork_exit", [2000], "fork + _exit + waitpid x 2,000"),
    ("exec_chain", "exec_chain", [200], "sh -c \"sh -c true\" x 200"),
    ("stdio_getc_100m", "stdio_getc", [100000000], "getc x 100,000,000 after a 150 ms sleep (glibc's one-thread stdio)"),
    ("stdio_getc_busy_100m", "stdio_getc", [100000000, 0],
     "getc x 100,000,000 after 150 ms of its own work and an open (no wait)"),
]

# Patterns whose tracker memory is read from the dump (the CLI costs a
# fraction of a second per dump, so not for all).
HEALTH = {"live_threads", "thread_churn"}

VARIANTS = ["plain", "default", "exact"]
NOOP_VARIANTS = ["plain", "default", "default_nodump", "exact", "exact_nodump"]


def work_seconds(path):
    """The pattern's own timer ("work_s X" on its output), or ""."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("work_s "):
                    return line.split()[1]
    except OSError:
        pass
    return ""


def run_patterns(args, patterns):
    tsv_path = os.path.join(args.out, "runs.tsv")
    timed_out = set()  # (pattern, variant) that timed out once
    with open(tsv_path, "w") as tsv:
        tsv.write("pattern\tround\tvariant\twall_s\twork_s\tmaxrss_kib\tcpu_s\tstatus\ttimed_out\t"
                  "dump_files\tdump_bytes\ttracker_mapped_bytes\n")
        for r in range(1, args.rounds + 1):
            for name, program, pargs, _ in patterns:
                for variant in rotated(VARIANTS, r + len(name)):
                    if (name, variant) in timed_out:
                        tsv.write(f"{name}\t{r}\t{variant}\t\t\t\t\tskipped\t1\t0\t0\t\n")
                        continue
                    run_dir = os.path.join(args.out, name, f"{variant}.{r}")
                    os.makedirs(run_dir, exist_ok=True)
                    out_path = os.path.join(run_dir, "output.txt")
                    with open(out_path, "wb") as out:
                        res = run([os.path.join(args.bin, program)] + [str(a) for a in pargs],
                                  variant_settings(variant, args.library, run_dir), args.timeout, stdout=out, cwd=run_dir)
                    if res.timed_out:
                        timed_out.add((name, variant))
                        log(f"patterns: {name} {variant} timed out after {args.timeout:g} s (round {r}); "
                            "not run again")
                    elif res.status != 0:
                        log(f"patterns: {name} {variant} exited with status {res.status}; see {out_path}")
                    files, size = dump_stats(run_dir)
                    mapped = tracker_mapped_bytes(args.cli, run_dir) if name in HEALTH and variant != "plain" else ""
                    tsv.write(f"{name}\t{r}\t{variant}\t{res.wall:.6f}\t{work_seconds(out_path)}\t{res.maxrss_kib}\t"
                              f"{res.cpu:.3f}\t{res.status}\t{int(res.timed_out)}\t{files}\t{size}\t{mapped}\n")
                    tsv.flush()
            log(f"patterns: round {r}/{args.rounds} done")


def run_noop(args):
    """Start-up cost: the do-nothing program, many short paired rounds."""
    with open(os.path.join(args.out, "noop.tsv"), "w") as tsv:
        tsv.write("round\tvariant\twall_s\tmaxrss_kib\tcpu_s\tstatus\tdump_files\n")
        for r in range(1, args.noop_rounds + 1):
            for variant in rotated(NOOP_VARIANTS, r):
                run_dir = os.path.join(args.out, "noop", variant)
                os.makedirs(run_dir, exist_ok=True)
                res = run([os.path.join(args.bin, "noop")], variant_settings(variant, args.library, run_dir),
                          args.timeout, cwd=run_dir)
                files, _ = dump_stats(run_dir)
                # One directory per variant, emptied after each run: the
                # count is this run's, and 155 runs leave no pile of dumps.
                shutil.rmtree(run_dir)
                tsv.write(f"{r}\t{variant}\t{res.wall:.6f}\t{res.maxrss_kib}\t{res.cpu:.6f}\t{res.status}\t{files}\n")
    log(f"patterns: start-up, {args.noop_rounds} rounds of {', '.join(NOOP_VARIANTS)} done")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True, help="directory of the built pattern programs")
    p.add_argument("--library", required=True, help="the libleaktrace.so under test")
    p.add_argument("--out", required=True)
    p.add_argument("--measure", default="", help="measure_run (default: the one in --bin)")
    p.add_argument("--cli", default="", help="leaktrace CLI, to read the tracker's memory from dumps")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--noop-rounds", type=int, default=31)
    p.add_argument("--only", default="", help="comma-separated pattern names (and/or 'noop')")
    args = p.parse_args()
    paired.MEASURE = os.path.abspath(args.measure or os.path.join(args.bin, "measure_run"))
    os.makedirs(args.out, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    patterns = [pt for pt in PATTERNS if not only or pt[0] in only]
    with open(os.path.join(args.out, "patterns.tsv"), "w") as f:
        f.write("pattern\tcommand\twhat\n")
        for name, program, pargs, what in patterns:
            f.write(f"{name}\t{' '.join([program] + [str(a) for a in pargs])}\t{what}\n")
    if patterns:
        log(f"patterns: {len(patterns)} patterns x {', '.join(VARIANTS)}, {args.rounds} rounds, "
            f"timeout {args.timeout:g} s a run")
        run_patterns(args, patterns)
    if not only or "noop" in only:
        run_noop(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
