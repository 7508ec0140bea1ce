#!/bin/bash
# Policy engine benchmark: load time and lookup cost for tables of 1 000, 10 000 and 100 000
# rules; proves "100 000 rules load in under a second" and "lookups in O(log n) or better" (the
# cost must not grow with the table like a scan).  Writes bench/results/policy.json and .md;
# exits non-zero when a limit is missed.
#   bench/bench_policy.sh            (BUILD=build-x to use another build directory)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${BUILD:-build}
make --no-print-directory BUILD="$B" "$B/libpolicy.a" "$B/libtgutil.a" >/dev/null
bin="$B/bench/bench_policy"
mkdir -p "$(dirname "$bin")" bench/results
# Optimised like the product (-O2), without sanitizers.
${CC:-gcc} -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -I. bench/bench_policy.c \
	"$B/libpolicy.a" "$B/libtgutil.a" -lm -lpthread -o "$bin"
"$bin" bench/results/policy.json bench/results/policy.md
rc=$?
cat bench/results/policy.md
exit $rc
