"""Shared helpers for the real-world suite (tests/realworld).

Each test script is run by ctest as
    python3 SCRIPT --lib LIBLEAKTRACE --cli LEAKTRACE [extra args]
and uses `run_test(body)` below, which gives the body a `Context` (temp dir,
child processes, the paths) and guarantees that every process the test
started is killed and the temp dir removed, whatever happens.

Exit status: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE).

Only the programs under test get LD_PRELOAD; this driver never does.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

SKIP = 77
DUMP_NAME = re.compile(r"^(?P<program>.+)\.(?P<pid>[0-9]+)\.(?P<seq>[0-9]+)\.dump$")
RESOURCES = {"heap", "mmap", "fd", "thread"}


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print(f"[realworld] {msg}", flush=True)


def fail(msg):
    raise Failure(msg)


def expect(cond, msg):
    if not cond:
        raise Failure(msg)


def require_tool(name, package):
    """Absolute path of a tool the test needs; a clear failure when missing."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.access(f"/usr/sbin/{name}", os.X_OK) else None)
    if not path:
        fail(f"'{name}' is not installed (Debian package {package}; scripts/setup.sh installs "
             f"everything in deps/debian-packages.txt)")
    return path


def find_system_library(name, package):
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
              "/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib64", "/lib"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return os.path.realpath(p)
    fail(f"{name} not found (Debian package {package}; scripts/setup.sh installs deps/debian-packages.txt)")


