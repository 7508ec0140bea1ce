# shellcheck shell=bash
# The Prometheus text exposition format (0.0.4), checked without promtool (Debian ships it only
# with the Prometheus server, which starts a service when installed):
#   prom_check < FILE    0, or 1 with each fault on stderr as "line N: why"
# Checked: metric and label names, label syntax and escapes, numeric values; every family has
# exactly one # HELP and one # TYPE, before its samples; a family's samples are contiguous;
# counters end in _total; no series twice.

prom_check() {
	awk '
	function fail(why) { printf "line %d: %s\n", NR, why > "/dev/stderr"; bad = 1 }
	BEGIN {
		name = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
		lbl = "[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\""
		labels = "^" lbl "(," lbl ")*,?$"
		value = "^[-+]?([0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?|Inf|NaN)$"
	}
	/^# HELP / {
		if ($3 !~ name) fail("bad metric name in HELP: " $3)
		if (help[$3]++) fail("second HELP for " $3)
		next
	}
	/^# TYPE / {
		if ($3 !~ name) fail("bad metric name in TYPE: " $3)
		if ($3 in type) fail("second TYPE for " $3)
		if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/ || NF != 4)
			fail("bad TYPE line")
		if (seen[$3]) fail("TYPE after samples of " $3)
		type[$3] = $4
		next
	}
	/^#/ { next }
	/^$/ { fail("empty line"); next }
	{
		line = $0
		sp = length(line)
		while (sp > 0 && substr(line, sp, 1) != " ") sp--
		series = substr(line, 1, sp - 1)
		v = substr(line, sp + 1)
		if (sp == 0 || v !~ value) { fail("no value: " line); next }
		m = series
		lb = ""
		if (index(series, "{")) {
			m = substr(series, 1, index(series, "{") - 1)
			lb = substr(series, index(series, "{") + 1)
			if (substr(lb, length(lb)) != "}") { fail("labels not closed: " line); next }
			lb = substr(lb, 1, length(lb) - 1)
			if (lb != "" && lb !~ labels) fail("bad labels: " lb)
		}
		if (m !~ name) fail("bad metric name: " m)
		if (!(m in type)) fail("sample before its TYPE: " m)
		if (!(m in help)) fail("sample before its HELP: " m)
		if (type[m] == "counter" && m !~ /_total$/) fail("counter not named _total: " m)
		if (m != cur) {
			if (seen[m]) fail("samples of " m " not together")
			cur = m
		}
		seen[m] = 1
		if (dup[series]++) fail("series twice: " series)
	}
	END {
		for (f in type) if (type[f] != "" && !(f in help)) { printf "%s: TYPE without HELP\n", f > "/dev/stderr"; bad = 1 }
		exit bad
	}'
}
