#!/bin/bash
# A shell script that forks a subshell per line, the way scripts do
# (x=$(echo $i)): subshells.sh COUNT. Prints the sum of what the subshells
# echoed. Under the tracker every subshell is a fork of a traced bash.
count=${1:-1000}
sum=0
for ((i = 0; i < count; i++)); do
  x=$(echo $i)
  sum=$((sum + x))
done
echo "$sum"
