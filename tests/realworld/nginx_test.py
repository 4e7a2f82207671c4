"""nginx (Debian's nginx-light) with a master and two workers under the
library, loaded by wrk, stopped with SIGQUIT; compared with a plain nginx.

Two tests share this script:
  --mode rtsig   LEAKTRACE_SIGNAL=SIGRTMIN+3: snapshot of a worker mid-load,
                 every worker writes its own dump.
  --mode sigusr2 the default snapshot signal, SIGUSR2, which nginx uses itself
                 (binary upgrade in the master; workers log and ignore it).
                 nginx's meaning of SIGUSR2 must win, and the library must say
                 once on stderr that it steps aside.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwlib import (children_of, expect, fail, free_port, log, require_tool, run_test,  # noqa: E402
                   wait_port)

WRK_SECONDS = 3


def write_config(root, port):
    www = os.path.join(root, "www")
    os.makedirs(www, exist_ok=True)
    payload = b"".join(b"leaktrace realworld line %05d\n" % i for i in range(400))  # ~12 KiB
    with open(os.path.join(www, "file"), "wb") as f:
        f.write(payload)
    temp = os.path.join(root, "temp")
    os.makedirs(temp, exist_ok=True)
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off;
master_process on;
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log notice;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location / {{ root {www}; }}
    }}
}}
""")
    return conf, payload