def free_port():
    """A loopback TCP port that was free a moment ago (bind 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def children_of(pid):
    """PIDs whose parent is `pid` (from /proc/*/stat)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return sorted(kids)


def is_mapped(pid, needle):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return needle in f.read()
    except OSError:
        return False


class Context:
    def __init__(self, name, args):
        self.name = name
        self.args = args
        self.lib = os.path.realpath(args.lib)
        self.cli = os.path.realpath(args.cli)
        expect(os.path.exists(self.lib), f"library {self.lib} does not exist (build leaktrace_preload first)")
        expect(os.access(self.cli, os.X_OK), f"leaktrace command {self.cli} does not exist (build it first)")
        self.tmp = tempfile.mkdtemp(prefix=f"leaktrace-rw-{name}-")
        self._procs = []
        self._cleanups = []

    # ---------------------------------------------------------------- processes
    def env(self, dump_dir=None, preload_extra=(), **settings):
        """Environment for a program under the library (dump_dir=None: no library)."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("LEAKTRACE_") or k == "LD_PRELOAD":
                del env[k]
        if dump_dir is not None:
            env["LD_PRELOAD"] = " ".join([self.lib, *preload_extra])
            env["LEAKTRACE_DIR"] = dump_dir
            for k, v in settings.items():
                env[f"LEAKTRACE_{k.upper()}"] = str(v)
        elif preload_extra:
            env["LD_PRELOAD"] = " ".join(preload_extra)
        return env

    def spawn(self, argv, **kw):
        """Popen in a new session so that cleanup can kill the whole group."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self._procs.append(p)
        return p

    def run(self, argv, timeout=120, check=True, **kw):
        """Run to completion, capturing output; kill the group on timeout."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = self.spawn(argv, **kw)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(p)
            fail(f"{argv[0]} did not finish within {timeout} s: {' '.join(map(str, argv))}")
        out = out.decode(errors="replace") if isinstance(out, bytes) else (out or "")
        err = err.decode(errors="replace") if isinstance(err, bytes) else (err or "")
        if check and p.returncode != 0:
            fail(f"{' '.join(map(str, argv))} exited {p.returncode}\nstdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}")
        return p.returncode, out, err

    def wait(self, p, timeout, what):
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(p)
            fail(f"{what} (pid {p.pid}) did not exit within {timeout} s")

    def on_cleanup(self, fn):
        self._cleanups.append(fn)

    def _kill(self, p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self):
        for p in reversed(self._procs):
            self._kill(p)
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:  # cleanup must not hide the real result
                log(f"cleanup: {e}")
        if os.environ.get("LEAKTRACE_RW_KEEP"):
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -------------------------------------------------------------------- dumps
    def dumps_in(self, dump_dir):
        return sorted(os.path.join(dump_dir, n) for n in os.listdir(dump_dir))

    def report_json(self, dumps, timeout=120):
        rc, out, err = self.run([self.cli, "report", "--format", "json", *dumps], timeout=timeout, check=False)
        expect(rc == 0, f"leaktrace report --format json {' '.join(dumps[:3])}{' ...' if len(dumps) > 3 else ''} "
                        f"exited {rc}: {err.strip()[-2000:]}")
        try:
            doc = json.loads(out)
        except ValueError as e:
            fail(f"leaktrace report --format json {dumps[0]}: not valid JSON ({e}): {out[:500]}")
        expect(isinstance(doc, dict) and isinstance(doc.get("sites"), list),
               f"leaktrace report --format json {dumps[0]}: no 'sites' array")
        for site in doc["sites"]:
            expect(site.get("resource") in RESOURCES, f"{dumps[0]}: site with resource {site.get('resource')!r}")
            expect(isinstance(site.get("frames"), list), f"{dumps[0]}: site without a frames array")
            expect("bytes" in site and "count" in site, f"{dumps[0]}: site without bytes/count")
        return doc

    def check_dumps(self, dump_dir, min_count=1, programs=None, max_workers=2):
        """Every file in dump_dir is a finished dump named <program>.<pid>.<seq>.dump,
        mode 0600, and `leaktrace report --format json` reads it. Returns
        {path: (program, pid, seq, json)}."""
        files = self.dumps_in(dump_dir)
        bad = [f for f in files if not DUMP_NAME.match(os.path.basename(f))]
        expect(not bad, f"files in the dump directory that are not <program>.<pid>.<seq>.dump "
                        f"(half-written or misnamed): {[os.path.basename(b) for b in bad[:10]]}")
        expect(len(files) >= min_count, f"expected at least {min_count} dumps in {dump_dir}, found {len(files)}: "
                                        f"{[os.path.basename(f) for f in files]}")
        for f in files:
            mode = os.stat(f).st_mode & 0o777
            expect(mode == 0o600, f"{os.path.basename(f)} has mode {mode:o}, expected 600")
            if programs is not None:
                prog = DUMP_NAME.match(os.path.basename(f)).group("program")
                expect(prog in programs, f"{os.path.basename(f)}: unexpected program {prog!r} (expected {programs})")
        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            docs = list(pool.map(lambda f: self.report_json([f]), files))
        result = {}
        for f, doc in zip(files, docs):
            m = DUMP_NAME.match(os.path.basename(f))
            result[f] = (m.group("program"), int(m.group("pid")), int(m.group("seq")), doc)
        return result

    def snapshot(self, pid, timeout=30):
        rc, out, err = self.run([self.cli, "snapshot", "--timeout", str(timeout), str(pid)],
                                timeout=timeout + 15, check=False)
        return rc, out.strip(), err.strip()


def run_test(name, body, extra_args=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", required=True)
    parser.add_argument("--cli", required=True)
    for a, kw in (extra_args or []):
        parser.add_argument(a, **kw)
    args = parser.parse_args()
    ctx = None
    start = time.monotonic()
    try:
        ctx = Context(name, args)
        body(ctx)
    except Skip as e:
        print(f"[realworld] SKIP {name}: {e}", flush=True)
        code = SKIP
    except Failure as e:
        print(f"[realworld] FAIL {name}: {e}", flush=True)
        code = 1
    except Exception:
        import traceback
        traceback.print_exc()
        print(f"[realworld] FAIL {name}: unexpected error in the test itself", flush=True)
        code = 1
    else:
        print(f"[realworld] PASS {name} ({time.monotonic() - start:.1f} s)", flush=True)
        code = 0
    finally:
        if ctx is not None:
            ctx.cleanup()
    sys.exit(code)
