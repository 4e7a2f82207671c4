"""cmake + make -j2 of a small C/C++ project (a static library and an
executable) with every process of the build under the library: cmake, make,
the compiler drivers, cc1/cc1plus, as, collect2, ld... The build must succeed
and give the same program as a plain build; every dump the many short-lived
processes wrote must be complete and readable."""

import collections
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwlib import expect, fail, log, require_tool, run_test  # noqa: E402

FILES = {
    "CMakeLists.txt": """cmake_minimum_required(VERSION 3.16)
project(tiny C CXX)
add_library(words STATIC words.c counter.cc)
add_executable(tiny main.c)
target_link_libraries(tiny PRIVATE words stdc++)
""",
    "words.h": """#pragma once
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
char *make_greeting(const char *who);
size_t count_letters(const char *text);
#ifdef __cplusplus
}
#endif
""",
    "words.c": """#include "words.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
char *make_greeting(const char *who) {
  size_t n = strlen(who) + 16;
  char *s = malloc(n);
  snprintf(s, n, "hello, %s!", who);
  return s;
}
""",
    "counter.cc": """#include "words.h"
#include <cctype>
#include <map>
#include <string>
extern "C" size_t count_letters(const char *text) {
  std::map<char, size_t> seen;
  for (const char *p = text; *p; ++p)
    if (std::isalpha(static_cast<unsigned char>(*p))) ++seen[*p];
  size_t total = 0;
  for (const auto &kv : seen) total += kv.second;
  return total;
}
""",
    "main.c": """#include "words.h"
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  char *g = make_greeting("leaktrace");
  printf("%s letters=%zu\\n", g, count_letters(g));
  free(g);
  return 0;
}
""",
}
EXPECTED = "hello, leaktrace! letters=14\n"


def build(ctx, tag, env):
    cmake = require_tool("cmake", "cmake")
    make = require_tool("make", "make")
    require_tool("cc", "build-essential")
    require_tool("c++", "build-essential")
    src = os.path.join(ctx.tmp, f"{tag}-src")
    bld = os.path.join(ctx.tmp, f"{tag}-build")
    os.makedirs(src)
    for name, text in FILES.items():
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    env = dict(env)
    for k in ("CC", "CXX", "CFLAGS", "CXXFLAGS", "LDFLAGS", "MAKEFLAGS", "MFLAGS", "CMAKE_GENERATOR"):
        env.pop(k, None)
    t0 = time.monotonic()
    rc, out, err = ctx.run([cmake, "-S", src, "-B", bld, "-G", "Unix Makefiles", "-DCMAKE_BUILD_TYPE=Release"],
                           env=env, cwd=ctx.tmp, timeout=120, check=False)
    if rc != 0:
        # cmake captures the output of the programs it runs (uname, the
        # compilers): anything the library prints there ends up in its variables.
        leaked = []
        for path in glob.glob(os.path.join(bld, "CMakeFiles", "*", "CMakeSystem.cmake")):
            leaked += [f"{os.path.relpath(path, bld)}: {l.strip()}" for l in open(path) if "leaktrace" in l]
        fail(f"[{tag}] cmake configure exited {rc}\n"
             + (f"leaktrace's own output got into what cmake captured from its child processes:\n  "
                + "\n  ".join(leaked[:4]) + "\n" if leaked else "")
             + f"stdout:\n{out[-2000:]}\nstderr:\n{err[-2000:]}")
    t1 = time.monotonic()
    _, make_out, _ = ctx.run([make, "-j2", "-C", bld], env=env, cwd=ctx.tmp, timeout=120)
    t2 = time.monotonic()
    binary = os.path.join(bld, "tiny")
    expect(os.access(binary, os.X_OK), f"[{tag}] the build did not produce {binary}:\n{make_out}")
    _, out, _ = ctx.run([binary], env=ctx.env(), timeout=20)
    expect(out == EXPECTED, f"[{tag}] the built program printed {out!r}, expected {EXPECTED!r}")
    log(f"[{tag}] configure {t1 - t0:.1f} s, make {t2 - t1:.1f} s; program prints {out.strip()!r}")
    return binary


def body(ctx):
    build(ctx, "plain", ctx.env())
    dump_dir = os.path.join(ctx.tmp, "dumps")
    os.makedirs(dump_dir)
    binary = build(ctx, "leaktrace", ctx.env(dump_dir))  # default mode, LEAKTRACE_ON_EXIT=1 by default

    # The program built under the library also runs under it.
    run_dir = os.path.join(ctx.tmp, "dumps-tiny")
    os.makedirs(run_dir)
    _, out, _ = ctx.run([binary], env=ctx.env(run_dir, sample=1), timeout=20)
    expect(out == EXPECTED, f"the built program under leaktrace printed {out!r}")
    ctx.check_dumps(run_dir, min_count=1, programs={"tiny"})

    t0 = time.monotonic()
    dumps = ctx.check_dumps(dump_dir, min_count=10)
    t1 = time.monotonic()
    by_program = collections.Counter(prog for (prog, _, _, _) in dumps.values())
    pids = collections.Counter(pid for (_, pid, _, _) in dumps.values())
    log(f"{len(dumps)} dumps from {len(pids)} processes, all readable ({t1 - t0:.1f} s to report them one by one)")
    log("by program: " + ", ".join(f"{p} {n}" for p, n in sorted(by_program.items(), key=lambda kv: -kv[1])))
    for pid, n in pids.items():
        seqs = sorted(seq for (_, p, seq, _) in dumps.values() if p == pid)
        expect(seqs == list(range(1, n + 1)), f"pid {pid}: dump sequence numbers {seqs}")
    # The tools of a build that must have run under the library.
    for needed in ("cmake", "make"):
        expect(by_program.get(needed), f"no dump from {needed} (programs seen: {sorted(by_program)})")
    expect(any(p.startswith("cc1") for p in by_program), f"no dump from cc1/cc1plus: {sorted(by_program)}")
    expect(any(p in ("as", "x86_64-linux-gnu-as") for p in by_program) or "collect2" in by_program
           or any(p.startswith("ld") for p in by_program), f"no dump from as/ld/collect2: {sorted(by_program)}")
    merged = ctx.report_json(sorted(dumps), timeout=120)
    log(f"merged report of all {len(dumps)} dumps: {len(merged['sites'])} sites")


run_test("cmake_build", body)
