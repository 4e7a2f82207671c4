#!/usr/bin/env python3
"""Runs real programs plain and under libleaktrace.so (default and exact mode),
alternating round by round, checks that each run under the library produced
exactly what the plain run of the same round produced, and writes the raw
figures; bench_report.py realworld DIR makes the tables.

    realworld_run.py --library LIB --out DIR --top REPO --measure MEASURE_RUN [--rounds N]
                     [--timeout S] [--only a,b] [--redis-requests N]
                     [--wrk-seconds S]

Programs (the tracker is loaded into the program under test and into every
process it starts; load generators and checks run plainly):

  redis     redis-server, loaded by redis-benchmark (SET, GET, LPUSH, LPOP,
            -P 16): throughput; then a fixed script of commands via
            redis-cli, whose replies are the output compared
  nginx     nginx (master + 1 worker) serving a static file, loaded by wrk:
            throughput; the output compared is the file fetched back, and
            wrk's error counts
  python    /usr/bin/python3 tests/realworld/alloc_heavy.py (~1M objects,
            JSON, sorting; prints a checksum)
  sqlite    sqlite3 DB < bench/realworld/sqlite_workload.sql (300,000 rows)
  git       bench/realworld/git_workload.sh (init, 5 commits, gc; prints
            the commit ids)
  gcc       gcc -O2 -c of a generated ~5,000-line C file (the object file's
            checksum is the output)
  bash      bench/realworld/subshells.sh 1000 (a subshell per line)
  bash-fd3  bench/realworld/read_fd3.sh: 1,000 numbers read through fd 3
            (`exec 3<FILE; while read -u 3`), a subshell per line
  make      make -j2 of a generated 25-file C project (the built program's
            output, and the list of files built)

Writes OUT/runs.tsv, one line per run: the figure (seconds, or requests/s
for the servers), CPU seconds, peak RSS, exit status, the output's SHA-256
and whether it matches the plain run of the same round. Every run's output
is kept under OUT/<program>/<variant>.<round>/ for diffing.
"""
import argparse
import hashlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paired  # noqa: E402
from paired import clean_env, dump_stats, kill_session, log, measured, rotated, run, variant_settings  # noqa: E402

# The realworld tests' helpers for servers on loopback.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "realworld"))
from rwlib import free_port, wait_port  # noqa: E402

VARIANTS = ["plain", "default", "exact"]
HERE = os.path.dirname(os.path.abspath(__file__))


def sha256_of(*chunks):
    h = hashlib.sha256()
    for c in chunks:
        h.update(c if isinstance(c, bytes) else c.encode())
    return h.hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Outcome:
    """What one run gives the table: its figure (seconds for a batch
    program, requests/s for a server), CPU seconds, peak RSS, exit status,
    and the bytes whose equality with the plain run is checked."""

    def __init__(self, figure, cpu, maxrss_kib, status, output, timed_out=False, note=""):
        self.figure, self.cpu, self.maxrss_kib, self.status = figure, cpu, maxrss_kib, status
        self.output, self.timed_out, self.note = output, timed_out, note


# ---- batch programs: timed whole, output on stdout or in files ---------------


def batch(argv, settings, run_dir, timeout, cwd=None, stdin_path=None, extra_output=None):
    out_path = os.path.join(run_dir, "stdout.txt")
    with open(out_path, "wb") as out, open(os.path.join(run_dir, "stderr.txt"), "wb") as err:
        stdin = open(stdin_path, "rb") if stdin_path else None
        try:
            res = run(argv, settings, timeout, stdout=out, stderr=err, cwd=cwd or run_dir, stdin=stdin)
        finally:
            if stdin:
                stdin.close()
    output = read(out_path) + (extra_output() if extra_output and not res.timed_out else b"")
    return Outcome(res.wall, res.cpu, res.maxrss_kib, res.status, output, res.timed_out)


def prog_python(ctx, settings, run_dir):
    return batch(["/usr/bin/python3", os.path.join(ctx.top, "tests/realworld/alloc_heavy.py")], settings, run_dir,
                 ctx.timeout)


def prog_sqlite(ctx, settings, run_dir):
    db = os.path.join(run_dir, "bench.sqlite")
    if os.path.exists(db):
        os.remove(db)
    outcome = batch(["sqlite3", db], settings, run_dir, ctx.timeout,
                    stdin_path=os.path.join(HERE, "realworld/sqlite_workload.sql"))
    os.remove(db) if os.path.exists(db) else None  # 20+ MiB each: not worth keeping
    return outcome


def prog_git(ctx, settings, run_dir):
    outcome = batch(["bash", os.path.join(HERE, "realworld/git_workload.sh")], settings, run_dir, ctx.timeout)
    shutil.rmtree(os.path.join(run_dir, "repo"), ignore_errors=True)
    return outcome


