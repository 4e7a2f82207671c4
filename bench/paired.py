"""What the paired benchmarks (scripts/bench.sh patterns, realworld) share:
the variants a program runs in, the round-robin order, and running one
command with a time bound while reading the kernel's own accounting of it.

Every figure these benchmarks give is a ratio of runs made back to back in the
same round, so one slow moment of a shared machine moves one round, not the
verdict.
"""
import json
import os
import sys
import signal
import subprocess
import tempfile
import time

# Variant name -> the settings it adds to the environment (the library path
# and the dump directory are added by variant_env). "plain" has neither
# LD_PRELOAD nor any LEAKTRACE_ setting.
VARIANTS = {
    "plain": None,
    "default": {"LEAKTRACE_ON_EXIT": "1"},
    "exact": {"LEAKTRACE_ON_EXIT": "1", "LEAKTRACE_SAMPLE": "1"},
    "default_nodump": {"LEAKTRACE_ON_EXIT": "0"},
    "exact_nodump": {"LEAKTRACE_ON_EXIT": "0", "LEAKTRACE_SAMPLE": "1"},
}


def clean_env(base=None):
    """The caller's environment minus anything that would put a tracker into
    the plain run or change a mode behind our back."""
    return {k: v for k, v in (base or os.environ).items() if k != "LD_PRELOAD" and not k.startswith("LEAKTRACE_")}


def variant_settings(variant, library, dump_dir):
    """What a variant adds to the clean environment of the program under test."""
    settings = VARIANTS[variant]
    if settings is None:
        return {}
    return dict(settings, LD_PRELOAD=library, LEAKTRACE_DIR=dump_dir)


def rotated(items, shift):
    """items rotated left by shift: each round runs the variants in another
    order, so none always runs first or always after the same neighbour."""
    shift %= len(items)
    return items[shift:] + items[:shift]


class Run:
    """One finished (or killed) command."""

    def __init__(self, wall, maxrss_kib, cpu, status, timed_out):
        self.wall = wall              # seconds, spawn to reap
        self.maxrss_kib = maxrss_kib  # the largest process among it and the children it waited for
        self.cpu = cpu                # user + system seconds, children included
        self.status = status          # exit code, or -signal
        self.timed_out = timed_out


# bench/measure_run.c (built next to the pattern programs): runs a command
# and writes its peak RSS to a file. Set by the runners (--measure). Not our
# own wait4: the kernel carries a process's peak across exec, so a child
# forked from this Python process (15+ MiB) would never read below it. Not
# /usr/bin/time -o: it leaves its file open on fd 3 in the command.
MEASURE = None


def measured(rss_file, settings, argv):
    """The command line that runs argv with settings in its environment
    under measure_run; `env` applies the settings, so the tracker is in the
    program and what it starts, never in measure_run."""
    if not MEASURE or not os.access(MEASURE, os.X_OK):
        raise SystemExit(f"measure_run not found at {MEASURE!r} (build target measure_run, or pass --measure)")
    return [MEASURE, rss_file, "env"] + [f"{k}={v}" for k, v in settings.items()] + list(argv)


def run(argv, settings, timeout, stdout=None, stderr=None, cwd=None, stdin=None, env=None):
    """Runs argv with `settings` added to its environment, in a session of
    its own under measure_run, and waits for it with wait4: wall time is
    spawn to reap, CPU time the kernel's figure for it and its waited-for
    children, peak RSS the largest of them. The program starts with only
    descriptors 0, 1 and 2. Plain runs take the same measure_run + env
    steps, so the harness cancels out of every difference. After `timeout`
    seconds the whole session is killed; what is left in the session after
    the command exits (a stray background child) is killed as well, so no run
    leaks into the next."""
    out = stdout if stdout is not None else subprocess.DEVNULL
    err = stderr if stderr is not None else subprocess.STDOUT
    inp = stdin if stdin is not None else subprocess.DEVNULL
    timed_out = False
    fd, rss_file = tempfile.mkstemp(prefix="bench-rss.")
    os.close(fd)
    command = measured(rss_file, settings, argv)
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env if env is not None else clean_env(), stdout=out, stderr=err, stdin=inp,
                            cwd=cwd, start_new_session=True)

    def on_alarm(_sig, _frame):
        nonlocal timed_out
        timed_out = True
        kill_session(proc.pid)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    kill_session(proc.pid)
    try:
        with open(rss_file) as f:
            maxrss = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        maxrss = 0  # killed: measure_run did not get to write it
    os.remove(rss_file)
    return Run(wall, maxrss, usage.ru_utime + usage.ru_stime, proc.returncode, timed_out)


def kill_session(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def dump_stats(dump_dir):
    """(count, total bytes) of the dump files a run left."""
    count = size = 0
    for root, _, files in os.walk(dump_dir):
        for name in files:
            if name.endswith(".dump"):
                count += 1
                size += os.path.getsize(os.path.join(root, name))
    return count, size


def first_dump(dump_dir):
    for root, _, files in sorted(os.walk(dump_dir)):
        for name in sorted(files):
            if name.endswith(".dump"):
                return os.path.join(root, name)
    return None


def tracker_mapped_bytes(cli, dump_dir):
    """tracker_mapped_bytes from the health section of the run's first dump
    (`leaktrace report --format json`), or "" when there is no dump or the
    CLI cannot read it."""

    dump = first_dump(dump_dir)
    if not cli or not dump:
        return ""
    try:
        text = subprocess.run([cli, "report", "--format", "json", dump], capture_output=True, timeout=120,
                              check=True).stdout
        return str(json.loads(text)["dumps"][0]["health"]["tracker_mapped_bytes"])
    except (subprocess.SubprocessError, ValueError, KeyError, IndexError, OSError):
        return ""


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)
