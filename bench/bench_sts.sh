#!/bin/bash
# MTA-STS cache benchmark: a worker's lookup cost at 1 000 .. 100 000 domains, its worst wait
# while the cache is written and evicted, and loading 10 000 cached policies at start.  Writes
# bench/results/sts.json and .md; exits non-zero when a limit is missed.
#   bench/bench_sts.sh            (BUILD=build-x to use another build directory)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${BUILD:-build}
make --no-print-directory BUILD="$B" "$B/libpolicy.a" "$B/libtgutil.a" >/dev/null
bin="$B/bench/bench_sts"
mkdir -p "$(dirname "$bin")" bench/results
${CC:-gcc} -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -I. bench/bench_sts.c \
	"$B/libpolicy.a" "$B/libtgutil.a" -lpthread -o "$bin"
"$bin" bench/results/sts.json bench/results/sts.md
rc=$?
cat bench/results/sts.md
exit $rc