def prog_gcc(ctx, settings, run_dir):
    obj = os.path.join(run_dir, "medium.o")
    # Compiled from the shared prepared directory, by a relative name, so the
    # object file is byte-for-byte the same in every run.
    return batch(["gcc", "-O2", "-c", "medium.c", "-o", obj], settings, run_dir, ctx.timeout, cwd=ctx.prepared,
                 extra_output=lambda: (sha256_of(read(obj)) if os.path.exists(obj) else "no object file").encode()
                 + b"  medium.o\n")


def prog_bash(ctx, settings, run_dir):
    return batch(["bash", os.path.join(HERE, "realworld/subshells.sh"), "1000"], settings, run_dir, ctx.timeout)


def prog_bash_fd3(ctx, settings, run_dir):
    return batch(["bash", os.path.join(HERE, "realworld/read_fd3.sh"), os.path.join(ctx.prepared, "numbers.txt")],
                 settings, run_dir, ctx.timeout)


def prog_make(ctx, settings, run_dir):
    project = os.path.join(run_dir, "project")
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(os.path.join(ctx.prepared, "project"), project)

    def built():
        # The program's own output (run plainly) and what was built.
        prog = subprocess.run([os.path.join(project, "prog")], capture_output=True, timeout=60)
        names = sorted(n for n in os.listdir(project) if n.endswith(".o") or n == "prog")
        return prog.stdout + f"exit {prog.returncode}\n".encode() + "\n".join(names).encode() + b"\n"

    outcome = batch(["make", "-j2", "-s"], settings, run_dir, ctx.timeout, cwd=project, extra_output=built)
    shutil.rmtree(project, ignore_errors=True)
    return outcome


# ---- servers: started, loaded, checked, stopped ------------------------------


