# shellcheck shell=bash
# Headless Chromium (Debian's chromium) for the pages tlsgatectl writes: what a reader's browser
# makes of them.  Needs nothing else of the test libraries (tests/check's preflight and
# scripts/demo source it too).
#
#   tg_chromium_missing             what is missing to render a page here, in words ("" when
#                                   nothing is): the command, a font, or rendering itself
#   tg_chromium_screenshot PAGE PNG WIDTH HEIGHT   PAGE (a file) rendered into a WIDTHxHEIGHT PNG
#   tg_chromium_dom PAGE            the DOM Chromium built from PAGE, on stdout
#
# Each run gets a profile of its own under $TG_CHROMIUM_DIR (default: a new temporary directory,
# removed at exit when tg_on_exit is there), and its chatter (D-Bus, GPU) goes to
# $TG_CHROMIUM_DIR/log.  As root Chromium runs only without its sandbox (--no-sandbox): the pages
# are ours, and they carry a Content-Security-Policy that allows no script and no fetch.

_tg_chromium_dir() {
	if [ -z "${TG_CHROMIUM_DIR:-}" ]; then
		TG_CHROMIUM_DIR=$(mktemp -d /tmp/tg-chromium.XXXXXX)
		if declare -F tg_on_exit > /dev/null; then
			tg_on_exit "rm -rf '$TG_CHROMIUM_DIR'"
		fi
	fi
	mkdir -p "$TG_CHROMIUM_DIR"
}

_tg_chromium() { # ARGS... (the page last)
	local sandbox=()
	_tg_chromium_dir
	[ "$(id -u)" = 0 ] && sandbox=(--no-sandbox)
	# a hung browser must not hang the test: no page of ours takes a minute
	timeout 60 chromium --headless "${sandbox[@]}" --disable-gpu --hide-scrollbars --no-first-run \
		--disable-extensions --disable-dev-shm-usage --user-data-dir="$(mktemp -d "$TG_CHROMIUM_DIR/profile.XXXXXX")" \
		"$@" 2>> "$TG_CHROMIUM_DIR/log"
}

_tg_chromium_url() {
	case $1 in
	/*) echo "file://$1" ;;
	*) echo "file://$PWD/$1" ;;
	esac
}

tg_chromium_screenshot() { # PAGE PNG WIDTH HEIGHT
	rm -f "$2"
	_tg_chromium --screenshot="$2" --window-size="$3,$4" "$(_tg_chromium_url "$1")" > /dev/null &&
		[ -s "$2" ]
}

tg_chromium_dom() { # PAGE
	_tg_chromium --dump-dom "$(_tg_chromium_url "$1")"
}

tg_chromium_missing() {
	local m=() out own=""
	if [ -z "${TG_CHROMIUM_DIR:-}" ]; then
		# usually called in $(...): a directory made here would outlive it
		own=$(mktemp -d /tmp/tg-chromium.XXXXXX)
		local TG_CHROMIUM_DIR=$own
	fi
	if ! command -v chromium > /dev/null; then
		m+=("chromium")
	else
		command -v fc-list > /dev/null && [ -n "$(fc-list 2> /dev/null | head -n 1)" ] ||
			m+=("a font for chromium (fonts-dejavu-core)")
		out=$(_tg_chromium --dump-dom 'data:text/html,<p>tlsgate%20preflight</p>' 2> /dev/null)
		grep -q "tlsgate preflight" <<< "$out" ||
			m+=("chromium rendering headless (chromium --headless --dump-dom failed)")
	fi
	[ -n "$own" ] && rm -rf "$own"
	local s="" i
	for i in "${m[@]}"; do
		s+="${s:+; }$i"
	done
	echo "$s"
}
