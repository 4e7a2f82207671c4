#!/bin/bash
# A script that reads its input through a descriptor of its own (fd 3, as
# `while read -u 3` loops do, leaving stdin to the commands in the loop) and
# forks a subshell per line: read_fd3.sh FILE. Prints the number of lines and
# their sum. Every number the program can see is the program's: a tracker
# that keeps a descriptor of its own at 3 breaks this script.
exec 3<"$1"
lines=0
sum=0
while read -r -u 3 i; do
  x=$(echo "$i")
  sum=$((sum + x))
  lines=$((lines + 1))
done
exec 3<&-
echo "$lines lines, sum $sum"
