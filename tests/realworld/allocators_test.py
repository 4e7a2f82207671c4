"""alloc_extras (malloc family + malloc_usable_size, mallinfo2, malloc_trim,
mallopt, cross-thread frees, a deliberate leak) on glibc, jemalloc and
tcmalloc, each loaded after libleaktrace.so, in default and exact mode. Same
output and exit status as without the library; in exact mode the leak shows
exactly: LEAK_BLOCKS blocks, LEAK_BLOCKS * LEAK_SIZE bytes, from
leak_blocks_here."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwlib import Failure, expect, find_system_library, log, run_test  # noqa: E402

LEAK_BLOCKS = 7
LEAK_SIZE = 1000
LEAK_FUNCTION = "leak_blocks_here"


def body(ctx):
    program = ctx.args.program
    expect(os.access(program, os.X_OK), f"{program} is not built")
    allocators = {
        "glibc": None,
        "jemalloc": find_system_library("libjemalloc.so.2", "libjemalloc2"),
        "tcmalloc": find_system_library("libtcmalloc.so.4", "libgoogle-perftools4"),
        "tcmalloc_minimal": find_system_library("libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
    }

    def odd_alignment(err):
        return [l for l in err.splitlines() if l.startswith("odd-alignment:")]

    expected = None
    expected_odd = {}
    for name, lib in allocators.items():
        extra = (lib,) if lib else ()
        rc, out, err = ctx.run([program], env=ctx.env(None, preload_extra=extra), cwd=ctx.tmp, timeout=60,
                               check=False)
        expect(rc == 0, f"[{name}, no leaktrace] alloc_extras exited {rc}:\n{out}\n{err}")
        if expected is None:
            expected = out
        expect(out == expected, f"[{name}, no leaktrace] output differs from glibc's:\n{out}")
        expected_odd[name] = odd_alignment(err)
    log("without leaktrace: glibc, jemalloc, tcmalloc, tcmalloc_minimal all pass, same output")

    for name, lib in allocators.items():
        extra = (lib,) if lib else ()
        for mode, settings in (("default", {}), ("exact", {"sample": 1})):
            tag = f"{name}, {mode}"
            dump_dir = os.path.join(ctx.tmp, f"dumps-{name}-{mode}")
            os.makedirs(dump_dir)
            env = ctx.env(dump_dir, preload_extra=extra, **settings)
            rc, out, err = ctx.run([program], env=env, cwd=ctx.tmp, timeout=60, check=False)
            expect(rc == 0, f"[{tag}] alloc_extras exited {rc} under LD_PRELOAD={env['LD_PRELOAD']!r}:\n{out}\n{err}")
            expect(out == expected, f"[{tag}] output differs under leaktrace:\n--- without\n{expected}\n--- with\n{out}")
            expect(odd_alignment(err) == expected_odd[name],
                   f"[{tag}] aligned_alloc with odd alignments: {odd_alignment(err)}, without leaktrace "
                   f"{expected_odd[name]}")
            if lib:
                expect(any(os.path.basename(lib) in l for l in _maps_of_run(ctx, program, env)),
                       f"[{tag}] {lib} was not loaded")
            dumps = ctx.check_dumps(dump_dir, min_count=1, programs={os.path.basename(program)})
            expect(len(dumps) == 1, f"[{tag}] expected one exit dump: {sorted(dumps)}")
            (_, _, _, doc), = dumps.values()
            leak_sites = [s for s in doc["sites"] if s["resource"] == "heap" and s["frames"]
                          and s["frames"][0].get("function") == LEAK_FUNCTION and s["count"] != 0]
            msg = ""
            if mode == "exact":
                expect(len(leak_sites) == 1, f"[{tag}] expected one live site from {LEAK_FUNCTION}, found "
                                             f"{[(s['bytes'], s['count']) for s in leak_sites]}")
                site = leak_sites[0]
                expect(site["count"] == LEAK_BLOCKS and site["bytes"] == LEAK_BLOCKS * LEAK_SIZE,
                       f"[{tag}] {LEAK_FUNCTION}: {site['count']} blocks, {site['bytes']} bytes; expected exactly "
                       f"{LEAK_BLOCKS} blocks, {LEAK_BLOCKS * LEAK_SIZE} bytes")
                expect([f.get("function") for f in site["frames"][:2]] == [LEAK_FUNCTION, "main"],
                       f"[{tag}] leak stack {[f.get('function') for f in site['frames']]}")
                msg = f"; leak: {site['count']} blocks, {site['bytes']} bytes from {LEAK_FUNCTION} <- main"
            lt = [l for l in err.splitlines() if "leaktrace" in l]
            log(f"[{tag}] exit 0, same output, {len(doc['sites'])} sites{msg}" + (f"; stderr: {lt}" if lt else ""))


def _maps_of_run(ctx, program, env):
    """The objects ld.so loads for `program` with this environment (preloads
    included), as listed by ld.so itself; the program does not run."""
    env = dict(env)
    env["LD_TRACE_LOADED_OBJECTS"] = "1"  # ld.so lists the objects (preloads included) and exits
    _, out, _ = ctx.run([program], env=env, timeout=30, check=False)
    return out.splitlines()


NATIVE_LEAK_BLOCKS = 256  # LEAK_BLOCKS in programs/alloc_native.c
NATIVE_LEAK_SIZE = 4000
NATIVE_LEAK_FUNCTION = "leak_native_here"


def body_native(ctx):
    """alloc_native: the allocator's own API (jemalloc's mallocx family,
    tcmalloc's tc_* functions), reached through dlsym and through weak
    references, mixed with the standard one, as programs built for those
    allocators do. Same output as without the library; the blocks leaked
    through the native API are counted: exactly in exact mode, within sampling
    noise when sampling every 4 KiB. On glibc the weak references stay null
    under leaktrace too (it does not export the native names)."""
    program = ctx.args.program
    expect(os.access(program, os.X_OK), f"{program} is not built")
    allocators = {
        "jemalloc": find_system_library("libjemalloc.so.2", "libjemalloc2"),
        "tcmalloc_minimal": find_system_library("libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
        "tcmalloc": find_system_library("libtcmalloc.so.4", "libgoogle-perftools4"),
    }
    dump_dir = os.path.join(ctx.tmp, "dumps-glibc")
    os.makedirs(dump_dir)
    rc, out, err = ctx.run([program], env=ctx.env(dump_dir), timeout=60, check=False)
    expect(rc == 0 and out == "all ok\n",
           f"[glibc] under leaktrace the program must see no native API (weak references null, dlsym NULL); "
           f"exit {rc}, output:\n{out}{err}")
    log("[glibc] no native API visible under leaktrace: weak references null, dlsym NULL")
    problems = []
    expected_total = NATIVE_LEAK_BLOCKS * NATIVE_LEAK_SIZE
    for name, lib in allocators.items():
        rc, expected, err = ctx.run([program], env=ctx.env(None, preload_extra=(lib,)), timeout=60, check=False)
        expect(rc == 0 and "native api ok" in expected and "direct calls ok" in expected,
               f"[{name}, no leaktrace] exit {rc}:\n{expected}\n{err}")
        for mode, settings in (("default", {}), ("sampling every 4 KiB", {"sample": "4k"}), ("exact", {"sample": 1})):
            tag = f"{name}, {mode}"
            dump_dir = os.path.join(ctx.tmp, f"dumps-{name}-{settings.get('sample', 'default')}")
            os.makedirs(dump_dir)
            try:
                rc, out, err = ctx.run([program], env=ctx.env(dump_dir, preload_extra=(lib,), **settings),
                                       timeout=30, check=False)
            except Failure:
                problems.append(f"[{tag}] hung: killed after 30 s (without leaktrace it takes well under 1 s)")
                log(problems[-1])
                continue
            if rc != 0 or out != expected:
                first = [l for l in (out + err).splitlines() if l.strip()][:3]
                problems.append(f"[{tag}] exit {rc} (without leaktrace: 0); first lines: {first}")
                log(problems[-1])
                continue
            dumps = ctx.check_dumps(dump_dir, min_count=1, programs={os.path.basename(program)})
            expect(len(dumps) == 1, f"[{tag}] expected one exit dump: {sorted(dumps)}")
            (_, _, _, doc), = dumps.values()
            sites = [s for s in doc["sites"] if s["resource"] == "heap" and s["frames"]
                     and s["frames"][0].get("function") == NATIVE_LEAK_FUNCTION]
            count = sum(s["count"] for s in sites)
            total = sum(s["bytes"] for s in sites)
            if mode == "exact":
                if len(sites) != 1 or count != NATIVE_LEAK_BLOCKS or total != expected_total:
                    problems.append(f"[{tag}] {NATIVE_LEAK_FUNCTION}: {count} blocks, {total} bytes in {len(sites)} "
                                    f"sites; expected exactly {NATIVE_LEAK_BLOCKS} blocks, {expected_total} bytes")
                elif [f.get("function") for f in sites[0]["frames"][:2]] != [NATIVE_LEAK_FUNCTION, "main"]:
                    problems.append(f"[{tag}] leak stack {[f.get('function') for f in sites[0]['frames']]}")
            elif "sample" in settings:
                # T = 4 KiB against 4000-byte blocks: each block is drawn with
                # p = 0.62 (weight 1.6), so the samples are a binomial count;
                # the estimate's standard error is about 16 blocks in 256, and
                # it leaves +-50% with probability 2e-24 (computed; with the 64
                # blocks leaked before, 1.3e-7 per allocator).
                if not 0.5 * expected_total <= total <= 1.5 * expected_total:
                    problems.append(f"[{tag}] {NATIVE_LEAK_FUNCTION}: estimated {total:.0f} bytes, "
                                    f"expected {expected_total} within +-50%")
            if problems and problems[-1].startswith(f"[{tag}]"):
                log(problems[-1])
            else:
                log(f"[{tag}] same output, exit 0; {NATIVE_LEAK_FUNCTION}: {count:.1f} blocks, {total:.0f} bytes")
    expect(not problems, "the program's own allocator API broke under leaktrace:\n  " + "\n  ".join(problems))


def main_body(ctx):
    (body_native if ctx.args.mode == "native" else body)(ctx)


run_test("allocators", main_body, extra_args=[("--program", {"required": True}),
                                              ("--mode", {"choices": ["extras", "native"], "default": "extras"})])
