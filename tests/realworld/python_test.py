"""Debian's python3 running an allocation-heavy script (alloc_heavy.py) under
the library, in default mode, exact mode, and exact mode with
PYTHONMALLOC=malloc (every object through malloc/free, not pymalloc's arenas);
stdout and exit status must be those of the plain run, dumps readable."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwlib import expect, fail, log, run_test  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alloc_heavy.py")


def body(ctx):
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        fail("/usr/bin/python3 is not installed (Debian package python3, in deps/debian-packages.txt)")
    env = ctx.env()
    env.pop("PYTHONMALLOC", None)
    _, plain_out, plain_err = ctx.run([python, SCRIPT], env=env, cwd=ctx.tmp, timeout=60)
    expect("checksum" in plain_out, f"plain run printed no checksum:\n{plain_out}")
    log(f"plain: {plain_out.splitlines()[-1]}")

    runs = [("default", {}, {}), ("exact", {"sample": 1}, {}),
            ("exact-pythonmalloc", {"sample": 1}, {"PYTHONMALLOC": "malloc"})]
    for tag, settings, extra_env in runs:
        dump_dir = os.path.join(ctx.tmp, f"dumps-{tag}")
        os.makedirs(dump_dir)
        env = ctx.env(dump_dir, **settings)
        env.pop("PYTHONMALLOC", None)
        env.update(extra_env)
        rc, out, err = ctx.run([python, SCRIPT], env=env, cwd=ctx.tmp, timeout=90, check=False)
        expect(rc == 0, f"[{tag}] python3 exited {rc} under leaktrace (plain: 0)\nstderr:\n{err[-3000:]}")
        expect(out == plain_out, f"[{tag}] output differs under leaktrace:\n--- plain\n{plain_out}\n--- leaktrace\n{out}")
        lt = [l for l in err.splitlines() if l.startswith("leaktrace")]
        expect(err == plain_err or not [l for l in err.splitlines() if l not in plain_err.splitlines() and l not in lt],
               f"[{tag}] python3 wrote something new on stderr:\n{err[-2000:]}")
        dumps = ctx.check_dumps(dump_dir, min_count=1, programs={"python3", "python3.11", "python3.12", "python3.13"})
        expect(len(dumps) == 1, f"[{tag}] expected one exit dump, found {sorted(dumps)}")
        (_, _, _, doc), = dumps.values()
        heap_sites = [s for s in doc["sites"] if s["resource"] == "heap"]
        log(f"[{tag}] output identical; {len(dumps)} dump ({os.path.basename(next(iter(dumps)))}), "
            f"{len(doc['sites'])} sites, {len(heap_sites)} heap" + (f"; stderr: {lt}" if lt else ""))
        if settings.get("sample") == 1:
            expect(heap_sites, f"[{tag}] exact-mode exit dump of python3 shows no live heap site")


run_test("python", body)
