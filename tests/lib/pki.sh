# shellcheck shell=bash
# A throw-away test PKI made with the openssl CLI: one CA and leaf certificates for named hosts.
#   pki_init DIR                 CA in DIR/ca.{key,crt}
#   pki_leaf DIR NAME [SAN...]   DIR/NAME.{key,crt} signed by the CA (SANs default to NAME);
#                                key type: PKI_KEY=ec (default) or rsa
# Files are removed with DIR (register DIR with tg_on_exit).

pki_init() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=tlsgate test CA" -keyout "$d/ca.key" -out "$d/ca.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		2>/dev/null || return 1
}

pki_leaf() {
	local d=$1 name=$2 san="" s
	shift 2
	[ $# -gt 0 ] || set -- "$name"
	for s in "$@"; do
		san="${san:+$san,}DNS:$s"
	done
	if [ "${PKI_KEY:-ec}" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/$name.key" \
			2>/dev/null || return 1
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$name.key" \
			2>/dev/null || return 1
	fi
	openssl req -new -key "$d/$name.key" -subj "/CN=$name" -out "$d/$name.csr" 2>/dev/null ||
		return 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null || return 1
	rm -f "$d/$name.csr" "$d/$name.ext"
}
