#!/usr/bin/env bash
# Checks `leaktrace export --format speedscope` against speedscope itself:
# runs examples/leaky_service under the library, snapshots it, exports the
# dump, then
#   - validates the file against speedscope's file-format schema (ajv, and
#     what the schema cannot say: tests/examples/speedscope_validate.mjs);
#   - opens it in speedscope's own viewer (the npm package's dist/release,
#     the way its `speedscope FILE` command does: #localProfilePath=) in
#     headless Chromium, and checks the viewer imported it: the DOM names
#     our first profile and parse_header's frame is drawn on the flame chart
#     (a screenshot with many colours).
#
# usage: scripts/speedscope-check.sh [OUT.png]   (default: no screenshot kept)
#
# Needs a build (scripts/setup.sh; $LEAKTRACE_BUILD_DIR, default ./build,
# whose reporter/web/node_modules holds ajv and speedscope), node, Debian's
# chromium and python3. Exit 0 when the checks pass, 1 when they fail, 2 when
# something needed is missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${LEAKTRACE_BUILD_DIR:-$top/build}
leaktrace="$build_dir/cli/leaktrace"
service="$build_dir/examples/leaky_service"
modules="$build_dir/reporter/web/node_modules"
out=${1:-}

fail() { echo "speedscope-check: $*" >&2; exit "${2:-1}"; }
chromium=$(command -v chromium || true)
[ -n "$chromium" ] || fail "chromium not found: install the Debian package 'chromium' (deps/debian-packages.txt)" 2
command -v node >/dev/null || fail "node not found (Node.js with npm is needed to build leaktrace)" 2
for tool in "$leaktrace" "$service"; do
  [ -x "$tool" ] || fail "$tool: not found; build first (scripts/setup.sh)" 2
done
[ -f "$modules/speedscope/dist/release/index.html" ] && [ -d "$modules/ajv" ] ||
  fail "$modules: no speedscope or ajv; build with -DLEAKTRACE_HTML_FLAMEGRAPH=ON (scripts/setup.sh)" 2

work=$(mktemp -d "${TMPDIR:-/tmp}/speedscope.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=lib/leaky-service-dump.sh
. "$top/scripts/lib/leaky-service-dump.sh"

dump=$(leaky_service_dump "$work")
profile="$work/leaky_service.speedscope.json"
"$leaktrace" export --format speedscope -o "$profile" "$dump"

# 1. The schema.
node "$top/tests/examples/speedscope_validate.mjs" "$modules" "$profile" || fail "$profile is not a valid speedscope file"

# 2. The viewer. speedscope's index.html loads the script named by
#    #localProfilePath=, which hands it the file (as its CLI does).
first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["profiles"][0]["name"])' "$profile")
python3 - "$profile" "$work/profile.js" <<'PY'
import base64, json, os, sys
data = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'w').write('speedscope.loadFileFromBase64(%s, %s)' % (
    json.dumps(os.path.basename(sys.argv[1])), json.dumps(base64.b64encode(data).decode())))
PY
url="file://$modules/speedscope/dist/release/index.html#localProfilePath=$work/profile.js"
browser=("$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
         --user-data-dir="$work/chrome" --window-size=1200,800 --virtual-time-budget=5000
         --allow-file-access-from-files)
timeout 120 "${browser[@]}" --dump-dom "$url" >"$work/dom.html" 2>"$work/chromium.log" ||
  { tail -5 "$work/chromium.log" >&2; fail "chromium --dump-dom failed"; }
grep -qF "$first" "$work/dom.html" ||
  fail "speedscope's viewer did not load the profile: its page does not name '$first'"
if grep -qi "something went wrong\|unrecognized format" "$work/dom.html"; then fail "speedscope reported an import error"; fi

timeout 120 "${browser[@]}" --screenshot="$work/shot.png" "$url" >/dev/null 2>>"$work/chromium.log" ||
  { tail -5 "$work/chromium.log" >&2; fail "chromium --screenshot failed"; }
colours=$(python3 "$top/scripts/lib/png_colours.py" "$work/shot.png")
read -r width height count <<<"$colours"
((count >= 20)) || fail "speedscope's screenshot has $count distinct colours: no flame chart was drawn"
if [ -n "$out" ]; then cp "$work/shot.png" "$out"; fi
echo "speedscope-check: $profile valid and loaded by speedscope's viewer ('$first'; ${width}x${height} screenshot, $count colours)"
