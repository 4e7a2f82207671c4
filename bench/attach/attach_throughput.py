#!/usr/bin/env python3
"""What `leaktrace attach` costs a loaded server: redis-server's throughput
after the attach against before, relative to a second redis-server that is
never attached (the control).

Each run starts two redis-servers without the library (Debian's, on
libjemalloc: the attach rewrites the slots of a program whose allocator is
not glibc's), benchmarks both ROUNDS times at once (redis-benchmark -q -t
set,get,lpush,lpop, the two clients started together, their order swapped
every round), attaches to one of them while a benchmark loads it, takes a
snapshot, and benchmarks both ROUNDS times again. A round's figure is the
attached server's rate over the control's; the run's figure is the median
of its rounds after the attach over the median before. Whatever else the
machine does meets both servers alike and cancels out; what is left is the
attached server's own slowdown (1.00: none). Prints each run's figure, the
median over RUNS runs and the range, and how long the attach stopped the
borrowed thread.

  bench/attach/attach_throughput.py --cli build/cli/leaktrace --lib build/preload/libleaktrace.so \\
      [--runs 5] [--rounds 5] [--requests 20000]

tests/realworld/redis_attach_test.py does the same once, checking that no
request fails and the answers and dumps are right; the timing is here,
where a busy machine reads as noise rather than as a failed test.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TESTS = "set,get,lpush,lpop"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(server, work, env):
    os.makedirs(work)
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                 "no", "--daemonize", "no", "--dir", work, "--protected-mode", "no"],
                                env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                time.sleep(0.05)
        proc.kill()
        proc.wait()
    sys.exit("redis-server did not start")


def total_rate(out):
    rates = [float(m.group(1)) for m in re.finditer(r": ([0-9.]+) requests per second", out)]
    if len(rates) != 4:
        sys.exit(f"redis-benchmark printed {len(rates)} results, expected 4:\n{out[-2000:]}")
    return sum(rates)


def start_bench(tool, port, requests):
    return subprocess.Popen([tool, "-p", str(port), "-q", "-n", str(requests), "-t", TESTS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish_bench(b):
    out, _ = b.communicate(timeout=300)
    out = out.decode(errors="replace").replace("\r", "\n")
    if b.returncode != 0 or "rror" in out:
        sys.exit(f"redis-benchmark failed (exit {b.returncode}):\n{out[-2000:]}")
    return total_rate(out)


def relative_rates(tool, target, control, rounds, requests):
    ratios = []
    for r in range(rounds):
        order = [(target, "target"), (control, "control")]
        if r % 2:
            order.reverse()
        running = [(who, start_bench(tool, port, requests)) for port, who in order]
        rate = {who: finish_bench(b) for who, b in running}
        ratios.append(rate["target"] / rate["control"])
    return ratios


def one_run(args, tmp, n):
    env = dict(os.environ, LD_PRELOAD="")
    work = os.path.join(tmp, f"run{n}")
    dumps = os.path.join(work, "dumps")
    target, target_port = start_server(args.server, os.path.join(work, "target"), env)
    control, control_port = start_server(args.server, os.path.join(work, "control"), env)
    try:
        before = relative_rates(args.tool, target_port, control_port, args.rounds, args.requests)
        os.makedirs(dumps)
        loaded = start_bench(args.tool, target_port, args.requests * 2)
        time.sleep(0.5)
        r = subprocess.run([args.cli, "attach", "-o", dumps, str(target.pid)], capture_output=True, text=True,
                           env=dict(env, LEAKTRACE_LIBRARY=args.lib), timeout=60)
        if r.returncode != 0:
            sys.exit(f"leaktrace attach failed: {r.stderr.strip()}")
        stop_ms = float(re.search(r"stopped for ([0-9.]+) ms", r.stdout).group(1))
        s = subprocess.run([args.cli, "snapshot", str(target.pid)], capture_output=True, text=True, timeout=60)
        if s.returncode != 0:
            sys.exit(f"leaktrace snapshot failed: {s.stderr.strip()}")
        finish_bench(loaded)
        after = relative_rates(args.tool, target_port, control_port, args.rounds, args.requests)
    finally:
        for p in (target, control):
            p.terminate()
            p.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return statistics.median(after) / statistics.median(before), stop_ms, before, after


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5, help="benchmark rounds before and after the attach, each run")
    ap.add_argument("--requests", type=int, default=20000, help="requests per command, each round")
    ap.add_argument("--server", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    ap.add_argument("--tool", default=shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark")
    args = ap.parse_args()
    args.cli = os.path.realpath(args.cli)
    args.lib = os.path.realpath(args.lib)
    for exe in (args.server, args.tool):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} not found (Debian packages redis-server, redis-tools)")
    figures, stops = [], []
    with tempfile.TemporaryDirectory(prefix="leaktrace-attach-throughput-") as tmp:
        for n in range(args.runs):
            ratio, stop_ms, before, after = one_run(args, tmp, n)
            figures.append(ratio)
            stops.append(stop_ms)
            print(f"run {n + 1}: after / before {ratio:.3f} (rounds before "
                  f"{' '.join(f'{v:.2f}' for v in before)}, after {' '.join(f'{v:.2f}' for v in after)}); "
                  f"stopped {stop_ms:.1f} ms", flush=True)
    print(f"redis-server throughput after the attach relative to before, against a never-attached control, "
          f"{args.runs} runs: median {statistics.median(figures):.3f}, min {min(figures):.3f}, "
          f"max {max(figures):.3f}; attach stop median {statistics.median(stops):.1f} ms")


if __name__ == "__main__":
    main()
