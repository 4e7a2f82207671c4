#!/usr/bin/env bash
# Renders leaktrace's HTML flame graph (d3-flame-graph, inlined) in headless
# Chromium from a file, with no network, and checks that the page really drew
# it: runs examples/leaky_service under the library, snapshots it, exports
# `--format html`, then
#   - `chromium --dump-dom` must show the frames d3-flame-graph built, the
#     leaking function (parse_header) among them, labelled with its size and
#     file:line, and the header naming the program and its pid;
#   - with the page's #search=parse_header, the search must highlight its
#     frames and say how much they hold;
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

# On failure the rendered DOM is kept for a look ($TMPDIR/flamegraph-screenshot.dom.html).
fail() {
  if [ -n "${work:-}" ] && [ -f "$work/dom.html" ]; then
    cp "$work/dom.html" "${TMPDIR:-/tmp}/flamegraph-screenshot.dom.html"
    echo "flamegraph-screenshot: rendered DOM kept in ${TMPDIR:-/tmp}/flamegraph-screenshot.dom.html" >&2
  fi
  echo "flamegraph-screenshot: $*" >&2
  exit "${2:-1}"
}
chromium=$(command -v chromium || true)
[ -n "$chromium" ] || fail "chromium not found: install the Debian package 'chromium' (deps/debian-packages.txt)" 2
command -v python3 >/dev/null || fail "python3 not found (deps/debian-packages.txt)" 2
for tool in "$leaktrace" "$service"; do
  [ -x "$tool" ] || fail "$tool: not found; build first (scripts/setup.sh)" 2
done

work=$(mktemp -d "${TMPDIR:-/tmp}/flamegraph.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib/leaky-service-dump.sh
. "$top/scripts/lib/leaky-service-dump.sh"

# 1. A dump of the leaky service while it serves, every allocation recorded.
dump=$(leaky_service_dump "$work")
pid=$(basename "$dump" | cut -d. -f2)

# 2. The page.
page="$work/flamegraph.html"
"$leaktrace" export --format html -o "$page" "$dump"
grep -q 'parse_header' "$page" || fail "$page: the export does not name parse_header"

# 3. Headless Chromium. --no-sandbox: Chromium's sandbox refuses to run as
#    root (CI containers); the page is our own, read from a local file.
#    --virtual-time-budget: the page has drawn before the DOM is read.
browser=("$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
         --user-data-dir="$work/profile" --window-size=1200,800 --virtual-time-budget=3000)
timeout 120 "${browser[@]}" --dump-dom "file://$page" >"$work/dom.html" 2>"$work/chromium.log" ||
  { tail -5 "$work/chromium.log" >&2; fail "chromium --dump-dom failed"; }
# d3-flame-graph draws every frame as <g class="frame" name="LABEL"> with
# a <rect> and a label <div>; the HTML file itself has none. Our label:
# "function · SIZE (PCT%) · file:line".
boxes=$(grep -o '<g [^>]*class="frame"' "$work/dom.html" | wc -l)
((boxes >= 5)) || fail "the rendered page has ${boxes:-0} frames, expected the flame graph's (>= 5)"
grep -Eq 'class="d3-flame-graph-label"[^>]*>parse_header · [0-9.]+ (B|KiB|MiB) \([0-9.]+%\) · leaky_service\.c:[0-9]+<' "$work/dom.html" ||
  fail "the rendered page has no frame labelled 'parse_header · SIZE (PCT%) · leaky_service.c:LINE'"
grep -q "leaky_service, pid $pid, snapshot #1 at " "$work/dom.html" ||
  fail "the page's header does not name leaky_service, pid $pid and its snapshot"

# The search box, through the page's #search= link: parse_header's frames
# turn magenta and the line under the box says what they hold.
timeout 120 "${browser[@]}" --dump-dom "file://$page#search=parse_header" >"$work/search.html" 2>>"$work/chromium.log" ||
  { tail -5 "$work/chromium.log" >&2; fail "chromium --dump-dom (search) failed"; }
grep -Eq '<div id="details">search: [1-9][0-9]* frames?, [0-9.]+ (B|KiB|MiB) \([0-9.]+% of [0-9.]+ (B|KiB|MiB)\)</div>' "$work/search.html" ||
  fail "searching parse_header did not report what its frames hold"
highlighted=$(grep -o 'fill="#e600e6"' "$work/search.html" | wc -l)
((highlighted >= 1)) || fail "searching parse_header highlighted no frame"

mkdir -p "$(dirname "$out")"
rm -f "$work/shot.png"
timeout 120 "${browser[@]}" --screenshot="$work/shot.png" "file://$page" 2>>"$work/chromium.log" >/dev/null ||
  { tail -5 "$work/chromium.log" >&2; fail "chromium --screenshot failed"; }
[ -s "$work/shot.png" ] || fail "chromium wrote no screenshot"

# 4. The PNG: right size, and many colours (a blank or unstyled page has a few).
colours=$(python3 "$top/scripts/lib/png_colours.py" "$work/shot.png")
read -r width height count <<<"$colours"
[ "$width" = 1200 ] && [ "$height" = 800 ] || fail "screenshot is ${width}x${height}, expected 1200x800"
((count >= 20)) || fail "screenshot has $count distinct colours: the flame graph was not drawn"
cp "$work/shot.png" "$out"
echo "flamegraph-screenshot: $out (${width}x${height}, $count colours, $boxes frame boxes)"
