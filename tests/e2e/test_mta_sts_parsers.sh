#!/bin/bash
# Differential: tlsgate's MTA-STS parsers (policy/sts.c: the policy text of RFC 8461 §3.2, the
# TXT record set of §3.1) against another implementation's (mailauth, strict mode) on a few
# thousand generated cases -- the grammar's corners (case, blanks, CR/LF, repeated and unknown
# keys, max_age bounds, mx patterns, ids, delimiters).  Every case must get the same answer.
# (Cases the implementations legitimately treat differently are not generated: a NUL byte, which
# tlsgate refuses outright, and over 256 mx patterns, which it caps.)
set -u
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
helper=$B/tests/e2e/helper_sts_parse
[ -x "$helper" ] || bail "$helper not built"
if ! peer=$("$top/tests/lib/fetch-mailauth" 2>&1); then
	echo "the other implementation cannot be had: $peer"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$work" <<'PY'
import os, random, sys
work = sys.argv[1]
rnd = random.Random(8461)
pool = {
    'version': ['version: STSv1', 'version: STSv2', 'version:STSv1', 'Version: STSv1',
                'version: stsv1', 'version : STSv1', ' version: STSv1', 'version: STSv1 '],
    'mode': ['mode: enforce', 'mode: testing', 'mode: none', 'mode: Enforce', 'mode:enforce',
             'mode: enforce ', 'mode:\tenforce', 'mode: bogus', 'mode: ', 'mode: none\t'],
    'max_age': ['max_age: 86400', 'max_age: 0', 'max_age: 31557600', 'max_age: 31557601',
                'max_age: 0086400', 'max_age: 12345678901', 'max_age: -1', 'max_age: 8a',
                'max_age: ', 'max_age: 1e5', 'max_age: 604800'],
    'mx': ['mx: mail.example.com', 'mx: *.example.net', 'mx: MX1.Example.NET', 'mx: a',
           'mx: -a.b', 'mx: a-.b', 'mx: a_b.c', 'mx: *', 'mx: *.', 'mx: a..b', 'mx: a.b.',
           'mx: *.*.b', 'mx: x*.b', 'mx: 1.2.3.4', 'mx: a.b c', 'mx:', 'mx: ' + 'a' * 64 + '.b',
           'mx: ' + 'a' * 63 + '.b', 'mx: xn--bcher-kva.example', 'mx: mail.example.com',
           'mx:mx2.example.com', 'mx: a-b-c.d'],
    'other': ['foo: bar', '<html>', '', '# comment', 'x_y.z: 1', 'a' * 33 + ': v', 'mode',
              ':', 'mx mail.example.com', 'max-age: 5', 'MX: other.example', 'mode\t: none'],
}
weights = {'version': (0, 1, 1, 1, 1, 1, 2), 'mode': (0, 1, 1, 1, 1, 2),
           'max_age': (0, 1, 1, 1, 1, 2),
           'mx': (0, 1, 1, 2, 3, 4), 'other': (0, 0, 1, 2)}
os.makedirs(f'{work}/policy')
for i in range(3000):
    lines = []
    for k, ws in weights.items():
        for _ in range(rnd.choice(ws)):
            # the well-formed choice 3 times in 4, so that many cases parse
            good = k != 'other' and rnd.random() < 0.75
            lines.append(pool[k][0] if good else rnd.choice(pool[k]))
    rnd.shuffle(lines)
    out = ''
    for j, l in enumerate(lines):
        out += l
        if j < len(lines) - 1 or rnd.random() < 0.7:
            out += rnd.choice(['\n', '\r\n', '\n', '\r\n', ' \n', '\r'])
    with open(f'{work}/policy/p{i:04d}', 'w', newline='') as f:
        f.write(out)
recs = ['v=STSv1; id=abc;', 'v=STSv1;id=1', 'v=STSv1 ; id=x ;', 'v=STSv1', 'v=STSv1 id=1',
        'v=STSv1; id=', 'v=STSv1; id=a-b', 'v=STSv1; id=a; id=b', 'v=STSv1; id=a;; x=1',
        'v=STSv1; x=1', 'v=STSv1; id=' + 'a' * 33, 'v=STSv1; id=' + 'b' * 32, 'v=spf1 -all',
        'V=STSv1; id=1', 'v=STSv1; id=1; ext=va:lue', 'v=STSv1; id=1; e=a=b', 'v=STSv1;\tid=t',
        'v=STSv1 ;id=z ; ', 'v=STSv1; id=1 x', 'v=STSv1; id = 1',
        'v=STSv1; ' + 'e' * 33 + '=1; id=2',
        'v=STSv1; id=q; id=r;s', 'v=STSv1; id=7;', ' v=STSv1; id=1']
os.makedirs(f'{work}/txt')
for i in range(2000):
    rs = [rnd.choice(recs) for _ in range(rnd.choice((0, 1, 1, 1, 2, 3)))]
    with open(f'{work}/txt/t{i:04d}', 'w') as f:
        f.write(''.join(r + '\n' for r in rs))
PY

for kind in policy txt; do
	"$helper" $kind "$work/$kind"/* > "$work/ours.$kind"
	node "$top/tests/lib/sts_peer_parse.js" "$peer" $kind "$work/$kind"/* > "$work/theirs.$kind"
	n=$(wc -l < "$work/ours.$kind")
	ok=$(grep -c " ok \| id " "$work/ours.$kind")
	diff "$work/ours.$kind" "$work/theirs.$kind" > "$work/diff.$kind"
	is "$(grep -c '^<' "$work/diff.$kind")" 0 \
		"$kind: $n cases ($ok accepted), tlsgate and mailauth give the same answer to each"
	for f in $(grep '^<' "$work/diff.$kind" | head -n 5 | awk '{print $2}'); do
		diag "$f: tlsgate: $(grep "^$f " "$work/ours.$kind" | cut -d' ' -f2-)"
		diag "$f: mailauth: $(grep "^$f " "$work/theirs.$kind" | cut -d' ' -f2-)"
		diag "$f: $(od -c "$work/$kind/$f" | head -n 6 | tr '\n' ' ')"
	done
done
tap_done
