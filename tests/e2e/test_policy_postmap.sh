#!/bin/bash
# e2e: the Postfix comparison corpus (tests/unit/data/policy-corpus/tls_policy) through the real
# postmap, the other half of tests/unit/test_policy_corpus.c (which checks tlsgate's verdicts and
# that tlsgate is never weaker than Postfix).  Here, per "#@" note: what `postmap -q LOOKUP
# texthash:CORPUS` answers (this entry, another one, nothing) is what the note says; and every
# entry postmap warns about is one tlsgate warns about too (warn=yes).  No network, no daemon:
# postmap runs on a throwaway config directory.
set -u
. "$(dirname "$0")/../lib/tap.sh"

corpus=tests/unit/data/policy-corpus/tls_policy
[ -r "$corpus" ] || bail "$corpus missing (run from the top of the tree)"
if ! command -v postmap >/dev/null; then
	skip "postmap not installed (Debian: postfix; make deps)" "postmap reads the corpus"
	tap_done
	exit
fi
cfg=$(mktemp -d /tmp/tg-postmap.XXXXXX)
trap 'rm -rf "$cfg"' EXIT
: > "$cfg/main.cf"
pm() { postmap -c "$cfg" "$@"; }
version=$(postconf -c "$cfg" -h mail_version 2>/dev/null)
diag "postmap of Postfix $version (the notes describe Postfix 3.7)"

# Entries as postmap reads them: per note, the line of its entry and the entry's level (the
# first word of the value; the key may stand alone on the first line of a continued entry).
entries=$(awk '
	/^#@/ { if (line) print line "\t" lvl "\t" note0; line = 0; note = $0; want = 1; next }
	/^[[:space:]]*#/ || NF == 0 { next }
	want { line = NR; note0 = note; lvl = NF >= 2 ? $2 : "-"; want = 0; next }
	line && lvl == "-" && /^[[:space:]]/ { lvl = $1 }
	END { if (line) print line "\t" lvl "\t" note0 }
' "$corpus")
n=$(printf '%s\n' "$entries" | grep -c .)
[ "$n" -ge 50 ] || bail "corpus has $n annotated entries, want >= 50"

bad=0
while IFS=$'\t' read -r line level note; do
	lookup=$(sed -n 's/.* lookup=\([^ ]*\).*/\1/p' <<<"$note")
	want=$(sed -n 's/.* postmap=\([^ ]*\).*/\1/p' <<<"$note")
	got=$(pm -q "$lookup" "texthash:$corpus" 2>/dev/null)
	rc=$?
	first=${got%%[ ,	]*}
	level=${level%%,*}
	if [ $rc != 0 ]; then
		verdict=none
	elif [ "${first,,}" = "${level,,}" ] && [ "$want" != other ]; then
		verdict=this
	else
		verdict=other
	fi
	if [ "$verdict" != "$want" ]; then
		diag "$corpus:$line: postmap -q '$lookup' -> rc=$rc '$got': $verdict, note says $want"
		bad=$((bad + 1))
	fi
done <<<"$entries"
ok $bad "postmap answers every lookup as its note says ($n entries)"

# postmap's own warnings ("line N: duplicate entry", "expected format", "must not start with
# whitespace") only concern entries tlsgate warns about as well.
bad=0
warned=$(pm -q nonexistent.invalid "texthash:$corpus" 2>&1 >/dev/null | grep -c 'warning:')
[ "$warned" -ge 4 ]
ok $? "postmap warns about the corpus ($warned warnings: duplicates, no value, indentation)"
while read -r wline; do
	note=$(awk -v l="$wline" '/^#@/ { n = $0 } NR == l { print n; exit }' "$corpus")
	if ! grep -q ' warn=yes' <<<"$note"; then
		diag "postmap warns about $corpus:$wline, the note says tlsgate does not: $note"
		bad=$((bad + 1))
	fi
done < <(pm -q nonexistent.invalid "texthash:$corpus" 2>&1 >/dev/null |
	 sed -n 's/.*, line \([0-9]*\):.*/\1/p')
ok $bad "every entry postmap warns about is one tlsgate warns about"
indented=$(awk '/^#@/ { n = $0 } /^[[:space:]]+indented\.example/ { print n; exit }' "$corpus")
pm -q nonexistent.invalid "texthash:$corpus" 2>&1 | grep -q 'must not start with whitespace' &&
	grep -q ' warn=yes' <<<"$indented"
ok $? "the indented first line: postmap skips it with a warning, tlsgate too"

tap_done
