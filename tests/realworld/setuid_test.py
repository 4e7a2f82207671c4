"""A set-user-ID root program run by `nobody` with LD_PRELOAD: the program
runs normally and no dump is written.

Two ways the library can reach a secure-exec process:
  * LD_PRELOAD with a path: glibc ignores it (checked: not mapped).
  * LD_PRELOAD with a bare name of a set-user-ID library in a system library
    directory: glibc loads it. Then the library's own AT_SECURE check must
    leave it inert. The test puts a copy there (mode 4755, unique name,
    removed afterwards) and checks in /proc/self/maps that it was loaded.
A control run (same library, a non-setuid copy of the program) must write a
dump, so that "no dump" above means something.

Needs root (chown, chmod u+s, the system library directory) and a kernel that
honours set-user-ID here: otherwise it skips (exit 77) and says why.
"""

import glob
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwlib import Skip, expect, log, run_test  # noqa: E402

NOBODY = 65534
PREFIX = "libleaktrace-rwtest-"


def trusted_dir():
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
              "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64"):
        if os.path.exists(os.path.join(d, "libc.so.6")):
            return os.path.realpath(d)
    raise Skip("cannot find the system library directory holding libc.so.6")


def remove_stale(lib_dir):
    """Copies left by an earlier run that was killed before its cleanup."""
    for path in glob.glob(os.path.join(lib_dir, PREFIX + "*.so")):
        m = re.search(rf"{PREFIX}(\d+)\.so$", path)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            os.unlink(path)


def parse(out):
    m = re.search(r"ruid=(\d+) euid=(\d+) secure=(\d+) leaktrace_mapped=(\d)", out)
    return tuple(int(x) for x in m.groups()) if m else None


def body(ctx):
    probe = ctx.args.program
    expect(os.access(probe, os.X_OK), f"{probe} is not built")
    if os.geteuid() != 0:
        raise Skip("needs root (to make a set-user-ID root program and put a library in a system directory)")
    # The ids are dropped in the forked child by Python itself, before it
    # execs the program: nothing else runs under LD_PRELOAD (a launcher like
    # setpriv would itself run under the library: see --mode privdrop).
    as_nobody = dict(user=NOBODY, group=NOBODY, extra_groups=[])

    os.chmod(ctx.tmp, 0o755)
    suid = os.path.join(ctx.tmp, "setuid_probe")
    plain = os.path.join(ctx.tmp, "plain_probe")
    shutil.copy(probe, suid)
    shutil.copy(probe, plain)
    os.chown(suid, 0, 0)
    os.chmod(suid, 0o4755)
    os.chmod(plain, 0o755)
    work = os.path.join(ctx.tmp, "cwd")
    os.makedirs(work)
    os.chmod(work, 0o1777)

    rc, out, err = ctx.run([suid], **as_nobody, env=ctx.env(), cwd=work, timeout=30, check=False)
    ids = parse(out)
    if rc != 0 or ids is None or ids[1] != 0 or ids[2] != 1:
        raise Skip(f"set-user-ID does not take effect here (nosuid mount, no_new_privs or a sandbox): "
                   f"exit {rc}, {out.strip() or err.strip()}")
    expected = out
    log(f"setuid works: {out.strip()}")

    # 1. LD_PRELOAD with an absolute path: glibc ignores it for secure-exec.
    dumps1 = os.path.join(ctx.tmp, "dumps-abs")
    os.makedirs(dumps1)
    os.chmod(dumps1, 0o1777)
    env = ctx.env(dumps1, interval=1)
    rc, out, err = ctx.run([suid, "1300"], **as_nobody, env=env, cwd=work, timeout=30, check=False)
    expect(rc == 0 and out == expected, f"[absolute LD_PRELOAD] exit {rc}, output {out!r} (expected {expected!r}); "
                                        f"stderr {err!r}")
    expect(parse(out)[3] == 0, "[absolute LD_PRELOAD] the library was mapped into a set-user-ID process")
    expect(not os.listdir(dumps1) and not os.listdir(work), f"[absolute LD_PRELOAD] files written: "
                                                            f"{os.listdir(dumps1) + os.listdir(work)}")
    log("[absolute LD_PRELOAD] ignored by glibc, program ran normally, no dump")

    # 2. A set-user-ID copy of the library in a system directory: glibc loads it.
    lib_dir = trusted_dir()
    remove_stale(lib_dir)
    name = f"{PREFIX}{os.getpid()}.so"
    sys_lib = os.path.join(lib_dir, name)
    ctx.on_cleanup(lambda: os.path.exists(sys_lib) and os.unlink(sys_lib))
    shutil.copy(ctx.lib, sys_lib)
    os.chown(sys_lib, 0, 0)
    os.chmod(sys_lib, 0o4755)

    dumps2 = os.path.join(ctx.tmp, "dumps-trusted")
    os.makedirs(dumps2)
    os.chmod(dumps2, 0o1777)
    env = ctx.env(None)
    env.update({"LD_PRELOAD": name, "LEAKTRACE_DIR": dumps2, "LEAKTRACE_INTERVAL": "1", "LEAKTRACE_SAMPLE": "1"})
    rc, out, err = ctx.run([suid, "1300"], **as_nobody, env=env, cwd=work, timeout=30, check=False)
    ids = parse(out)
    if ids is not None and ids[3] == 0 and rc == 0:
        raise Skip(f"glibc did not load the set-user-ID library {sys_lib} into the set-user-ID program: "
                   f"the library's own check cannot be exercised here (case 1 passed)")
    expect(rc == 0 and out == expected.replace("leaktrace_mapped=0", "leaktrace_mapped=1"),
           f"[trusted-dir LD_PRELOAD] exit {rc}, output {out!r}; stderr {err!r}")
    written = os.listdir(dumps2) + os.listdir(work)
    expect(not written, f"[trusted-dir LD_PRELOAD] the library was loaded into a set-user-ID root process and "
                        f"wrote {written}: it must stay inert under AT_SECURE")
    lt = [l for l in err.splitlines() if "leaktrace" in l]
    log(f"[trusted-dir LD_PRELOAD] library mapped, program ran normally, no dump"
        + (f"; stderr: {lt}" if lt else ""))

    # 3. Control: the same library and settings, a program that is not
    #    set-user-ID: it must be active, or case 2 proved nothing.
    rc, out, err = ctx.run([plain, "1300"], **as_nobody, env=env, cwd=work, timeout=30, check=False)
    expect(rc == 0 and parse(out) == (NOBODY, NOBODY, 0, 1), f"[control] exit {rc}, output {out!r}, stderr {err!r}")
    dumps = ctx.check_dumps(dumps2, min_count=1, programs={"plain_probe"})
    log(f"[control] the same library in a normal process wrote {len(dumps)} dump(s): "
        f"{sorted(os.path.basename(d) for d in dumps)}")


