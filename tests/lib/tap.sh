# shellcheck shell=bash
# TAP for shell tests (counted by tests/lib/run-cases).  Source it; call tap_done last.
_tap_n=0
_tap_failed=0

# ok COND_EXIT_STATUS DESCRIPTION  -- usually: check_something; ok $? "what"
ok() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_failed=$((_tap_failed + 1))
	fi
	return "$1"
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "  got:  '$1'"
		diag "  want: '$2'"
		return 1
	fi
}

skip() { # REASON DESCRIPTION
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $2 # SKIP $1"
}

diag() {
	echo "# $*"
}

bail() {
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - $*"
	echo "Bail out!"
	exit 1
}

tap_done() {
	echo "1..$_tap_n"
	[ "$_tap_failed" = 0 ]
}
