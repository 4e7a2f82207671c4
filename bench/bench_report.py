#!/usr/bin/env python3
"""Turns the raw results of scripts/bench.sh into markdown tables.

    bench_report.py micro DIR     bench_hooks / bench_core JSON (Google Benchmark)
    bench_report.py e2e DIR       runs.tsv of the churn comparison
    bench_report.py redis DIR     runs.tsv + dumps.tsv of the redis comparison
    bench_report.py sweep DIR     runs.tsv of the sampling-interval sweep
    bench_report.py stall DIR     windows.tsv of snapshot_stall
    bench_report.py profile DIR   perf report output
    bench_report.py patterns DIR  runs.tsv + noop.tsv of patterns_run.py
    bench_report.py realworld DIR runs.tsv of realworld_run.py

Every overhead figure is the median over rounds of a per-round ratio (or
difference) between variants measured back to back in that round.
"""
import csv
import glob
import json
import math
import os
import re
import statistics
import sys
from collections import defaultdict

MIB = 1024 * 1024


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_ns(v):
    if math.isnan(v):
        return "n/a"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def to_ns(b, field="cpu_time"):
    """Single-threaded microbenchmarks: CPU time, which preemption on a shared
    machine does not inflate. Snapshots: wall time (real_time), fsync included."""
    unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b[field] * unit


def fmt_bytes(n):
    n = float(n)
    if n >= MIB:
        return f"{n / MIB:.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n:.0f} B"


def load_benchmarks(d, name):
    """The benchmarks of DIR/NAME.json, or None (with a note) when the run failed."""
    failed = os.path.join(d, name + ".failed")
    if os.path.exists(failed):
        with open(failed) as f:
            print(f"**{f.read().strip()}**; results below are what it wrote before failing, if anything.")
            print()
    try:
        with open(os.path.join(d, name + ".json")) as f:
            return json.load(f)["benchmarks"]
    except (OSError, ValueError, KeyError):
        return None


