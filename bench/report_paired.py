"""Tables of the paired benchmarks of issue #12: `bench_report.py patterns DIR`
(runs.tsv, noop.tsv, patterns.tsv of patterns_run.py) and `bench_report.py
realworld DIR` (runs.tsv, programs.tsv of realworld_run.py).

Every overhead is the median over rounds of a ratio between runs of the same
round, with the range of those ratios in brackets.
"""
import csv
import os
import statistics
from collections import defaultdict

MIB = 1024 * 1024

# Issue #12's targets: a ceiling on the median ratio to plain.
PATTERN_TARGET = {"default": 1.2, "exact": 2.0}
REALWORLD_TARGET = {"default": 1.05, "exact": 2.0}
PROCESS_HEAVY = {"exec_chain", "fork_exit", "make", "bash", "bash-fd3", "git"}  # issue: <= 1.5x default


def read_tsv(path):
    try:
        with open(path) as f:
            return list(csv.DictReader(f, delimiter="\t"))
    except OSError:
        return []


def fnum(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fratio(rs):
    if not rs:
        return "n/a"
    return f"{fnum(statistics.median(rs))}x ({fnum(min(rs))}-{fnum(max(rs))})"


def fsec(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmib(kib):
    return f"{kib / 1024:,.1f}"


def verdict(ratio, limit):
    return "met" if ratio <= limit else "**missed**"


# ---- patterns -----------------------------------------------------------------


def patterns(d):
    rows = read_tsv(os.path.join(d, "runs.tsv"))
    info = {r["pattern"]: r for r in read_tsv(os.path.join(d, "patterns.tsv"))}
    if not rows:
        print("No pattern runs (see the log).")
        print()
    else:
        patterns_tables(rows, info)
    noop(read_tsv(os.path.join(d, "noop.tsv")))


def patterns_tables(rows, info):
    by = defaultdict(lambda: defaultdict(dict))  # pattern -> round -> variant -> row
    order = []
    for r in rows:
        if r["pattern"] not in order:
            order.append(r["pattern"])
        by[r["pattern"]][r["round"]][r["variant"]] = r
    rounds = len({r["round"] for r in rows})
    failures, timeouts = [], []

    def ok(r):
        return r and r["status"] == "0" and r["timed_out"] == "0"

    def seconds(r, field):
        # The pattern's own timer when it printed one, else the whole process.
        v = r.get(field) or r.get("wall_s")
        return float(v) if v else None

    print(f"{rounds} rounds, each running plain, default and exact back to back (order rotated). "
          "**Time**: the pattern's own clock around its work (start-up and exit excluded: the do-nothing program "
          "below measures them); ratio = variant / plain of the same round, median (min-max) over rounds. "
          "**Process**: the same ratio of whole-process wall time. A run over the time limit is killed, shown as "
          "\"> N s (timeout)\", and not run again. Targets (issue #12): default <= 1.2x, exact <= 2x.")
    print()
    print("| pattern | plain time | default / plain | exact / plain | process: default / plain | process: exact / plain "
          "| target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    mem_lines = []
    for name in order:
        rnds = by[name]
        plain_work = [seconds(v["plain"], "work_s") for v in rnds.values() if ok(v.get("plain"))]
        plain_med = statistics.median(plain_work) if plain_work else None
        cells, pcells, verdicts = {}, {}, []
        for variant in ("default", "exact"):
            ratios, pratios, timed = [], [], None
            for rnd, v in sorted(rnds.items(), key=lambda kv: int(kv[0])):
                x, p = v.get(variant), v.get("plain")
                if x and x["timed_out"] == "1" and x["status"] != "skipped":
                    timed = x
                    timeouts.append(f"{name} {variant} (round {rnd})")
                elif x and not ok(x) and x["status"] != "skipped":
                    failures.append(f"{name} {variant} round {rnd}: exit status {x['status']}")
                if ok(x) and ok(p):
                    ratios.append(seconds(x, "work_s") / max(seconds(p, "work_s"), 1e-6))
                    pratios.append(float(x["wall_s"]) / float(p["wall_s"]))
            if timed is not None and not ratios:
                # wall_s of a killed run is the limit it was killed at.
                limit = float(timed["wall_s"])
                low = f" (> {fnum(limit / plain_med)}x)" if plain_med else ""
                cells[variant] = f"> {limit:.0f} s (timeout){low}"
                pcells[variant] = "timeout"
                verdicts.append(f"{variant} **missed**")
            else:
                cells[variant] = fratio(ratios) + (" (timed out once)" if timed is not None else "")
                pcells[variant] = fratio(pratios)
                if ratios:
                    verdicts.append(f"{variant} {verdict(statistics.median(ratios), PATTERN_TARGET[variant])}")
        print(f"| `{name}` | {fsec(plain_med) if plain_med is not None else 'n/a'} | {cells['default']} | "
              f"{cells['exact']} | {pcells['default']} | {pcells['exact']} | {', '.join(verdicts)} |")
        mem_lines.append(memory_row(name, rnds, ok))
    print()
    print("Peak RSS (MiB, median over rounds; the kernel's peak of the largest process of the run), and the "
          "tracker's own mapped memory read from the exit dump where the report asks for it:")
    print()
    print("| pattern | plain | default | default - plain | exact | exact - plain | tracker mapped (default / exact) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for line in mem_lines:
        print(line)
    print()
    print("What each pattern does (`bench/patterns/<program>.c`, run as `<program> ARGS`):")
    print()
    for name in order:
        i = info.get(name, {})
        print(f"- `{name}`: {i.get('what', '')} — `{i.get('command', '')}`")
    print()
    for t in timeouts:
        print(f"- timed out: {t}")
    for f in failures:
        print(f"- **FAILED: {f}**")
    if timeouts or failures:
        print()


def memory_row(name, rnds, ok):
    med = {}
    diffs = defaultdict(list)
    mapped = defaultdict(list)
    for variant in ("plain", "default", "exact"):
        vals = [int(v[variant]["maxrss_kib"]) for v in rnds.values() if ok(v.get(variant))]
        med[variant] = statistics.median(vals) if vals else None
    for v in rnds.values():
        for variant in ("default", "exact"):
            if ok(v.get(variant)) and ok(v.get("plain")):
                diffs[variant].append(int(v[variant]["maxrss_kib"]) - int(v["plain"]["maxrss_kib"]))
            if ok(v.get(variant)) and v[variant].get("tracker_mapped_bytes"):
                mapped[variant].append(int(v[variant]["tracker_mapped_bytes"]))

    def m(variant):
        return fmib(med[variant]) if med[variant] is not None else "n/a"

    def dm(variant):
        return f"{'+' if statistics.median(diffs[variant]) >= 0 else ''}{fmib(statistics.median(diffs[variant]))}" \
            if diffs[variant] else "n/a"

    tm = " / ".join(f"{statistics.median(mapped[v]) / MIB:.1f} MiB" if mapped[v] else "-" for v in ("default", "exact"))
    return f"| `{name}` | {m('plain')} | {m('default')} | {dm('default')} | {m('exact')} | {dm('exact')} | {tm} |"


def noop(rows):
    if not rows:
        return
    by = defaultdict(dict)
    for r in rows:
        if r["status"] == "0":
            by[r["round"]][r["variant"]] = r
    label = {
        "plain": "plain",
        "default": "default, exit dump on (LEAKTRACE_ON_EXIT=1)",
        "default_nodump": "default, exit dump off (LEAKTRACE_ON_EXIT=0)",
        "exact": "exact, exit dump on",
        "exact_nodump": "exact, exit dump off",
    }
    print(f"### Start-up cost: a program that does nothing ({len(by)} rounds)")
    print()
    print("`bench/patterns/noop.c` (`int main(void) { return 0; }`), each variant once per round, order rotated. "
          "The cost is the per-round difference to plain (median, min-max): the time to load and initialise the "
          "library, and to write the exit dump when it is on. CPU: the same difference of user+sys time, which "
          "waiting for a core on a loaded machine does not inflate. Target (issue #12): default <= 0.5 ms, 1 ms "
          "at most.")
    print()
    print("| variant | median wall (ms) | cost over plain (ms) | CPU cost over plain (ms) | peak RSS (MiB) "
          "| dumps per run |")
    print("|---|---:|---:|---:|---:|---:|")
    seen = {r["variant"] for r in rows}
    for v in [v for v in label if v in seen]:
        walls = [float(x[v]["wall_s"]) for x in by.values() if v in x]
        diffs = [float(x[v]["wall_s"]) - float(x["plain"]["wall_s"]) for x in by.values() if v in x and "plain" in x]
        rss = [int(x[v]["maxrss_kib"]) for x in by.values() if v in x]
        dumps = [int(x[v]["dump_files"]) for x in by.values() if v in x]
        cpu = [float(x[v]["cpu_s"]) - float(x["plain"]["cpu_s"]) for x in by.values() if v in x and "plain" in x]

        def spread(ds):
            return "-" if v == "plain" or not ds else \
                f"{statistics.median(ds) * 1000:+.2f} ({min(ds) * 1000:+.2f} to {max(ds) * 1000:+.2f})"
        print(f"| {label.get(v, v)} | {statistics.median(walls) * 1000:.2f} | {spread(diffs)} | {spread(cpu)} | "
              f"{fmib(statistics.median(rss))} | {statistics.median(dumps):.0f} |" if walls else f"| {v} | n/a | | | |")
    print()
    print("Plain wall time includes starting `measure_run` and `env` (the harness, the same in every variant); "
          "only the differences are the library's.")
    print()


# ---- realworld ----------------------------------------------------------------


def realworld(d):
    rows = read_tsv(os.path.join(d, "runs.tsv"))
    info = {r["program"]: r for r in read_tsv(os.path.join(d, "programs.tsv"))}
    if not rows:
        print("No real-program runs (see the log).")
        print()
        return
    by = defaultdict(lambda: defaultdict(dict))
    order = []
    for r in rows:
        if r["program"] not in order:
            order.append(r["program"])
        by[r["program"]][r["round"]][r["variant"]] = r
    rounds = len({r["round"] for r in rows})
    differs, failures, nondeterministic = [], [], []

    def ok(r):
        return r and r["status"] == "0" and r["timed_out"] == "0" and float(r["figure"]) > 0

    def cost(x, p):
        # > 1 is worse: time over plain's, or plain's throughput over ours.
        if x["unit"] == "req/s":
            return float(p["figure"]) / float(x["figure"])
        return float(x["figure"]) / float(p["figure"])

    for name in order:
        shas = {v["plain"]["output_sha256"] for v in by[name].values() if "plain" in v}
        if len(shas) > 1:
            nondeterministic.append(name)
        for rnd, v in sorted(by[name].items(), key=lambda kv: int(kv[0])):
            for variant in ("plain", "default", "exact"):
                x = v.get(variant)
                if not x:
                    continue
                if variant != "plain" and x["same_as_plain"] == "0":
                    differs.append(f"`{name}` {variant}, round {rnd}: output or exit status differs from plain "
                                   f"(exit {x['status']} vs {v['plain']['status']}; diff "
                                   f"`{name}/{variant}.{rnd}/stdout.txt` against `{name}/plain.{rnd}/stdout.txt` "
                                   "in the raw results)")
                elif not ok(x):
                    failures.append(f"`{name}` {variant}, round {rnd}: exit status {x['status']}"
                                    f"{', timed out' if x['timed_out'] == '1' else ''}"
                                    f"{', ' + x['note'] if x.get('note') else ''}")
                elif x.get("note"):
                    failures.append(f"`{name}` {variant}, round {rnd}: {x['note']}")
    if differs:
        print("**OUTPUT DIFFERS UNDER LEAKTRACE** (a failure: the program must behave exactly as without it):")
        print()
        for line in differs:
            print(f"- **{line}**")
        print()
    print(f"{rounds} rounds, each running plain, default and exact back to back (order rotated). Cost = wall time / "
          "plain's in the same round (servers: plain's requests/s / this variant's), so above 1 is slower; median "
          "(min-max) over rounds. CPU: user+sys of the program and its children, same ratio. Output: runs whose "
          "output (and exit status) equals the plain run's of the same round. Targets (issue #12): default <= 1.05x "
          "(<= 1.5x for programs made of process start-ups: git, bash, bash-fd3, make), exact <= 2x.")
    print()
    print("| program | plain | default cost | exact cost | CPU default / exact | peak RSS MiB plain / default / exact "
          "| same output | dumps per run (default / exact) | target |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---|")
    for name in order:
        rnds = by[name]
        unit = next(iter(rnds.values()))["plain"]["unit"] if "plain" in next(iter(rnds.values())) else "s"
        plain = [float(v["plain"]["figure"]) for v in rnds.values() if ok(v.get("plain"))]
        plain_cell = "n/a" if not plain else (f"{statistics.median(plain):,.0f} req/s" if unit == "req/s"
                                              else fsec(statistics.median(plain)))
        cells, cpu, same, dumps, verdicts, rss = {}, {}, {}, {}, [], {}
        for variant in ("default", "exact"):
            rs = [cost(v[variant], v["plain"]) for v in rnds.values() if ok(v.get(variant)) and ok(v.get("plain"))]
            cells[variant] = fratio(rs)
            cs = [float(v[variant]["cpu_s"]) / float(v["plain"]["cpu_s"]) for v in rnds.values()
                  if ok(v.get(variant)) and ok(v.get("plain")) and float(v["plain"]["cpu_s"]) > 0]
            cpu[variant] = fnum(statistics.median(cs)) + "x" if cs else "-"
            checked = [v[variant]["same_as_plain"] for v in rnds.values() if variant in v]
            n_same = sum(1 for c in checked if c == "1")
            same[variant] = f"{n_same}/{len(checked)}" if n_same == len(checked) else f"**{n_same}/{len(checked)}**"
            files = [int(v[variant]["dump_files"]) for v in rnds.values() if variant in v]
            size = [int(v[variant]["dump_bytes"]) for v in rnds.values() if variant in v]
            dumps[variant] = f"{statistics.median(files):.0f} ({statistics.median(size) / MIB:.1f} MiB)" if files else "-"
            if n_same < len(checked):
                verdicts.append(f"{variant} **output differs**")
            elif rs:
                limit = 1.5 if (variant == "default" and name in PROCESS_HEAVY) else REALWORLD_TARGET[variant]
                verdicts.append(f"{variant} {verdict(statistics.median(rs), limit)}")
        for variant in ("plain", "default", "exact"):
            vals = [int(v[variant]["maxrss_kib"]) for v in rnds.values() if ok(v.get(variant))]
            rss[variant] = fmib(statistics.median(vals)) if vals else "n/a"
        print(f"| {name} | {plain_cell} | {cells['default']} | {cells['exact']} | {cpu['default']} / {cpu['exact']} | "
              f"{rss['plain']} / {rss['default']} / {rss['exact']} | default {same['default']}, exact {same['exact']} "
              f"| {dumps['default']} / {dumps['exact']} | {', '.join(verdicts)} |")
    print()
    print("Commands (the tracker is in the program and every process it starts; load generators run plainly):")
    print()
    for name in order:
        print(f"- {name}: `{info.get(name, {}).get('command', '')}`")
    print()
    for name in nondeterministic:
        print(f"- note: `{name}`'s plain output was not the same in every round; its output check means little.")
    for f in failures:
        print(f"- **FAILED: {f}**")
    if nondeterministic or failures:
        print()
