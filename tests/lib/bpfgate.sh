# shellcheck shell=bash
# The BPF half in e2e tests, driven by tests/e2e/helper_bpf_gate (the loader API, as tlsgated
# uses it).  Source after tap.sh and netns.sh; set $pins to the pin directory first.
#   bg_ready FILE PID            wait until a backgrounded helper printed "ready" (bounded)
#   tgstats [-j] ARGS...         `tlsgatectl [-j] --pin-dir $pins stats ARGS`: the real CLI when
#                                it is built, else the helper, which links the same ctl_stats()

helper=$TG_BUILD/tests/e2e/helper_bpf_gate
[ -x "$helper" ] || bail "$helper not built"

bg_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

tgstats() {
	local j=""
	if [ "${1:-}" = -j ]; then
		j=-j
		shift
	fi
	if [ -x "$TG_BUILD/tlsgatectl" ]; then
		"$TG_BUILD/tlsgatectl" $j --pin-dir "$pins" stats "$@"
	else
		"$helper" stats "$pins" $j "$@"
	fi
}
