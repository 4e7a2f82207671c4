#!/usr/bin/env bash
# expect_status.sh STATUS PATTERN CMD [ARGS...]: runs CMD, shows its output,
# and passes when CMD exits with STATUS and its output (stdout and stderr)
# matches the extended regular expression PATTERN ("" matches anything).
# Exit codes are compared exactly, so a script that could not run at all
# (exit 2) never passes for one that failed as it was meant to (exit 1).
set -uo pipefail
expected=$1 pattern=$2
shift 2
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
echo "expect_status: exit status $status, expected $expected"
[ "$status" -eq "$expected" ] || exit 1
if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$output"; then
  echo "expect_status: the output does not match '$pattern'"
  exit 1
fi
exit 0