def body_privdrop(ctx):
    """util-linux's setpriv, run as root under the library, drops to nobody
    and runs a program: it must work as it does without the library.

    setpriv keeps capabilities across setresuid (PR_SET_KEEPCAPS + capset, which
    are per-thread) on its own thread only, then calls setresgid. glibc applies
    set*id calls to every thread of the process and aborts if they do not all
    succeed or all fail; a thread the library started (the dumper) has lost
    CAP_SETGID at that point, so the call fails there and glibc aborts."""
    if os.geteuid() != 0:
        raise Skip("needs root (setpriv changes user and group ids)")
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("setpriv (util-linux) is not installed")
    argv = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", ctx.args.program]
    os.chmod(ctx.tmp, 0o755)
    rc, expected, err = ctx.run(argv, env=ctx.env(), cwd=ctx.tmp, timeout=30, check=False)
    expect(rc == 0 and parse(expected) == (NOBODY, NOBODY, 0, 0), f"[plain] setpriv: exit {rc}, {expected!r} {err!r}")
    for mode, settings in (("default", {}), ("exact", {"sample": 1})):
        dump_dir = os.path.join(ctx.tmp, f"dumps-{mode}")
        os.makedirs(dump_dir)
        os.chmod(dump_dir, 0o1777)
        rc, out, err = ctx.run(argv, env=ctx.env(dump_dir, **settings), cwd=ctx.tmp, timeout=30, check=False)
        expect(rc == 0, f"[{mode}] setpriv --reuid/--regid/--clear-groups under leaktrace exited {rc} "
                        f"(plain: 0){' (killed by SIGABRT: glibc aborts when a set*id call succeeds on one thread and fails on another)' if rc == -6 else ''}; "
                        f"stderr {err.strip()!r}")
        expect(parse(out) == (NOBODY, NOBODY, 0, 1), f"[{mode}] the program setpriv ran printed {out!r}")
        dumps = ctx.check_dumps(dump_dir, min_count=1)
        log(f"[{mode}] setpriv dropped to nobody and ran the program; dumps: "
            f"{sorted(os.path.basename(d) for d in dumps)}")


def main_body(ctx):
    {"setuid": body, "privdrop": body_privdrop}[ctx.args.mode](ctx)


run_test("setuid", main_body, extra_args=[("--program", {"required": True}),
                                          ("--mode", {"choices": ["setuid", "privdrop"], "default": "setuid"})])