def parse_wrk(out):
    m = re.search(r"(\d+) requests in", out)
    requests = int(m.group(1)) if m else 0
    socket_errors = re.search(r"Socket errors:.*", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests, socket_errors.group(0) if socket_errors else None, int(non2xx.group(1)) if non2xx else 0


def start_nginx(ctx, tag, env):
    nginx = require_tool("nginx", "nginx-light")
    for attempt in range(5):
        root = os.path.join(ctx.tmp, f"{tag}-{attempt}")
        os.makedirs(root)
        port = free_port()
        conf, payload = write_config(root, port)
        err_path = os.path.join(root, "stderr.log")
        err_f = open(err_path, "wb")
        proc = ctx.spawn([nginx, "-p", root + "/", "-c", conf, "-e", os.path.join(root, "error.log")],
                         env=env, stdout=err_f, stderr=subprocess.STDOUT, cwd=root)
        if wait_port(port, proc, timeout=20):
            err_f.close()
            break
        ctx.wait(proc, 10, "nginx")
        err_f.close()
        text = open(err_path, errors="replace").read() + open(os.path.join(root, "error.log"), errors="replace").read()
        if "Address already in use" in text and attempt < 4:
            continue
        fail(f"[{tag}] nginx did not start (exit {proc.returncode}):\n{text[-3000:]}")
    # Wait for both workers.
    deadline = time.monotonic() + 10
    workers = []
    while time.monotonic() < deadline:
        workers = children_of(proc.pid)
        if len(workers) >= 2:
            break
        time.sleep(0.05)
    expect(len(workers) == 2, f"[{tag}] nginx master {proc.pid} has {len(workers)} children, expected 2 workers")
    log(f"[{tag}] nginx master {proc.pid}, workers {workers}, port {port}")
    return proc, root, port, payload, workers, err_path


def fetch(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/file", timeout=10) as r:
        return r.status, r.read()


def run_wrk(ctx, port, seconds):
    wrk = require_tool("wrk", "wrk")
    return ctx.spawn([wrk, "-t2", "-c20", f"-d{seconds}s", f"http://127.0.0.1:{port}/file"],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish_wrk(ctx, tag, w):
    try:
        out, _ = w.communicate(timeout=WRK_SECONDS + 30)
    except subprocess.TimeoutExpired:
        fail(f"[{tag}] wrk did not finish")
    out = out.decode(errors="replace")
    expect(w.returncode == 0, f"[{tag}] wrk exited {w.returncode}:\n{out}")
    requests, socket_errors, non2xx = parse_wrk(out)
    log(f"[{tag}] wrk: {requests} requests, socket errors: {socket_errors or 'none'}, non-2xx: {non2xx}")
    expect(requests > 0, f"[{tag}] wrk made no requests:\n{out}")
    expect(socket_errors is None, f"[{tag}] wrk reported {socket_errors}:\n{out}")
    expect(non2xx == 0, f"[{tag}] wrk got {non2xx} non-2xx responses:\n{out}")
    return requests


ALLOWED_LOG = ("the changing binary signal is ignored",)


def quit_nginx(ctx, tag, proc, root):
    os.kill(proc.pid, signal.SIGQUIT)
    code = ctx.wait(proc, 30, f"[{tag}] nginx master after SIGQUIT")
    error_log = open(os.path.join(root, "error.log"), errors="replace").read()
    expect(code == 0, f"[{tag}] nginx exited {code} after SIGQUIT:\n{error_log[-3000:]}")
    serious = [l for l in error_log.splitlines()
               if re.search(r"\[(alert|crit|emerg|error)\]", l) and not any(a in l for a in ALLOWED_LOG)]
    expect(not serious, f"[{tag}] nginx logged errors:\n" + "\n".join(serious[:20]))
    return error_log


def plain_run(ctx):
    proc, root, port, payload, _, _ = start_nginx(ctx, "plain", ctx.env())
    status, body = fetch(port)
    expect(status == 200 and body == payload, f"[plain] GET /file gave {status}, {len(body)} bytes")
    finish_wrk(ctx, "plain", run_wrk(ctx, port, 1))
    quit_nginx(ctx, "plain", proc, root)


def make_dump_dir(ctx, name):
    d = os.path.join(ctx.tmp, name)
    os.makedirs(d)
    # Workers drop privileges to `nobody` (nginx's default `user` when the
    # master runs as root): they must be able to write their dumps.
    os.chmod(d, 0o1777)
    return d


def leaktrace_lines(path):
    return [l for l in open(path, errors="replace").read().splitlines() if "leaktrace" in l]


def body_rtsig(ctx):
    os.chmod(ctx.tmp, 0o755)
    plain_run(ctx)
    dump_dir = make_dump_dir(ctx, "dumps")
    env = ctx.env(dump_dir, signal="SIGRTMIN+3")
    proc, root, port, payload, workers, err_path = start_nginx(ctx, "leaktrace", env)
    status, body = fetch(port)
    expect(status == 200 and body == payload, f"[leaktrace] GET /file gave {status}, {len(body)} bytes")
    w = run_wrk(ctx, port, WRK_SECONDS)
    time.sleep(1.0)
    rc, snap, err = ctx.snapshot(workers[0], timeout=20)
    expect(rc == 0, f"leaktrace snapshot {workers[0]} (an nginx worker) exited {rc}: {err}")
    expect(os.path.isfile(snap), f"leaktrace snapshot printed {snap!r}, not a file")
    expect(f".{workers[0]}." in os.path.basename(snap), f"snapshot of worker {workers[0]} is {snap}")
    log(f"[leaktrace] worker snapshot mid-load: {os.path.basename(snap)}")
    finish_wrk(ctx, "leaktrace", w)
    expect(sorted(children_of(proc.pid)) == workers, "nginx workers changed during the load (a worker died?)")
    quit_nginx(ctx, "leaktrace", proc, root)
    for line in leaktrace_lines(err_path):
        log(f"[leaktrace] nginx stderr: {line}")

    dumps = ctx.check_dumps(dump_dir, min_count=4, programs={"nginx"})
    names = sorted(os.path.basename(d) for d in dumps)
    log(f"[leaktrace] {len(dumps)} dumps, all readable: {names}")
    by_pid = {}
    for (_, pid, seq, _) in dumps.values():
        by_pid.setdefault(pid, []).append(seq)
    for pid in workers:
        expect(pid in by_pid, f"worker {pid} wrote no dump (dumps: {names})")
    expect(proc.pid in by_pid, f"the master {proc.pid} wrote no exit dump (dumps: {names})")
    expect(sorted(by_pid[workers[0]]) == [1, 2], f"worker {workers[0]}: dumps {sorted(by_pid[workers[0]])}, "
                                                 f"expected the snapshot (1) and the exit dump (2)")
    expect(set(by_pid) == {proc.pid, *workers}, f"dumps from unexpected pids {sorted(by_pid)}")
    merged = ctx.report_json(sorted(dumps))
    log(f"[leaktrace] merged report of all {len(dumps)} dumps: {len(merged['sites'])} sites")


def body_sigusr2(ctx):
    os.chmod(ctx.tmp, 0o755)
    dump_dir = make_dump_dir(ctx, "dumps")
    # Default snapshot signal: SIGUSR2. Verbose, as `leaktrace run` sets it:
    # then the library says where snapshots moved (without it, nothing).
    env = ctx.env(dump_dir, verbose=1)
    proc, root, port, payload, workers, err_path = start_nginx(ctx, "sigusr2", env)
    w = run_wrk(ctx, port, 1)
    finish_wrk(ctx, "sigusr2", w)

    # A worker: nginx's handler logs "signal 12 (SIGUSR2) received ..., ignoring".
    # If leaktrace's handler were still in place, the worker would dump instead.
    before = set(os.listdir(dump_dir))
    os.kill(workers[0], signal.SIGUSR2)
    deadline = time.monotonic() + 5
    error_log_path = os.path.join(root, "error.log")
    seen = False
    while time.monotonic() < deadline and not seen:
        seen = re.search(rf"signal 12 \(SIGUSR2\) received.*ignoring", open(error_log_path).read()) is not None
        time.sleep(0.05)
    new = set(os.listdir(dump_dir)) - before
    expect(seen, f"nginx worker {workers[0]} did not log SIGUSR2 as its own (\"... ignoring\"); "
                 f"new dumps: {sorted(new)}")
    expect(not new, f"SIGUSR2 to an nginx worker wrote a leaktrace dump {sorted(new)}: leaktrace's handler "
                    f"replaced nginx's")
    log(f"[sigusr2] worker {workers[0]} handled SIGUSR2 itself (logged, ignored), no dump")

    # The master: SIGUSR2 is nginx's binary upgrade. With `daemon off` and its
    # parent (this script) alive, nginx refuses it and says so in its log
    # ("received ..., ignoring" and "the changing binary signal is ignored"),
    # plain or not. Either way it is nginx's handler that runs: no dump.
    before = set(os.listdir(dump_dir))
    os.kill(proc.pid, signal.SIGUSR2)
    deadline = time.monotonic() + 5
    pattern = rf"{proc.pid}#{proc.pid}: signal 12 \(SIGUSR2\) received"
    seen = False
    while time.monotonic() < deadline and not seen:
        seen = re.search(pattern, open(error_log_path).read()) is not None
        time.sleep(0.05)
    new = set(os.listdir(dump_dir)) - before
    expect(seen, f"nginx master {proc.pid} did not log SIGUSR2 as its own; new dumps: {sorted(new)}; "
                 f"error.log:\n{open(error_log_path).read()[-2000:]}")
    expect(not new, f"SIGUSR2 to the nginx master wrote a leaktrace dump {sorted(new)}")
    log(f"[sigusr2] master {proc.pid} handled SIGUSR2 itself (binary upgrade logic), no dump")
    status, body = fetch(port)
    expect(status == 200 and body == payload, f"[sigusr2] GET /file after SIGUSR2 gave {status}")
    expect(children_of(proc.pid) == workers, f"workers changed after SIGUSR2: {children_of(proc.pid)} vs {workers}")

    # What `leaktrace snapshot` makes of a process whose snapshot signal the
    # program took over: it must not hang for long nor kill it.
    rc, snap, err = ctx.snapshot(workers[1], timeout=3)
    log(f"[sigusr2] leaktrace snapshot {workers[1]} -> exit {rc}: {snap or err}")
    expect(rc != 0 or os.path.isfile(snap), f"leaktrace snapshot said {snap!r} but there is no such file")
    expect(children_of(proc.pid) == workers, "a worker died after leaktrace snapshot")
    workers_after = children_of(proc.pid)
    quit_nginx(ctx, "sigusr2", proc, root)

    lines = leaktrace_lines(err_path)
    for line in lines:
        log(f"[sigusr2] nginx stderr: {line}")
    dumps = ctx.check_dumps(dump_dir, min_count=3, programs={"nginx"})
    names = sorted(os.path.basename(d) for d in dumps)
    log(f"[sigusr2] {len(dumps)} dumps, all readable: {names}")
    pids = {pid for (_, pid, _, _) in dumps.values()}
    expect(proc.pid in pids and all(w in pids for w in workers),
           f"expected exit dumps from master {proc.pid} and workers {workers}: {names}")
    # Verbose, the library tells the user, once, that nginx handles SIGUSR2 itself.
    stepped_aside = [l for l in lines if re.search(r"installs its own handler for signal 12", l)]
    expect(stepped_aside, "nginx installed its own SIGUSR2 handler, but the library said nothing about stepping "
                          "aside on stderr under LEAKTRACE_VERBOSE=1 (expected one line 'the program installs its "
                          "own handler for signal 12: ...')")
    expect(len(stepped_aside) == 1, f"the library said it {len(stepped_aside)} times, expected once: {stepped_aside}")


def body(ctx):
    {"rtsig": body_rtsig, "sigusr2": body_sigusr2}[ctx.args.mode](ctx)


run_test("nginx", body, extra_args=[("--mode", {"choices": ["rtsig", "sigusr2"], "default": "rtsig"})])
