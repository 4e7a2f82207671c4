#!/usr/bin/env python3
"""Writes a small C project for the `make -j2` benchmark: gen_make_project.py DIR [UNITS].

UNITS source files of a few functions each, a main calling them all, and a
Makefile (compile each, link, nothing else). Deterministic; the built
program prints one line, which the benchmark compares across variants.
A build is mostly process start-ups: make, sh, gcc, cc1, as, collect2, ld.
"""
import os
import sys


def main():
    root = sys.argv[1]
    units = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    os.makedirs(root, exist_ok=True)
    for u in range(units):
        with open(os.path.join(root, f"unit{u}.c"), "w") as f:
            f.write("#include <string.h>\n")
            for k in range(6):
                f.write(f"""
long unit{u}_f{k}(long x) {{
  char buf[64];
  long acc = x + {u * 10 + k};
  for (int i = 0; i < 50; ++i) {{
    memset(buf, (int)(acc & 0x7f), sizeof buf);
    acc = acc * 33 + buf[i % 64] + i;
    if (acc % 7 == {k}) acc ^= {u};
  }}
  return acc;
}}
""")
    with open(os.path.join(root, "main.c"), "w") as f:
        f.write("#include <stdio.h>\n")
        for u in range(units):
            for k in range(6):
                f.write(f"long unit{u}_f{k}(long);\n")
        f.write("int main(void) {\n  long s = 0;\n")
        for u in range(units):
            for k in range(6):
                f.write(f"  s += unit{u}_f{k}(s & 1023);\n")
        f.write('  printf("%ld\\n", s);\n  return 0;\n}\n')
    objs = " ".join([f"unit{u}.o" for u in range(units)] + ["main.o"])
    with open(os.path.join(root, "Makefile"), "w") as f:
        f.write(f"""CC = gcc
CFLAGS = -O2
OBJS = {objs}

prog: $(OBJS)
\t$(CC) -o $@ $(OBJS)

%.o: %.c
\t$(CC) $(CFLAGS) -c $< -o $@
""")


if __name__ == "__main__":
    main()
