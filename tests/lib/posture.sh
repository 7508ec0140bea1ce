# shellcheck shell=bash
# A gateway that records its posture, and traffic through it (tests/e2e/test_posture.sh,
# test_report_html.sh).  Source after tlsgate.sh, with tg_topology run; the outside senders need
# 203.0.113.30 (tg_mx_addrs).
#
#   tg_posture_start FORWARD_ADDR [FORWARD_HOST]   tlsgated "gw": outbound on 192.0.2.1:2525,
#                     every message forwarded to FORWARD_ADDR:25 (named FORWARD_HOST, when
#                     given, as a rule resolving to it would); the tables $TG_WORK/outbound and
#                     $TG_WORK/inbound; inbound on 203.0.113.1:25 to 192.0.2.20:25; its posture
#                     in $TG_POSTURE_STATE/posture
#   tg_posture_stop   SIGTERM: the sink writes today's file at shutdown; the log is appended to
#                     $TG_WORK/gw.all.log
#   tg_posture_send FROM TO[,TO] [swaks args]   outbound from $NS_IN; swaks' output in
#                     $TG_WORK/swaks.out, its status returned
#   tg_posture_send_in [swaks args]   inbound from 203.0.113.30; output in $TG_WORK/swaks.in

TG_POSTURE_STATE=$TG_WORK/gw

tg_posture_start() { # forward-address [forward-host]
	local host=()
	[ -n "${2:-}" ] && host=(-o "outbound_forward_host=$2")
	tg_gw gw 2525 -o "outbound_forward=$1:25" "${host[@]}" \
		-o "outbound_policy=$TG_WORK/outbound" -o "inbound_policy=$TG_WORK/inbound" \
		-o "inbound_listen=203.0.113.1:25" -o "inbound_next_hop=192.0.2.20:25" \
		-o "inbound_cert=$TG_PKI/gw.example.net.crt:$TG_PKI/gw.example.net.key"
}

tg_posture_stop() {
	local pid
	eval "pid=\$TG_GW_PID_gw"
	tg_report_daemon gw "$pid"
	cat "$TG_WORK/gw.log" >> "$TG_WORK/gw.all.log"
}

tg_posture_send() { # from to[,to] [swaks args]
	local from=$1 to=$2
	shift 2
	ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port 2525 --from "$from" --to "$to" \
		"$@" > "$TG_WORK/swaks.out" 2>&1
}

tg_posture_send_in() { # [swaks args]
	ip netns exec "$NS_OUT" swaks --server 203.0.113.1 --local-interface 203.0.113.30 "$@" \
		> "$TG_WORK/swaks.in" 2>&1
}
