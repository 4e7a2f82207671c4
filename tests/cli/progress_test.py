#!/usr/bin/env python3
"""Progress of `leaktrace report` on a large dump (cli/progress.h).

usage: progress_test.py --cli LEAKTRACE --make-dump MAKE_LARGE_DUMP

Checks, on a real dump of 200,000 sites written by the real DumpWriter:
  - stderr a pseudo-terminal, LEAKTRACE_PROGRESS_DELAY=0: a line
    "symbolizing N/200,000 stacks" appears, rewritten in place with '\\r',
    and is blanked at the end; stdout (a pipe) holds the report only;
  - stderr a pipe: not a byte of progress, whatever the delay;
  - stderr a pseudo-terminal, a delay of 10 s, a dump of 10 sites (done in
    far less than the delay): nothing either.
"""
import argparse
import os
import pty
import re
import subprocess
import sys
import tempfile
import time

SITES = 200_000


def run_with_pty_stderr(argv, env):
    """Runs argv with stderr on a new pseudo-terminal; returns (exit code,
    stdout bytes, everything written to the terminal)."""
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=slave, env=env)
        os.close(slave)
        seen = b''
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        code = proc.wait(timeout=300)
        os.close(master)
        out.seek(0)
        return code, out.read(), seen


def fail(message):
    print('FAIL: ' + message, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cli', required=True)
    ap.add_argument('--make-dump', required=True)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, 'server.100.1.dump')
        small = os.path.join(tmp, 'server.100.2.dump')
        subprocess.run([args.make_dump, big, str(SITES)], check=True)
        subprocess.run([args.make_dump, small, '10'], check=True)
        report = [args.cli, 'report', '--top', '1']
        env = dict(os.environ, LEAKTRACE_PROGRESS_DELAY='0')
        env.pop('NO_COLOR', None)

        # 1. A terminal: progress, updated in place, then blanked.
        start = time.monotonic()
        code, out, tty = run_with_pty_stderr(report + [big], env)
        elapsed = time.monotonic() - start
        if code != 0:
            fail(f'report exited {code}: {tty!r}')
        text = tty.decode('utf-8', 'replace').replace('\r\n', '\n')
        lines = re.findall(r'\rsymbolizing ([\d,]+)/([\d,]+) stacks', text)
        if not lines:
            fail(f'no progress line on the terminal: {text[:300]!r}')
        totals = {t for _, t in lines}
        if totals != {f'{SITES:,}'}:
            fail(f'progress totals {totals}, expected {SITES:,}')
        done = [int(d.replace(',', '')) for d, _ in lines]
        if done != sorted(done) or done[-1] > SITES:
            fail(f'progress does not go forward: {done}')
        # At most ten updates a second (one at once, with no delay).
        if len(lines) > 1 + 10 * elapsed:
            fail(f'{len(lines)} progress updates in {elapsed:.2f} s, more than ten a second')
        tail = text[text.rfind('stacks') + len('stacks'):]
        # Blanked, and what follows (the report's warnings) starts clean. The
        # blank covers the last line written, which on a loaded machine may
        # be short of the total (fewer digits done).
        blank = re.match(r' *\r( +)\r', tail)
        if not blank or len(blank.group(1)) < len(f'symbolizing {lines[-1][0]}/{lines[-1][1]} stacks'):
            fail(f'the progress line is not blanked at the end: {tail!r}')
        if tail[blank.end():] and not tail[blank.end():].startswith('leaktrace: '):
            fail(f'unexpected output after the progress line: {tail!r}')
        if b'symbolizing' in out or b'server (pid 100)' not in out:
            fail(f'stdout is not the report alone: {out[:300]!r}')
        print(f'terminal: {len(lines)} progress update(s), last "{lines[-1][0]}/{lines[-1][1]}", blanked')

        # 2. Not a terminal: silence, even with no delay.
        r = subprocess.run(report + [big], env=env, capture_output=True)
        if r.returncode != 0:
            fail(f'report exited {r.returncode}: {r.stderr!r}')
        if b'symbolizing' in r.stderr or b'\r' in r.stderr:
            fail(f'progress on a stderr that is not a terminal: {r.stderr[:300]!r}')
        print(f'pipe: stderr {len(r.stderr)} bytes, no progress')

        # 3. A terminal, work done within the delay: nothing. The delay is
        # 10 s here rather than the default 0.5 s, which a loaded machine
        # (CI runs the sanitized build beside other tests) can overrun even
        # for ten stacks, making the check depend on the machine's speed.
        quiet_env = dict(env, LEAKTRACE_PROGRESS_DELAY='10')
        code, out, tty = run_with_pty_stderr(report + [small], quiet_env)
        if code != 0:
            fail(f'report of the small dump exited {code}: {tty!r}')
        if b'symbolizing' in tty or b'\r' in tty.replace(b'\r\n', b''):
            fail(f'progress for quick work: {tty!r}')
        print('terminal, small dump: no progress')


if __name__ == '__main__':
    main()
