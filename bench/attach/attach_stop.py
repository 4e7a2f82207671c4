#!/usr/bin/env python3
"""How long `leaktrace attach` keeps the borrowed thread away from the program.

Builds a program that loads MODULES shared libraries (each importing malloc,
free, realloc, calloc, fopen, fclose, open, close, mmap and munmap, so every
one has slots the attach rewrites), waits for a line on stdin (blocked in
read: where attach finds it), and attaches to a fresh instance RUNS times.
The figure is what `leaktrace attach` prints: from PTRACE_INTERRUPT of the
thread to its detach (dlopen of the library, leaktrace_attach, restore).
Prints the median and the range.

  bench/attach/attach_stop.py --cli build/cli/leaktrace --lib build/preload/libleaktrace.so \\
      [--modules 50] [--runs 15]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

MODULE_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
int MODULE_NAME(int n) {
  char* p = malloc(n + 1);
  p = realloc(p, n + 2);
  void* q = calloc(1, n + 3);
  FILE* f = fopen("/dev/null", "r");
  if (f) fclose(f);
  int fd = open("/dev/null", O_RDONLY);
  if (fd >= 0) close(fd);
  void* m = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m != MAP_FAILED) munmap(m, 4096);
  free(q);
  free(p);
  return n;
}
"""

HOST_C = r"""
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    void* h = dlopen(argv[i], RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
  }
  printf("ready\n");
  fflush(stdout);
  char line[64];
  if (!fgets(line, sizeof line, stdin)) return 3;
  return 0;
}
"""


def build(tmp, modules):
    libs = []
    for i in range(modules):
        src = os.path.join(tmp, f"m{i}.c")
        with open(src, "w") as f:
            f.write(MODULE_C.replace("MODULE_NAME", f"module_{i}"))
        lib = os.path.join(tmp, f"libm{i}.so")
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", lib, src], check=True)
        libs.append(lib)
    host_src = os.path.join(tmp, "host.c")
    with open(host_src, "w") as f:
        f.write(HOST_C)
    host = os.path.join(tmp, "host")
    subprocess.run(["cc", "-O2", "-o", host, host_src], check=True)
    return host, libs


def modules_mapped(pid):
    paths = set()
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and ".so" in parts[5]:
                paths.add(parts[5])
    return len(paths)


def one_run(args, host, libs, dump_dir):
    env = dict(os.environ, LD_PRELOAD="")
    p = subprocess.Popen([host, *libs], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        if p.stdout.readline().strip() != b"ready":
            raise SystemExit("the host program did not start")
        loaded = modules_mapped(p.pid)
        r = subprocess.run([args.cli, "attach", "-o", dump_dir, str(p.pid)], capture_output=True, text=True,
                           env=dict(env, LEAKTRACE_LIBRARY=args.lib))
        if r.returncode != 0:
            raise SystemExit(f"leaktrace attach failed: {r.stderr.strip()}")
        ms = float(re.search(r"stopped for ([0-9.]+) ms", r.stdout).group(1))
        p.stdin.write(b"go\n")
        p.stdin.close()
        if p.wait(timeout=60) != 0:
            raise SystemExit(f"the host program exited {p.returncode} after the attach")
        return ms, loaded
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--modules", type=int, default=50)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    args.cli = os.path.realpath(args.cli)
    args.lib = os.path.realpath(args.lib)
    with tempfile.TemporaryDirectory(prefix="leaktrace-attach-bench-") as tmp:
        host, libs = build(tmp, args.modules)
        times, loaded = [], 0
        for _ in range(args.runs):
            ms, loaded = one_run(args, host, libs, tmp)
            times.append(ms)
        print(f"attach stop time, {loaded} shared objects mapped before the attach ({args.modules} generated), "
              f"{args.runs} runs: median {statistics.median(times):.1f} ms, min {min(times):.1f}, "
              f"max {max(times):.1f}")


if __name__ == "__main__":
    main()
