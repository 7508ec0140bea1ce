# shellcheck shell=bash
# The destinations' own policies in e2e tests: a DNSSEC-signed example. zone (private trust
# anchor) served by nsd at 203.0.113.53, and the tlsgated options that turn DANE and MTA-STS on
# against it.  Source after tap.sh, netns.sh and dnssec.sh (check dnssec_available first).
#
#   destzone_soa NAME                 $ORIGIN, $TTL, SOA and NS lines a test zone starts with
#   destzone_example DIR NS [ZONE=FILE...] < RECORDS
#                                     sign example. (its SOA, ns.example A 203.0.113.53, then
#                                     RECORDS) with a new key, and serve it with the other zones
#                                     (already signed or unsigned files in DIR) from nsd on
#                                     203.0.113.53 in NS (the address must exist there)
#   destzone_opts DIR                 DESTZONE_OPTS: tlsgated -o options for DANE and MTA-STS
#                                     against that zone (dns_server, trust anchor)
#   dnssec_spki_sha256 (dnssec.sh) gives the data of a "3 1 1" TLSA record.

destzone_soa() { # NAME
	printf '$ORIGIN %s.\n$TTL 300\n' "$1"
	printf '@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 60\n@ IN NS ns.example.\n'
}

destzone_example() { # DIR NS [ZONE=FILE...]
	local z=$1 ns=$2
	shift 2
	mkdir -p "$z"
	dnssec_key "$z" example
	{
		destzone_soa example
		echo "ns IN A 203.0.113.53"
		cat
	} > "$z/example.zone"
	dnssec_sign "$z" example
	dnssec_nsd "$ns" 203.0.113.53 "$z" example=example.signed "$@"
}

destzone_opts() { # DIR
	DESTZONE_OPTS=(-o outbound_dane=yes -o outbound_mta_sts=yes -o dns_server=203.0.113.53
		-o "dane_trust_anchor=$1/example.ds")
}
