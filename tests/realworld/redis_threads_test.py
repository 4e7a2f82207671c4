"""redis-server (Debian's) with I/O threads under the library: every thread
the program started through pthread_create is counted, no more and no less
than the kernel shows (its tasks, less the main thread, leaktrace's dumper
and jemalloc's background threads, which jemalloc starts past the hooks;
docs/resources.md), before and after a redis-benchmark load, and the load
leaves the thread count where it was."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwlib import expect, fail, free_port, log, require_tool, run_test, wait_port  # noqa: E402

NOT_THE_PROGRAMS = {"leaktrace-dump", "jemalloc_bg_thd"}


def program_threads(pid):
    """Threads of pid other than the main one, leaktrace's and jemalloc's."""
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        if int(tid) == pid:
            continue
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass  # ended meanwhile
    return sorted(n for n in names if n not in NOT_THE_PROGRAMS)


def body(ctx):
    server = require_tool("redis-server", "redis-server")
    bench = require_tool("redis-benchmark", "redis-tools")
    dump_dir = os.path.join(ctx.tmp, "dumps")
    workdir = os.path.join(ctx.tmp, "work")
    os.makedirs(dump_dir)
    os.makedirs(workdir)
    for attempt in range(5):
        port = free_port()
        proc = ctx.spawn([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--daemonize", "no", "--dir", workdir, "--protected-mode", "no", "--io-threads", "4",
                          "--io-threads-do-reads", "yes"],
                         env=ctx.env(dump_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
        if wait_port(port, proc, timeout=20):
            break
        ctx.wait(proc, 10, "redis-server")
        if attempt == 4:
            fail("redis-server did not start")

    def snapshot_and_count(tag):
        time.sleep(0.3)
        kernel = program_threads(proc.pid)
        rc, path, err = ctx.snapshot(proc.pid, timeout=30)
        expect(rc == 0, f"[{tag}] leaktrace snapshot {proc.pid} exited {rc}: {err}")
        expect(program_threads(proc.pid) == kernel, f"[{tag}] redis started or ended a thread during the snapshot")
        doc = ctx.report_json([path])
        tracked = sum(s["count"] for s in doc["sites"] if s["resource"] == "thread")
        expect(tracked == len(kernel), f"[{tag}] {tracked} threads tracked, the kernel shows {len(kernel)}: {kernel}")
        log(f"[{tag}] {tracked} threads tracked = the kernel's {kernel}")
        return path

    before = snapshot_and_count("before")
    ctx.run([bench, "-p", str(port), "-q", "-n", "2000", "-c", "20", "-t", "set,get"], timeout=120)
    after = snapshot_and_count("after")
    rc, out, err = ctx.run([ctx.cli, "diff", "--format", "json", before, after], check=False)
    expect(rc == 0, f"leaktrace diff exited {rc}: {err}")
    growth = json.loads(out)["summary"]["thread"]["count"]
    expect(growth == 0, f"thread growth {growth} over a load that leaks none")


run_test("redis_threads", body)
