#!/bin/bash
# git as a developer uses it: init, five commits of 200 files, gc, then what
# must be the same every time (commit ids: fixed names and dates), in the
# current directory: git_workload.sh. Each git command is a process under
# the tracker, and gc starts several more.
set -eu
export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
rm -rf repo
git init -q -b main repo
cd repo
for c in 1 2 3 4 5; do
  for ((f = 0; f < 200; f++)); do
    for ((l = 0; l < 20; l++)); do
      printf 'file %d line %d of commit %d: %s\n' "$f" "$l" "$c" "$((f * l * c % 9973))"
    done >"file$((f % 50))_$f.txt"
  done
  git add -A
  GIT_AUTHOR_DATE="2020-01-0${c}T12:00:00+0000" GIT_COMMITTER_DATE="2020-01-0${c}T12:00:00+0000" \
    git commit -q -m "commit $c"
done
git gc -q
git log --format='%H %s'
git count-objects -v | grep -E '^(count|in-pack|packs):'
git fsck --no-progress && echo "fsck ok"
