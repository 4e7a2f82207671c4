"""redis-server (Debian's, on libjemalloc) under the library, driven by
redis-benchmark, with a snapshot mid-run; compared with a plain server."""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwlib import expect, fail, free_port, log, require_tool, run_test, wait_port  # noqa: E402

TESTS = "set,get,lpush,lpop"
REQUESTS = 20000


def parse_benchmark(out):
    """{command: requests per second} from `redis-benchmark -q` output."""
    result = {}
    for line in re.split(r"[\r\n]+", out):
        m = re.match(r"^\s*([A-Z][A-Z_ ]*?[A-Z0-9)]*(?: \([^)]*\))?): ([0-9.]+) requests per second", line)
        if m:
            result[m.group(1).strip()] = float(m.group(2))
    return result


def serve_and_bench(ctx, tag, dump_dir, env_settings):
    server = require_tool("redis-server", "redis-server")
    bench = require_tool("redis-benchmark", "redis-tools")
    cli = require_tool("redis-cli", "redis-tools")
    workdir = os.path.join(ctx.tmp, f"{tag}-work")
    os.makedirs(workdir)
    for attempt in range(5):
        port = free_port()
        env = ctx.env(dump_dir, **env_settings) if dump_dir else ctx.env()
        out_path = os.path.join(ctx.tmp, f"{tag}-server.log")
        log_f = open(out_path, "wb")
        proc = ctx.spawn([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--daemonize", "no", "--dir", workdir, "--protected-mode", "no"],
                         env=env, stdout=log_f, stderr=subprocess.STDOUT, cwd=workdir)
        if wait_port(port, proc, timeout=20):
            break
        ctx.wait(proc, 10, "redis-server")
        text = open(out_path, errors="replace").read()
        if "Address already in use" in text and attempt < 4:
            continue
        fail(f"[{tag}] redis-server did not start (exit {proc.returncode}):\n{text[-3000:]}")
    log(f"[{tag}] redis-server pid {proc.pid} on port {port}")

    b = ctx.spawn([bench, "-p", str(port), "-q", "-n", str(REQUESTS), "-t", TESTS],
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    snap = None
    if dump_dir:
        time.sleep(0.3)
        rc, path, err = ctx.snapshot(proc.pid, timeout=30)
        expect(rc == 0, f"[{tag}] leaktrace snapshot {proc.pid} exited {rc}: {err}")
        expect(os.path.isfile(path), f"[{tag}] leaktrace snapshot printed {path!r}, which is not a file")
        snap = path
        log(f"[{tag}] snapshot mid-run: {os.path.basename(path)} (benchmark "
            f"{'still running' if b.poll() is None else 'already done'})")
    try:
        out, _ = b.communicate(timeout=120)
    except Exception:
        fail(f"[{tag}] redis-benchmark did not finish within 120 s")
    out = out.decode(errors="replace")
    expect(b.returncode == 0, f"[{tag}] redis-benchmark exited {b.returncode}:\n{out[-3000:]}")
    results = parse_benchmark(out)
    log(f"[{tag}] benchmark: " + ", ".join(f"{k} {v:.0f}/s" for k, v in results.items()))

    _, dbsize, _ = ctx.run([cli, "-p", str(port), "dbsize"], timeout=20)
    _, llen, _ = ctx.run([cli, "-p", str(port), "llen", "mylist"], timeout=20)
    _, value, _ = ctx.run([cli, "-p", str(port), "--no-raw", "strlen", "key:__rand_int__"], timeout=20)
    state = (dbsize.strip(), llen.strip(), value.strip())

    rc, out2, err2 = ctx.run([cli, "-p", str(port), "shutdown", "nosave"], timeout=30, check=False)
    code = ctx.wait(proc, 30, "redis-server after SHUTDOWN NOSAVE")
    log_f.close()
    server_log = open(out_path, errors="replace").read()
    expect(code == 0, f"[{tag}] redis-server exited {code} after SHUTDOWN NOSAVE:\n{server_log[-3000:]}")
    return results, state, server_log, snap


def body(ctx):
    plain, plain_state, _, _ = serve_and_bench(ctx, "plain", None, {})
    dump_dir = os.path.join(ctx.tmp, "dumps")
    os.makedirs(dump_dir)
    traced, traced_state, server_log, snap = serve_and_bench(ctx, "leaktrace", dump_dir, {"sample": 1})

    expected = {"SET", "GET", "LPUSH", "LPOP"}
    expect(set(plain) == expected, f"plain redis-benchmark ran {sorted(plain)}, expected {sorted(expected)}")
    expect(set(traced) == set(plain), f"under leaktrace redis-benchmark ran {sorted(traced)}, plain {sorted(plain)}")
    expect(traced_state == plain_state, f"server state after the benchmark differs: "
                                        f"leaktrace (dbsize, llen, strlen) {traced_state}, plain {plain_state}")
    lt_lines = [l for l in server_log.splitlines() if l.startswith("leaktrace")]
    if lt_lines:
        log("leaktrace said on redis-server's stderr: " + " | ".join(lt_lines[:5]))

    # Debian's /usr/bin/redis-server is a symlink to redis-check-rdb (one binary,
    # it picks its role from argv[0]); dumps take the executable's real name.
    dumps = ctx.check_dumps(dump_dir, min_count=2, programs={"redis-server", "redis-check-rdb"})
    log("dump names: " + ", ".join(sorted(os.path.basename(d) for d in dumps)))
    pids = {pid for (_, pid, _, _) in dumps.values()}
    expect(len(pids) == 1, f"dumps from several pids: {sorted(pids)}")
    expect(snap in dumps, f"the snapshot {snap} is not among the dumps")
    seqs = sorted(seq for (_, _, seq, _) in dumps.values())
    expect(seqs == list(range(1, len(seqs) + 1)), f"dump sequence numbers {seqs} are not 1..n")
    final = max(dumps.items(), key=lambda kv: kv[1][2])[1][3]
    heap = sum(s["bytes"] for s in final["sites"] if s["resource"] == "heap")
    log(f"{len(dumps)} dumps, all readable; exit dump: {len(final['sites'])} sites, {heap} live heap bytes")
    expect(heap > 0, "the exit dump of redis-server (exact mode) shows no live heap at all")

    # Where redis-server's RSS went mid-run, with jemalloc's own figures.
    memory = dumps[snap][3].get("memory")
    expect(isinstance(memory, dict), f"the mid-run report has no memory object: {memory!r}")
    parts = ("heap", "allocator_free", "mmap", "thread_stacks", "leaktrace", "unexplained")
    expect(sum(memory[p] for p in parts) == memory["rss"], f"memory parts do not add up to rss: {memory}")
    expect(memory["allocator"] == "jemalloc", f"redis-server's allocator read as {memory['allocator']!r}")
    expect(0 < memory["heap"] <= memory["allocator_in_use"],
           f"tracked heap {memory['heap']} vs jemalloc's stats.allocated {memory['allocator_in_use']}")
    expect(memory["threads"] >= 1 and memory["thread_stacks"] > 0, f"no thread stacks found: {memory}")
    log("mid-run memory: " + ", ".join(f"{p} {memory[p]}" for p in ("rss",) + parts))


run_test("redis", body)