def read_tsv(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def health(path):
    try:
        with open(path) as f:
            d = json.load(f)
        return d["dumps"][0].get("health", {}), d
    except (OSError, ValueError, KeyError, IndexError):
        return None, None


# ---- micro --------------------------------------------------------------------

HOOK_VARIANTS = [("plain", "plain"), ("default", "default (512k)"), ("sample64", "LEAKTRACE_SAMPLE=64"),
                 ("exact", "exact")]


def micro(d):
    # bench_hooks: per variant, per benchmark, the median over rounds.
    times = defaultdict(lambda: defaultdict(list))
    order = []
    for path in sorted(glob.glob(os.path.join(d, "hooks.*.json"))):
        variant = os.path.basename(path).split(".")[1]
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("run_type") == "aggregate":
                    continue
                name = b["name"]
                if name not in order:
                    order.append(name)
                ns = b["sec_per_free"] * 1e9 if "sec_per_free" in b else to_ns(b)
                times[name][variant].append(ns)
    print("## Microbenchmarks: the hooks (bench_hooks)")
    print()
    print("CPU ns per operation (median of the alternating rounds; in brackets: minus plain).")
    print("BM_FreeOnly is ns per free; BM_MallocFree/BM_SampledPath/BM_MallocAtDepth are one malloc+free.")
    print()
    print("| benchmark | " + " | ".join(label for _, label in HOOK_VARIANTS) + " |")
    print("|---|" + "---:|" * len(HOOK_VARIANTS))
    for name in order:
        plain = median(times[name]["plain"])
        cells = []
        for v, _ in HOOK_VARIANTS:
            m = median(times[name][v])
            cells.append(fmt_ns(m) if v == "plain" else f"{fmt_ns(m)} (+{fmt_ns(m - plain)})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()

    print("## Microbenchmarks: the library's insides (bench_core, exact mode)")
    print()
    benches = load_benchmarks(d, "core")
    if benches is not None:
        print("| benchmark | CPU ns per call (median of 3) |")
        print("|---|---:|")
        for b in benches:
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
                print(f"| {b['run_name']} | {fmt_ns(to_ns(b))} |")
        print()

    print("## Snapshot time (bench_core BM_Snapshot, exact mode)")
    print()
    benches = load_benchmarks(d, "snapshot")
    if benches is not None:
        print("`WriteSnapshot(kSignal)`: sum the shards, write stacks, sites, modules, health into the buffer,")
        print("write, fsync and rename. Live allocations spread over distinct stacks held by 32 threads' shards.")
        print()
        print("| live allocations | distinct stacks | shards | dump time (ms, wall) | (ms, CPU) | dump size "
              "| tracker mapped |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for b in benches:
            if b.get("run_type") == "aggregate":
                continue
            if b.get("error_occurred"):
                print(f"| {b['name']} | error: {b.get('error_message', '')} | | | | |")
                continue
            print(f"| {int(b['live_allocations']):,} | {int(b['stacks']):,} | {int(b['shards'])} | "
                  f"{to_ns(b, 'real_time') / 1e6:.1f} | {to_ns(b) / 1e6:.1f} | {fmt_bytes(b['dump_bytes'])} | {fmt_bytes(b['tracker_mapped_bytes'])} |")
        print()


# ---- e2e ----------------------------------------------------------------------


def e2e(d):
    rows = read_tsv(os.path.join(d, "runs.tsv"))
    by_round = defaultdict(dict)
    failures = []
    for r in rows:
        by_round[int(r["round"])][r["variant"]] = r
        if r["status"] != "0":
            failures.append(f"round {r['round']} {r['variant']}: exit status {r['status']}")
    variants = ["plain", "default", "exact", "heaptrack"]
    ratio = defaultdict(list)
    rss_delta = defaultdict(list)
    wall = defaultdict(list)
    rss = defaultdict(list)
    out_bytes = defaultdict(list)
    cpu_ratio = defaultdict(list)
    ht_over_exact = []
    ht_over_exact_cpu = []
    for rnd, runs in sorted(by_round.items()):
        if "plain" not in runs:
            continue
        p = float(runs["plain"]["wall_s"])
        for v in variants:
            if v not in runs:
                continue
            w = float(runs[v]["wall_s"])
            wall[v].append(w)
            rss[v].append(int(runs[v]["maxrss_kib"]))
            out_bytes[v].append(int(runs[v]["output_bytes"]))
            ratio[v].append(w / p)
            if float(runs["plain"].get("cpu_s") or 0) > 0:
                cpu_ratio[v].append(float(runs[v]["cpu_s"]) / float(runs["plain"]["cpu_s"]))
            rss_delta[v].append((int(runs[v]["maxrss_kib"]) - int(runs["plain"]["maxrss_kib"])) / 1024)
        if "exact" in runs and "heaptrack" in runs:
            ht_over_exact.append(float(runs["heaptrack"]["wall_s"]) / float(runs["exact"]["wall_s"]))
            if float(runs["exact"].get("cpu_s") or 0) > 0:
                ht_over_exact_cpu.append(float(runs["heaptrack"]["cpu_s"]) / float(runs["exact"]["cpu_s"]))
    n = len(ratio["plain"])
    print(f"{n} rounds. Ratio: this variant's wall time / the plain run's of the same round; "
          "median over rounds, (min-max) in brackets. CPU ratio: the same with user+sys seconds "
          "(heaptrack's include its interpreter process).")
    print()
    print("| variant | median wall (s) | wall ratio to plain | CPU ratio to plain | peak RSS (MiB) "
          "| RSS - plain (MiB) | output |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for v in variants:
        if not ratio[v]:
            continue
        r = ratio[v]
        rng = f" ({min(r):.3f}-{max(r):.3f})" if v != "plain" else ""
        outb = "-" if v == "plain" else fmt_bytes(median(out_bytes[v]))
        label = {"plain": "plain", "default": "leaktrace default (512k)", "exact": "leaktrace exact",
                 "heaptrack": "heaptrack"}[v]
        c = cpu_ratio[v]
        crng = f" ({min(c):.3f}-{max(c):.3f})" if c and v != "plain" else ""
        ccell = f"{median(c):.3f}{crng}" if c else "n/a"
        print(f"| {label} | {median(wall[v]):.3f} | {median(r):.3f}{rng} | {ccell} | {median(rss[v]) / 1024:.1f} | "
              f"{median(rss_delta[v]):+.1f} | {outb} |")
    print()
    if ht_over_exact:
        print(f"- heaptrack / leaktrace exact, wall time, per-round median: **{median(ht_over_exact):.2f}x** "
              f"(range {min(ht_over_exact):.2f}-{max(ht_over_exact):.2f})")
    if ht_over_exact_cpu:
        print(f"- heaptrack / leaktrace exact, CPU time, per-round median: **{median(ht_over_exact_cpu):.2f}x** "
              f"(range {min(ht_over_exact_cpu):.2f}-{max(ht_over_exact_cpu):.2f})")
    if out_bytes["heaptrack"] and out_bytes["exact"]:
        ht = median(out_bytes["heaptrack"])
        for v in ("exact", "default"):
            if out_bytes[v] and median(out_bytes[v]) > 0:
                print(f"- heaptrack output / leaktrace {v} dump: **{ht / median(out_bytes[v]):,.0f}x** "
                      f"({fmt_bytes(ht)} vs {fmt_bytes(median(out_bytes[v]))})")
    for v in ("default", "exact"):
        h, _ = health(os.path.join(d, f"report.{v}.json"))
        if h is None:
            print(f"- {v}: no `leaktrace report --format json` output for round 1")
            continue
        mapped = h.get("tracker_mapped_bytes")
        print(f"- {v}: dump health `tracker_mapped_bytes` = {fmt_bytes(mapped) if mapped is not None else 'absent'}, "
              f"shards {h.get('shards')}, stacks {h.get('stacks')}, dropped stacks/sites "
              f"{h.get('dropped_stacks')}/{h.get('dropped_sites')}")
    for f in failures:
        print(f"- FAILED: {f}")
    print()


# ---- sweep --------------------------------------------------------------------


def sweep(d):
    rows = read_tsv(os.path.join(d, "runs.tsv"))
    by_round = defaultdict(dict)
    variants = []
    failures = []
    for r in rows:
        by_round[int(r["round"])][r["variant"]] = r
        if r["variant"] not in variants:
            variants.append(r["variant"])
        if r["status"] != "0":
            failures.append(f"round {r['round']} {r['variant']}: exit status {r['status']}")
    ratio = defaultdict(list)
    cpu_ratio = defaultdict(list)
    rss_delta = defaultdict(list)
    for rnd, runs in sorted(by_round.items()):
        if "plain" not in runs:
            continue
        p = runs["plain"]
        for v, run in runs.items():
            ratio[v].append(float(run["wall_s"]) / float(p["wall_s"]))
            if float(p["cpu_s"]) > 0:
                cpu_ratio[v].append(float(run["cpu_s"]) / float(p["cpu_s"]))
            rss_delta[v].append((int(run["maxrss_kib"]) - int(p["maxrss_kib"])) / 1024)
    print(f"{len(ratio['plain'])} rounds, each running every variant once in turn. Ratios to the plain run "
          "of the same round; median over rounds, (min-max) in brackets.")
    print()
    print("| variant (LEAKTRACE_SAMPLE) | wall ratio to plain | CPU ratio to plain | RSS - plain (MiB) | stacks | tracker mapped |")
    print("|---|---:|---:|---:|---:|---:|")
    labels = {"floor": "floor: do-nothing interposer", "1g": "1g (hooks, almost no samples)"}

    def order(v):
        m = re.fullmatch(r"(\d+)([km]?)", v)
        size = int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20}[m.group(2)] if m else 0
        return ({"plain": 0, "floor": 1, "1g": 2}.get(v, 3), -size)

    variants.sort(key=order)
    for v in variants:
        if v == "plain" or not ratio[v]:
            continue
        r, c = ratio[v], cpu_ratio[v]
        h, _ = health(os.path.join(d, f"report.{v}.json"))
        stacks = h.get("stacks") if h else "n/a"
        mapped = fmt_bytes(h["tracker_mapped_bytes"]) if h and "tracker_mapped_bytes" in h else "n/a"
        ccell = f"{median(c):.3f} ({min(c):.3f}-{max(c):.3f})" if c else "n/a"
        print(f"| {labels.get(v, v)} | {median(r):.3f} ({min(r):.3f}-{max(r):.3f}) | {ccell} | {median(rss_delta[v]):+.1f} "
              f"| {stacks} | {mapped} |")
    print()
    # leaktrace's own share: each leaktrace variant over the do-nothing
    # interposer of the same round (what is left once the price of
    # interposing malloc at all is taken out).
    for v in variants:
        if v in ("plain", "floor"):
            continue
        share = [float(runs[v]["wall_s"]) / float(runs["floor"]["wall_s"]) for runs in by_round.values()
                 if v in runs and "floor" in runs]
        cpu_share = [float(runs[v]["cpu_s"]) / float(runs["floor"]["cpu_s"]) for runs in by_round.values()
                     if v in runs and "floor" in runs and float(runs["floor"]["cpu_s"]) > 0]
        if share:
            print(f"- leaktrace's own share at {v} (wall / floor, per round): {100 * (median(share) - 1):+.1f} % "
                  f"(range {100 * (min(share) - 1):+.1f} to {100 * (max(share) - 1):+.1f} %)"
                  + (f"; by CPU time: {100 * (median(cpu_share) - 1):+.1f} % (range {100 * (min(cpu_share) - 1):+.1f} "
                     f"to {100 * (max(cpu_share) - 1):+.1f} %)" if cpu_share else ""))
    print()
    fixed = read_tsv(os.path.join(d, "fixed.tsv")) if os.path.exists(os.path.join(d, "fixed.tsv")) else []
    by_round = defaultdict(dict)
    for r in fixed:
        by_round[r["round"]][r["variant"]] = float(r["wall_s"])
    extra = [v["default"] - v["plain"] for v in by_round.values() if "default" in v and "plain" in v]
    if extra:
        plain_wall = median([float(r["wall_s"]) for r in rows if r["variant"] == "plain"])
        print(f"- fixed cost (loading the library, start-up, exit dump), per run: {median(extra) * 1000:.1f} ms "
              f"(median of {len(extra)} paired runs of one operation per thread), "
              f"{100 * median(extra) / plain_wall:.1f} % of the plain run above")
    for threads in (4, 64):
        h, _ = health(os.path.join(d, f"threads.{threads}.json"))
        if h is None:
            print(f"- default mode, {threads} threads: no report")
            continue
        print(f"- default mode, churn_workload --threads {threads}: `tracker_mapped_bytes` "
              f"{fmt_bytes(h.get('tracker_mapped_bytes', 0))} (of which unwind caches "
              f"{fmt_bytes(h.get('unwind_cache_bytes', 0))}), shards {h.get('shards')}, stacks {h.get('stacks')}")
    for f in failures:
        print(f"- FAILED: {f}")
    print()


# ---- stall --------------------------------------------------------------------


def stall(d):
    windows = []
    header = {}
    try:
        with open(os.path.join(d, "windows.tsv")) as f:
            for line in f:
                fields = dict(kv.split("=", 1) for kv in line.strip().split("\t") if "=" in kv)
                (windows.append if "window" in fields else header.update)(fields)
    except OSError:
        pass
    if not windows:
        print("No windows were measured (see stderr in the raw results).")
        print()
        return
    print(f"{header.get('live', '?')} live allocations over {header.get('stacks', '?')} distinct stacks. "
          "A snapshot's window runs from SIGUSR2 until its dump file is in place; each is followed by a quiet "
          "window of the same length. Meanwhile one thread times malloc+free pairs back to back: its longest "
          "pair is the longest the program was held up.")
    print()
    print("| snapshot | dump time (ms, wall) | pairs timed | longest pair (us) | quiet window: longest pair (us) |")
    print("|---:|---:|---:|---:|---:|")
    snaps = [w for w in windows if w["window"] == "snapshot"]
    quiet = {w["index"]: w for w in windows if w["window"] == "quiet"}
    for w in snaps:
        q = quiet.get(w["index"])
        print(f"| {int(w['index']) + 1} | {float(w['ms']):.1f} | {int(w['pairs']):,} | {float(w['longest_us']):.1f} "
              f"| {float(q['longest_us']):.1f} |" if q else "| - |")
    print()
    longest = max(float(w["longest_us"]) for w in snaps)
    print(f"- dump time: median {median([float(w['ms']) for w in snaps]):.1f} ms, "
          f"longest {max(float(w['ms']) for w in snaps):.1f} ms")
    print(f"- longest malloc+free pair while a snapshot was written: {longest / 1000:.2f} ms "
          f"(quiet windows: {max(float(q['longest_us']) for q in quiet.values()) / 1000:.2f} ms)"
          if quiet else f"- longest pair during snapshots: {longest / 1000:.2f} ms")
    print()


# ---- redis --------------------------------------------------------------------


def redis(d):
    rows = read_tsv(os.path.join(d, "runs.tsv"))
    rps = defaultdict(lambda: defaultdict(dict))  # round -> variant -> test -> rps
    tests = []
    for r in rows:
        t = r["test"].strip()
        if t not in tests:
            tests.append(t)
        rps[int(r["round"])][r["variant"]][t] = float(r["rps"])
    ratios = defaultdict(lambda: defaultdict(list))
    raw = defaultdict(lambda: defaultdict(list))
    overall = defaultdict(list)
    for rnd, by_v in sorted(rps.items()):
        plain = by_v.get("plain", {})
        for v, by_t in by_v.items():
            logs = []
            for t, x in by_t.items():
                raw[v][t].append(x)
                if t in plain and plain[t] > 0:
                    ratios[v][t].append(x / plain[t])
                    logs.append(math.log(x / plain[t]))
            # The all-tests figure only for rounds where every test completed.
            if logs and v != "plain" and len(logs) == len(plain):
                overall[v].append(math.exp(sum(logs) / len(logs)))
    n = len(rps)
    print(f"{n} rounds. Throughput ratio: requests/s under leaktrace / plain in the same round; "
          "median over rounds, (min-max).")
    print()
    print("| test | plain (req/s) | default (req/s) | default / plain | exact (req/s) | exact / plain |")
    print("|---|---:|---:|---:|---:|---:|")

    def cell(v, t):
        r = ratios[v][t]
        short = f", {len(r)} of {n} rounds" if len(r) < n else ""
        return f"{median(r):.3f} ({min(r):.3f}-{max(r):.3f}{short})" if r else "n/a (never completed)"

    def rps_cell(v, t):
        return f"{median(raw[v][t]):,.0f}" if raw[v][t] else "-"

    for t in tests:
        print(f"| {t} | {rps_cell('plain', t)} | {rps_cell('default', t)} | {cell('default', t)} | "
              f"{rps_cell('exact', t)} | {cell('exact', t)} |")
    go = {v: overall[v] for v in ("default", "exact") if overall[v]}
    if go:
        print("| **all four (geometric mean)** | | | " +
              (f"**{median(go['default']):.3f}** ({min(go['default']):.3f}-{max(go['default']):.3f})"
               if "default" in go else "n/a") + " | | " +
              (f"**{median(go['exact']):.3f}** ({min(go['exact']):.3f}-{max(go['exact']):.3f})"
               if "exact" in go else "n/a") + " |")
    print()
    dumps_path = os.path.join(d, "dumps.tsv")
    if os.path.exists(dumps_path):
        drows = read_tsv(dumps_path)
        for v in ("default", "exact"):
            sizes = [int(r["dump_bytes"]) for r in drows if r["variant"] == v]
            if sizes:
                print(f"- {v}: exit dump {fmt_bytes(median(sizes))} (median)")
        for v in ("plain", "default", "exact"):
            runs = [r for r in drows if r["variant"] == v]
            bad = [r for r in runs if r["server_status"] != "0"]
            if bad:
                print(f"- **{v}: the server died in {len(bad)} of {len(runs)} runs** (exit status "
                      f"{', '.join(sorted(set(r['server_status'] for r in bad)))}; see redis.log in the raw results)")
            nodump = [r for r in runs if v != "plain" and r["server_status"] == "0" and r["dump_bytes"] == "0"]
            if nodump:
                print(f"- {v}: no exit dump in {len(nodump)} of {len(runs)} clean runs")
    for v in ("default", "exact"):
        h, doc = health(os.path.join(d, f"report.{v}.json"))
        if h is not None:
            heap = doc.get("summary", {}).get("heap", {})
            print(f"- {v}: `tracker_mapped_bytes` {fmt_bytes(h.get('tracker_mapped_bytes', 0))}, "
                  f"stacks {h.get('stacks')}, live heap at exit {fmt_bytes(heap.get('bytes', 0))}")
    print()


# ---- profile ------------------------------------------------------------------


def profile(d):
    path = os.path.join(d, "by_dso.txt")
    shares = []
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*([\d.]+)%\s+(.+?)\s*$", line)
            if m:
                shares.append((float(m.group(1)), m.group(2)))

    def group(dso):
        if "libunwind" in dso:
            return "libunwind (DWARF unwinding)"
        if "libleaktrace" in dso:
            return "libleaktrace.so (hooks, hashing, shards)"
        if dso.startswith("libc.so") or dso.startswith("libc-"):
            return "libc (glibc malloc/free, memcpy ...)"
        if "churn_workload" in dso:
            return "churn_workload (the program)"
        if "kernel" in dso:
            return "kernel"
        return "other: " + dso

    totals = defaultdict(float)
    for pct, dso in shares:
        totals[group(dso)] += pct
    print("| module | share of samples |")
    print("|---|---:|")
    for g, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {g} | {pct:.1f} % |")
    print()
    sym = os.path.join(d, "by_symbol.txt")
    if os.path.exists(sym):
        print("Top symbols (self):")
        print()
        print("```")
        count = 0
        with open(sym) as f:
            for line in f:
                if re.match(r"\s*[\d.]+%", line):
                    print(line.rstrip()[:110])
                    count += 1
                    if count == 15:
                        break
        print("```")
        print()


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import report_paired  # the paired tables of issue #12, kept apart from this file's
    modes = {"micro": micro, "e2e": e2e, "redis": redis, "sweep": sweep, "stall": stall, "profile": profile,
             "patterns": report_paired.patterns, "realworld": report_paired.realworld}
    if len(sys.argv) != 3 or sys.argv[1] not in modes:
        print(__doc__, file=sys.stderr)
        return 2
    modes[sys.argv[1]](sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
