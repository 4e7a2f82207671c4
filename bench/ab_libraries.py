#!/usr/bin/env python3
"""Two builds of libleaktrace.so against each other on one program, paired:

  bench/ab_libraries.py ROUNDS LIB_A[@0|@1] LIB_B[@0|@1] -- PROGRAM ARGS

Each round runs plain, then A and B in each mode of AB_MODES (default
"default,exact"), in an order rotated per round. A program that prints
"work_s SECONDS" (bench/patterns) is timed by that, others by wall time.
Prints per variant the median time, the median of the per-round ratios to
plain (range), the median CPU ratio (user+sys of the run and its children)
and the median CPU time over plain. "@0"/"@1" after a library sets
LEAKTRACE_ON_EXIT for it (default AB_ON_EXIT, else 1), so one library can be
compared with itself with and without its exit dump. AB_ENV_A and AB_ENV_B
add settings to A's and B's runs ("LEAKTRACE_SIGNAL=0 X=Y"), so one
library can be compared with itself under two settings."""
import os, subprocess, sys, tempfile, time, statistics, resource
rounds = int(sys.argv[1]); libs = {"A": sys.argv[2], "B": sys.argv[3]}
cmd = sys.argv[sys.argv.index("--") + 1:]
modes = [m for m in os.environ.get("AB_MODES", "default,exact").split(",") if m]
variants = ["plain"] + [f"{l}-{m}" for m in modes for l in "AB"]
res = {v: [] for v in variants}; cpu = {v: [] for v in variants}
base = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("LEAKTRACE_")}
for r in range(rounds):
    order = variants[r % len(variants):] + variants[:r % len(variants)]
    for v in order:
        env = dict(base)
        d = tempfile.mkdtemp()
        if v != "plain":
            l, m = v.split("-")
            lib, _, onexit = libs[l].partition("@")
            env.update(LD_PRELOAD=lib, LEAKTRACE_DIR=d, LEAKTRACE_ON_EXIT=onexit or os.environ.get("AB_ON_EXIT", "1"))
            if m == "exact": env["LEAKTRACE_SAMPLE"] = "1"
            env.update(kv.split("=", 1) for kv in os.environ.get("AB_ENV_" + l, "").split())
        t0 = time.monotonic(); r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        t1 = time.monotonic(); r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(["rm", "-rf", d])
        w = [float(x.split()[1]) for x in p.stdout.splitlines() if x.startswith("work_s ")]
        res[v].append(w[0] if w else t1 - t0)
        cpu[v].append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
for v in variants:
    ratios = [a / b for a, b in zip(res[v], res["plain"])]
    cr = [a / b if b > 0 else float('nan') for a, b in zip(cpu[v], cpu["plain"])]
    print(f"{v:10s} median {statistics.median(res[v])*1e3:9.2f} ms  ratio {statistics.median(ratios):6.3f} ({min(ratios):.2f}-{max(ratios):.2f})  cpu ratio {statistics.median(cr):6.3f}  cpu-plain {statistics.median([a-b for a,b in zip(cpu[v],cpu['plain'])])*1e3:+.2f} ms")
