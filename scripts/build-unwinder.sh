#!/usr/bin/env bash
# Builds the unwinder the preload library links in: Debian's libunwind
# source package (the version and checksums in deps/unwinder.txt, with
# Debian's patches), as a static, position-independent archive with hidden
# symbols, installed into DEST (lib/libunwind.a, include/).
#
# Why not Debian's libunwind.so.8: a shared library the preload library needs
# is loaded into every process started under leaktrace, and libunwind.so.8
# brings liblzma.so.5 with it; the two cost about 80 us of every process
# start (bench/RESULTS.md), and libunwind.so.8 adds its _Unwind_* functions
# to the program's namespace. Linked in, only the code leaktrace calls is
# there, hidden.
#
# Built without what leaktrace never uses: compressed debug sections
# (liblzma, zlib), the C++ exception ABI, remote unwinding (ptrace,
# coredump), setjmp, and the weak `backtrace` alias.
#
# leaktrace's own changes to it are the patches in deps/unwinder-patches/,
# applied after Debian's (each file says what it changes and why).
#
# Usage: scripts/build-unwinder.sh DEST. Does nothing when DEST already holds
# this version with these patches. Needs curl, dpkg-source (dpkg-dev), patch
# and a C compiler.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$(realpath -m "${1:?usage: build-unwinder.sh DEST}")  # configure wants an absolute prefix
pins=$top/deps/unwinder.txt
version=$(awk '$1 == "version" {print $2}' "$pins")
archive=$(awk '$1 == "archive" {print $2}' "$pins")
patches=$(find "$top/deps/unwinder-patches" -name '*.patch' 2>/dev/null | LC_ALL=C sort)
# The version stamp names the patches' contents too: a changed patch rebuilds.
stamp="$version $(cat /dev/null $patches | sha256sum | cut -c1-16)"

if [ -f "$dest/lib/libunwind.a" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/leaktrace-unwinder.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "build-unwinder: libunwind $version from Debian's source package" >&2
dsc=
while read -r kind sum file; do
  [ "$kind" = sha256 ] || continue
  curl -sSfL --retry 3 -o "$work/$file" "$archive/$file" ||
    { echo "build-unwinder: cannot download $archive/$file" >&2; exit 1; }
  echo "$sum  $work/$file" | sha256sum -c --quiet - ||
    { echo "build-unwinder: $file does not match its checksum in deps/unwinder.txt" >&2; exit 1; }
  case $file in *.dsc) dsc=$file ;; esac
done < "$pins"
# The checksums above stand for the signature dpkg-source would check.
(cd "$work" && dpkg-source --no-check -x "$dsc" src >/dev/null)
for p in $patches; do
  patch -s -d "$work/src" -p1 < "$p" || { echo "build-unwinder: $p does not apply" >&2; exit 1; }
done

cd "$work/src"
log=$work/build.log
fail() { tail -n 40 "$log" >&2; echo "build-unwinder: $1 failed (the log's end is above)" >&2; exit 1; }
./configure --prefix="$dest.partial" \
  --disable-shared --enable-static --with-pic \
  --disable-minidebuginfo --disable-zlibdebuginfo --disable-cxx-exceptions \
  --disable-coredump --disable-ptrace --disable-setjmp --disable-weak-backtrace \
  --disable-unwind-header --disable-tests --disable-documentation \
  CFLAGS="-O2 -g -fvisibility=hidden -ftls-model=initial-exec" >"$log" 2>&1 || fail configure
make -j "$(nproc)" >>"$log" 2>&1 || fail make
rm -rf "$dest.partial"
make install >>"$log" 2>&1 || fail "make install"
echo "$stamp" > "$dest.partial/VERSION"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "build-unwinder: installed into $dest" >&2