class Server:
    """A server under measure_run (peak RSS), in a session of its own."""

    def __init__(self, argv, settings, run_dir, port):
        self.rss_file = os.path.join(run_dir, "server.maxrss")
        self.log = open(os.path.join(run_dir, "server.log"), "wb")
        command = measured(self.rss_file, settings, argv)
        self.proc = subprocess.Popen(command, env=clean_env(), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=run_dir, start_new_session=True)
        self.up = wait_port(port, self.proc, 30)

    def finish(self, timeout=30):
        """Waits for the server to exit; kills it after timeout. Returns
        (status, peak RSS KiB, CPU seconds)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_session(self.proc.pid)
            self.proc.wait()
        kill_session(self.proc.pid)
        self.log.close()
        try:
            rss = int(read(self.rss_file).split()[-1])
        except (OSError, ValueError, IndexError):
            rss = 0
        return self.proc.returncode, rss


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs and all(x > 0 for x in xs) else 0.0


# A fixed script of commands whose replies must be the same under the tracker.
REDIS_SCRIPT = "".join(
    [f"SET key:{i} value-{i * 7919 % 10007}\n" for i in range(2000)]
    + [f"RPUSH list:{i % 10} {i}\n" for i in range(2000)]
    + [f"HSET hash:{i % 20} f{i} {i * i}\n" for i in range(2000)]
    + [f"GET key:{i}\n" for i in range(0, 2000, 37)]
    + [f"LRANGE list:{i} 0 -1\n" for i in range(10)]
    + [f"HGETALL hash:{i}\n" for i in range(0, 20, 3)]
    + ["DBSIZE\n", "SORT list:3 DESC LIMIT 0 5\n"])


def prog_redis(ctx, settings, run_dir):
    port = free_port()
    server = Server(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", run_dir], settings, run_dir, port)
    try:
        return redis_load(ctx, server, port, run_dir)
    except subprocess.TimeoutExpired as e:
        # A hung server is a result, not a crash of the benchmark.
        kill_session(server.proc.pid)
        status, rss = server.finish()
        return Outcome(0.0, 0.0, rss, status, b"", note=f"timed out: {' '.join(map(str, e.cmd))[:80]}")


def redis_load(ctx, server, port, run_dir):
    note, rates, output = "", [], b""
    if server.up:
        bench = subprocess.run(["redis-benchmark", "-p", str(port), "-q", "-n", str(ctx.redis_requests),
                                "-t", "set,get,lpush,lpop", "-P", "16", "--csv"], capture_output=True,
                               timeout=ctx.timeout)
        with open(os.path.join(run_dir, "benchmark.csv"), "wb") as f:
            f.write(bench.stdout + bench.stderr)
        for line in bench.stdout.decode(errors="replace").splitlines()[1:]:
            fields = line.replace('"', "").split(",")
            if len(fields) > 1 and re.match(r"^[\d.]+$", fields[1]):
                rates.append(float(fields[1]))
        if len(rates) != 4:
            note = f"redis-benchmark completed {len(rates)} of 4 tests"
        subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True, timeout=60)
        replies = subprocess.run(["redis-cli", "-p", str(port)], input=REDIS_SCRIPT.encode(), capture_output=True,
                                 timeout=120)
        output = replies.stdout + replies.stderr
        subprocess.run(["redis-cli", "-p", str(port), "SHUTDOWN", "NOSAVE"], capture_output=True, timeout=60)
    else:
        note = "server did not start"
    status, rss = server.finish()
    with open(os.path.join(run_dir, "stdout.txt"), "wb") as f:
        f.write(output)
    return Outcome(geomean(rates) if len(rates) == 4 else 0.0, 0.0, rss, status, output, note=note)


NGINX_CONF = """daemon off;
master_process on;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log notice;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/temp/body;
    proxy_temp_path {root}/temp/proxy;
    fastcgi_temp_path {root}/temp/fastcgi;
    uwsgi_temp_path {root}/temp/uwsgi;
    scgi_temp_path {root}/temp/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location / {{ root {www}; }}
    }}
}}
"""


def prog_nginx(ctx, settings, run_dir):
    port = free_port()
    os.makedirs(os.path.join(run_dir, "temp"), exist_ok=True)
    www = os.path.join(ctx.prepared, "www")
    conf = os.path.join(run_dir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(root=run_dir, port=port, www=www))
    server = Server(["nginx", "-p", run_dir + "/", "-c", conf, "-e", os.path.join(run_dir, "error.log")], settings,
                    run_dir, port)
    try:
        return nginx_load(ctx, server, port, run_dir, www)
    except subprocess.TimeoutExpired as e:
        kill_session(server.proc.pid)
        status, rss = server.finish()
        return Outcome(0.0, 0.0, rss, status, b"", note=f"timed out: {' '.join(map(str, e.cmd))[:80]}")


def nginx_load(ctx, server, port, run_dir, www):
    note, rate, output = "", 0.0, b""
    if server.up:
        wrk = subprocess.run(["wrk", "-t1", "-c16", f"-d{ctx.wrk_seconds}s", f"http://127.0.0.1:{port}/file"],
                             capture_output=True, timeout=ctx.wrk_seconds + 60)
        text = wrk.stdout.decode(errors="replace")
        with open(os.path.join(run_dir, "wrk.txt"), "w") as f:
            f.write(text)
        m = re.search(r"Requests/sec:\s*([\d.]+)", text)
        rate = float(m.group(1)) if m else 0.0
        errors = re.findall(r"(Socket errors:.*|Non-2xx or 3xx responses: \d+)", text)
        fetched = subprocess.run(["curl", "-sS", "--max-time", "30", f"http://127.0.0.1:{port}/file"],
                                 capture_output=True)
        # Equal to plain only if the file came back whole and wrk saw no error.
        output = (f"wrk exit {wrk.returncode}\n" + "".join(e + "\n" for e in errors)).encode() + \
            f"file sha256 {sha256_of(fetched.stdout)} (served {sha256_of(read(os.path.join(www, 'file')))})\n".encode()
        if errors:
            note = "; ".join(errors)
    else:
        note = "server did not start"
    # Graceful stop of the master (not of measure_run): a normal exit, so
    # the exit dump is written.
    try:
        os.kill(int(read(os.path.join(run_dir, "nginx.pid"))), signal.SIGQUIT)
    except (OSError, ValueError):
        note = (note + "; " if note else "") + "no nginx.pid to stop the master by"
    status, rss = server.finish()
    with open(os.path.join(run_dir, "stdout.txt"), "wb") as f:
        f.write(output)
    return Outcome(rate, 0.0, rss, status, output, note=note)


PROGRAMS = {
    # name: (function, what the figure is, command as the report shows it)
    "redis": (prog_redis, "req/s", "redis-server ...; redis-benchmark -n N -P 16 -t set,get,lpush,lpop"),
    "nginx": (prog_nginx, "req/s", "nginx (1 worker); wrk -t1 -c16 -dS http://127.0.0.1:PORT/file"),
    "python": (prog_python, "s", "/usr/bin/python3 tests/realworld/alloc_heavy.py"),
    "sqlite": (prog_sqlite, "s", "sqlite3 DB < bench/realworld/sqlite_workload.sql"),
    "git": (prog_git, "s", "bash bench/realworld/git_workload.sh"),
    "gcc": (prog_gcc, "s", "gcc -O2 -c medium.c (bench/realworld/gen_c_source.py, ~5,000 lines)"),
    "bash": (prog_bash, "s", "bash bench/realworld/subshells.sh 1000"),
    "bash-fd3": (prog_bash_fd3, "s", "bash bench/realworld/read_fd3.sh numbers.txt (1,000 lines through fd 3)"),
    "make": (prog_make, "s", "make -j2 -s (bench/realworld/gen_make_project.py, 25 files)"),
}


class Context:
    pass


def prepare(ctx):
    """Inputs shared by every run, made once (not timed)."""
    subprocess.run([sys.executable, os.path.join(HERE, "realworld/gen_c_source.py"),
                    os.path.join(ctx.prepared, "medium.c"), "160"], check=True)
    subprocess.run([sys.executable, os.path.join(HERE, "realworld/gen_make_project.py"),
                    os.path.join(ctx.prepared, "project"), "24"], check=True)
    with open(os.path.join(ctx.prepared, "numbers.txt"), "w") as f:
        f.write("".join(f"{i * 7 % 1009}\n" for i in range(1000)))
    www = os.path.join(ctx.prepared, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "file"), "wb") as f:
        f.write(b"".join(b"leaktrace benchmark line %05d\n" % i for i in range(400)))  # ~12 KiB


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--library", required=True, help="the libleaktrace.so under test")
    p.add_argument("--out", required=True)
    p.add_argument("--top", required=True, help="the repository (for tests/realworld/alloc_heavy.py)")
    p.add_argument("--measure", required=True, help="bench/measure_run.c, built (<build>/bench/patterns/measure_run)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--timeout", type=float, default=300, help="seconds a run may take before it is killed")
    p.add_argument("--only", default="", help="comma-separated program names")
    p.add_argument("--redis-requests", type=int, default=200000)
    p.add_argument("--wrk-seconds", type=int, default=4)
    args = p.parse_args()
    paired.MEASURE = os.path.abspath(args.measure)
    ctx = Context()
    ctx.top, ctx.timeout = args.top, args.timeout
    ctx.redis_requests, ctx.wrk_seconds = args.redis_requests, args.wrk_seconds
    os.makedirs(args.out, exist_ok=True)
    ctx.prepared = os.path.join(args.out, "inputs")
    os.makedirs(ctx.prepared, exist_ok=True)
    prepare(ctx)
    only = set(filter(None, args.only.split(",")))
    unknown = only - set(PROGRAMS)
    if unknown:
        p.error(f"unknown program(s): {', '.join(sorted(unknown))}")
    names = [n for n in PROGRAMS if not only or n in only]
    with open(os.path.join(args.out, "programs.tsv"), "w") as f:
        f.write("program\tunit\tcommand\n")
        for n in names:
            f.write(f"{n}\t{PROGRAMS[n][1]}\t{PROGRAMS[n][2]}\n")
    log(f"realworld: {', '.join(names)} x {', '.join(VARIANTS)}, {args.rounds} rounds")
    with open(os.path.join(args.out, "runs.tsv"), "w") as tsv:
        tsv.write("program\tround\tvariant\tfigure\tunit\tcpu_s\tmaxrss_kib\tstatus\ttimed_out\toutput_sha256\t"
                  "same_as_plain\tdump_files\tdump_bytes\tnote\n")
        for r in range(1, args.rounds + 1):
            for name in names:
                fn, unit, _ = PROGRAMS[name]
                # plain first within each program's round would bias it, so the
                # order rotates; the check against plain is made afterwards.
                results = {}
                for variant in rotated(VARIANTS, r + len(name)):
                    run_dir = os.path.join(args.out, name, f"{variant}.{r}")
                    os.makedirs(run_dir, exist_ok=True)
                    o = fn(ctx, variant_settings(variant, args.library, run_dir), run_dir)
                    results[variant] = (o, run_dir)
                plain_sha = sha256_of(results["plain"][0].output)
                for variant in VARIANTS:
                    o, run_dir = results[variant]
                    sha = sha256_of(o.output)
                    same = "" if variant == "plain" else str(int(sha == plain_sha and o.status == results["plain"][0].status))
                    if same == "0":
                        log(f"realworld: OUTPUT DIFFERS: {name} {variant} round {r}: compare "
                            f"{run_dir}/stdout.txt with {results['plain'][1]}/stdout.txt "
                            f"(exit status {o.status} vs {results['plain'][0].status})")
                    if o.timed_out:
                        log(f"realworld: {name} {variant} timed out after {args.timeout:g} s (round {r})")
                    files, size = dump_stats(run_dir)
                    tsv.write(f"{name}\t{r}\t{variant}\t{o.figure:.6f}\t{unit}\t{o.cpu:.3f}\t{o.maxrss_kib}\t"
                              f"{o.status}\t{int(o.timed_out)}\t{sha}\t{same}\t{files}\t{size}\t{o.note}\n")
                    tsv.flush()
            log(f"realworld: round {r}/{args.rounds} done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
