"""Debian's python3 starting a pool of threading.Thread that block forever
between two snapshots, among threads that come and go (thread_pool.py): the
diff shows exactly +POOL threads, all at CPython's thread start called from
the script, and nothing else of resource thread."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwlib import expect, fail, log, run_test  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "thread_pool.py")
POOL = 16


def body(ctx):
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        fail("/usr/bin/python3 is not installed (Debian package python3, in deps/debian-packages.txt)")
    import subprocess
    dump_dir = os.path.join(ctx.tmp, "dumps")
    os.makedirs(dump_dir)
    p = ctx.spawn([python, SCRIPT], env=ctx.env(dump_dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  text=True)
    shots = []
    for name in ("before", "after"):
        line = p.stdout.readline().strip()
        expect(line == name, f"python3 printed {line!r}, expected {name!r}")
        rc, path, err = ctx.snapshot(p.pid)
        expect(rc == 0, f"leaktrace snapshot {p.pid} exited {rc}: {err}")
        shots.append(path)
        p.stdin.write("go\n")
        p.stdin.flush()
    expect(ctx.wait(p, 30, "python3") == 0, "python3 exited non-zero under the library")
    rc, out, err = ctx.run([ctx.cli, "diff", "--format", "json", *shots], check=False)
    expect(rc == 0, f"leaktrace diff exited {rc}: {err}")
    doc = json.loads(out)
    threads = [s for s in doc["sites"] if s["resource"] == "thread"]
    total = sum(s["count"] for s in threads)
    expect(total == POOL, f"thread growth {total}, expected {POOL}: {json.dumps(threads)[:2000]}")
    for s in threads:
        names = [f.get("function", "") for f in s["frames"]]
        expect(any("PyThread_start_new_thread" in n for n in names),
               f"a thread site not at CPython's thread start: {names[:8]}")
    expect(doc["summary"]["thread"]["count"] == POOL, f"summary: {doc['summary']}")
    log(f"diff: +{total} threads in {len(threads)} site(s), stacks {doc['summary']['thread']['bytes']} bytes")


run_test("python_threads", body)
