#!/bin/bash
# e2e, outbound policy outcomes against real Postfix MXs: encrypt toward an MX without STARTTLS,
# verify toward an MX with a certificate for another name, may toward either, and a recipient
# domain that requires TLS on a plaintext session.  Where TLS is required and cannot be had the
# client gets a 4xx (its queue keeps the mail) and the MX receives nothing of it.
set -u
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pki.sh"
. "$(dirname "$0")/../lib/postfix.sh"
. "$(dirname "$0")/../lib/tlsgate.sh"

tg_topology
tg_mx_addrs
tg_pki
pf_mx plain "$NS_OUT" 203.0.113.26 notls
pf_mx wrongname "$NS_OUT" 203.0.113.27 tls "$TG_PKI/wrong.example.com"
cat > "$TG_WORK/policy" <<EOP
# Postfix smtp_tls_policy_maps syntax, plus addresses (tlsgate's own keys)
203.0.113.26	encrypt
203.0.113.27	verify match=mx3.example.net
# the recipient domain rule: checked at RCPT on a plaintext session
example.org	encrypt protocols=>=TLSv1.2
EOP
cat > "$TG_WORK/policy-may" <<EOP
example.org	encrypt
EOP

send() { # port rcpt... -> swaks transcript in $TG_WORK/out.$port
	local port=$1 to
	shift
	to=$(IFS=,; echo "$*")
	ip netns exec "$NS_IN" swaks --server 192.0.2.1 --port "$port" --from sender@example.org \
		--to "$to" > "$TG_WORK/out.$port" 2>&1
}

# encrypt, no STARTTLS at the MX
tg_gw enc 2526 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/policy"
send 2526 alice@example.net
grep -q "^<\*\* 421 4.7.4 gw.example.net TLS is required, but was not offered by host 203.0.113.26\[203.0.113.26\]:25" "$TG_WORK/out.2526"
ok $? "encrypt + no STARTTLS: the client is told 421 4.7.4 TLS is required, but was not offered"
pf_log plain | grep -q "EHLO\|ehlo" ; pf_log plain | grep -qE "disconnect from .* ehlo=1 quit=1 commands=2"
ok $? "the MX saw EHLO and QUIT only (no MAIL, no RCPT, no DATA)"
[ -z "$(pf_mails plain alice@example.net)" ]
ok $? "the MX stored nothing"
tg_gw_log enc | grep -q 'fail .*reason="tls-required level=encrypt'
ok $? "tlsgated logs the refusal with the policy level"

# verify, certificate for another name
tg_gw ver 2527 -o outbound_forward=203.0.113.27:25 -o outbound_forward_host=mx3.example.net \
	-o "outbound_policy=$TG_WORK/policy"
send 2527 alice@example.net
grep -q "^<\*\* 421 4.7.5 gw.example.net Server certificate not verified: host mx3.example.net\[203.0.113.27\]:25" "$TG_WORK/out.2527"
ok $? "verify + wrong-name certificate: 421 4.7.5 Server certificate not verified"
[ -z "$(pf_mails wrongname alice@example.net)" ]
ok $? "the MX stored nothing"
tg_gw_log ver | grep -q "tls-verify-failed.*hostname mismatch"
ok $? "tlsgated logs why (hostname mismatch)"

# may toward the MX without STARTTLS: plaintext is allowed
tg_gw may 2528 -o outbound_forward=203.0.113.26:25 -o "outbound_policy=$TG_WORK/policy-may"
send 2528 bob@example.net
pf_wait_mail plain bob@example.net 1 30
ok $? "may + no STARTTLS: delivered in plaintext"
tg_gw_log may | grep -q "plaintext to 203.0.113.26\[203.0.113.26\]:25 level=may"
ok $? "tlsgated logs the plaintext hop with its level"

# ... but a recipient domain that requires TLS is refused on that plaintext session
send 2528 carol@example.net dave@example.org
grep -q "^<\*\* 450 4.7.4 TLS required for example.org" "$TG_WORK/out.2528"
ok $? "RCPT to a domain with policy encrypt on a plaintext session: 450 4.7.4 TLS required"
pf_wait_mail plain carol@example.net 1 30
ok $? "the other recipient of the same message was delivered"
[ -z "$(pf_mails plain dave@example.org)" ] && ! pf_log plain | grep -q "to=<dave@example.org>"
ok $? "nothing of the refused recipient reached the MX"

# may toward the wrong-name MX: TLS, untrusted, delivered (opportunistic)
tg_gw may2 2529 -o outbound_forward=203.0.113.27:25 -o "outbound_policy=$TG_WORK/policy-may"
send 2529 erin@example.net
pf_wait_mail wrongname erin@example.net 1 30
ok $? "may + wrong-name certificate: delivered over TLS"
tg_gw_log may2 | grep -q "Trusted TLS connection established to 203.0.113.27\[203.0.113.27\]:25"
ok $? "logged as a Trusted (not Verified) TLS connection"

tap_done
