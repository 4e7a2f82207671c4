#!/usr/bin/env bash
# Renders leaktrace's HTML flame graph in headless Chromium and checks that
# the page really drew it: runs examples/leaky_service under the library,
# snapshots it, exports `--format html`, then
#   - `chromium --dump-dom` must show the frame boxes the page's script built,
#     the leaking function (parse_header) among them;
#   - `chromium --screenshot` must give a 1200x800 PNG with many distinct
#     colours (one hue per function), not a blank page.
#
# usage: scripts/flamegraph-screenshot.sh [OUT.png]   (default docs/flamegraph.png)
#
# Needs a build (scripts/setup.sh; $LEAKTRACE_BUILD_DIR, default ./build),
# Debian's chromium, and python3. Exit 0 when the checks pass, 1 when the
# page did not render as it should, 2 when something needed is missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${LEAKTRACE_BUILD_DIR:-$top/build}
leaktrace="$build_dir/cli/leaktrace"
service="$build_dir/examples/leaky_service"
out=${1:-$top/docs/flamegraph.png}

fail() { echo "flamegraph-screenshot: $*" >&2; exit "${2:-1}"; }
chromium=$(command -v chromium || true)
[ -n "$chromium" ] || fail "chromium not found: install the Debian package 'chromium' (deps/debian-packages.txt)" 2
command -v python3 >/dev/null || fail "python3 not found (deps/debian-packages.txt)" 2
for tool in "$leaktrace" "$service"; do
  [ -x "$tool" ] || fail "$tool: not found; build first (scripts/setup.sh)" 2
done

work=$(mktemp -d "${TMPDIR:-/tmp}/flamegraph.XXXXXX")
runner_pid=""
cleanup() {
  if [ -n "$runner_pid" ]; then kill "$runner_pid" 2>/dev/null || true; wait "$runner_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. A dump of the leaky service while it serves, every allocation recorded.
LEAKTRACE_ON_EXIT=0 "$leaktrace" run -o "$work" --sample 1 -- "$service" --rate 5000 --seconds 30 \
  >"$work/service.log" 2>&1 &
runner_pid=$!
pid=""
for _ in $(seq 200); do
  pid=$(sed -n 's/^leaky_service: pid \([0-9]*\),.*/\1/p' "$work/service.log" 2>/dev/null)
  [ -n "$pid" ] && break
  sleep 0.05
done
[ -n "$pid" ] || { cat "$work/service.log" >&2; fail "leaky_service did not start" 2; }
sleep 1
dump=$("$leaktrace" snapshot --timeout 20 "$pid")
kill -TERM "$pid"
wait "$runner_pid" || true
runner_pid=""

# 2. The page.
page="$work/flamegraph.html"
"$leaktrace" export --format html -o "$page" "$dump"
grep -q 'parse_header' "$page" || fail "$page: the export does not name parse_header"

# 3. Headless Chromium. --no-sandbox: Chromium's sandbox refuses to run as
#    root (CI containers); the page is our own, read from a local file.
browser=("$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
         --user-data-dir="$work/profile" --window-size=1200,800)
timeout 120 "${browser[@]}" --dump-dom "file://$page" >"$work/dom.html" 2>"$work/chromium.log" ||
  { tail -5 "$work/chromium.log" >&2; fail "chromium --dump-dom failed"; }
# The page's script turns every frame into
#   <div title="NAME\nVALUE" style="left: X%; width: W%; top: Ypx; background: ...">NAME</div>
# (the title spans two lines); in the HTML file itself there is none.
boxes=$(grep -c 'style="left: [^"]*; width: [^"]*; top: [^"]*">[^<]*</div>' "$work/dom.html" || true)
((boxes >= 5)) || fail "the rendered page has ${boxes:-0} frame boxes, expected the flame graph's (>= 5)"
grep -q 'style="left: [^"]*">parse_header</div>' "$work/dom.html" ||
  fail "the rendered page has no box for parse_header"

mkdir -p "$(dirname "$out")"
rm -f "$work/shot.png"
timeout 120 "${browser[@]}" --screenshot="$work/shot.png" "file://$page" 2>>"$work/chromium.log" >/dev/null ||
  { tail -5 "$work/chromium.log" >&2; fail "chromium --screenshot failed"; }
[ -s "$work/shot.png" ] || fail "chromium wrote no screenshot"

# 4. The PNG: right size, and many colours (a blank or unstyled page has a few).
colours=$(python3 - "$work/shot.png" <<'EOF'
# Counts the distinct colours of an 8-bit RGB/RGBA, non-interlaced PNG (what
# Chromium writes), with the standard library only. Prints "W H COLOURS".
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat = 8, b''
while pos < len(data):
    length, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b'IHDR':
        width, height, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
    elif kind == b'IDAT':
        idat += body
    pos += 12 + length
assert depth == 8 and ctype in (2, 6) and interlace == 0, 'unexpected PNG layout'
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), width * bpp
prev, colours, i = bytearray(stride), set(), 0
for _ in range(height):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    colours.update(bytes(line[x:x + 3]) for x in range(0, stride, bpp))
    prev = line
print(width, height, len(colours))
EOF
)
read -r width height count <<<"$colours"
[ "$width" = 1200 ] && [ "$height" = 800 ] || fail "screenshot is ${width}x${height}, expected 1200x800"
((count >= 20)) || fail "screenshot has $count distinct colours: the flame graph was not drawn"
cp "$work/shot.png" "$out"
echo "flamegraph-screenshot: $out (${width}x${height}, $count colours, $boxes frame boxes)"
