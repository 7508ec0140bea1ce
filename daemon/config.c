// SPDX-License-Identifier: GPL-2.0-only
#include "daemon/config.h"
#include "lib/conffile.h"
#include "policy/policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum ctype {
	C_STR,
	C_UINT,
	C_BOOL,
	C_DURATION,
	C_ADDR,		/* one address */
	C_ADDRS,	/* comma/space separated list */
	C_CERT,		/* cert_file[:key_file], repeatable (appends) */
	C_MARK,		/* 32-bit, decimal or 0x hex */
	C_IFACES,	/* list of interface names: the string, and parsed at aux */
	C_PORTS,	/* list of TCP ports: the string, and parsed at aux */
	C_PREFIXES,	/* list of address prefixes: the string, and parsed at aux */
	C_MODE,		/* enforce | monitor: a bool, true for monitor */
	C_OWN,		/* own_mail_servers: the string, and parsed at aux (smtp/received_own.h) */
};

struct ckey {
	const char *name;
	enum ctype type;
	size_t off;
	size_t aux;	/* C_ADDRS: offset of the count; C_ADDR: offset of the has_ flag;
			 * C_IFACES, C_PORTS, C_PREFIXES: offset of the parsed list */
	const char *def;
};

#define O(f) offsetof(struct config, f)
static const struct ckey keys[] = {
	{ "hostname", C_STR, O(hostname), 0, NULL },
	{ "workers", C_UINT, O(workers), 0, "0" },
	{ "max_sessions", C_UINT, O(max_sessions), 0, "10000" },
	{ "ktls", C_BOOL, O(ktls), 0, "yes" },
	{ "outbound_listen", C_ADDRS, O(outbound_listen), O(n_outbound_listen), "" },
	{ "outbound_transparent", C_BOOL, O(outbound_transparent), 0, "yes" },
	{ "outbound_forward", C_ADDR, O(outbound_forward), O(has_outbound_forward), "" },
	{ "outbound_forward_host", C_STR, O(outbound_forward_host), 0, NULL },
	{ "outbound_policy", C_STR, O(outbound_policy), 0, NULL },
	{ "inbound_policy", C_STR, O(inbound_policy), 0, NULL },
	{ "outbound_policy_mode", C_MODE, O(outbound_policy_monitor), 0, "enforce" },
	{ "inbound_policy_mode", C_MODE, O(inbound_policy_monitor), 0, "enforce" },
	{ "tls_ca_file", C_STR, O(tls_ca_file), 0, "/etc/ssl/certs/ca-certificates.crt" },
	{ "tls_ca_path", C_STR, O(tls_ca_path), 0, NULL },
	/* Our sockets are known to the BPF programs from tg_relay; a mark besides is for the
	 * admin's own rules and needs CAP_NET_ADMIN (user = root).  Must differ from the steering
	 * mark (bpf/loader.h TG_STEER_MARK_DEFAULT, 0x7467). */
	{ "relay_mark", C_MARK, O(relay_mark), 0, "0" },
	{ "inbound_listen", C_ADDRS, O(inbound_listen), O(n_inbound_listen), "" },
	{ "inbound_next_hop", C_ADDR, O(inbound_next_hop), O(has_inbound_next_hop), "" },
	{ "inbound_cert", C_CERT, O(certs), O(n_certs), "" },
	{ "inbound_tls_protocols", C_STR, O(inbound_tls_protocols), 0, ">=TLSv1.2" },
	/* Mozilla "intermediate" (v5.7) for TLS 1.2; TLS 1.3 suites are all strong. */
	{ "inbound_tls_ciphers", C_STR, O(inbound_tls_ciphers), 0,
	  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	  "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305" },
	{ "inbound_tls_ciphersuites", C_STR, O(inbound_tls_ciphersuites), 0,
	  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256" },
	{ "inbound_require_tls_reply", C_STR, O(inbound_require_tls_reply), 0,
	  "530 5.7.0 Must issue a STARTTLS command first" },
	{ "inbound_x_tlsgate_header", C_BOOL, O(inbound_x_tlsgate_header), 0, "no" },
	{ "inbound_security_header", C_BOOL, O(inbound_security_header), 0, "yes" },
	{ "own_mail_servers", C_OWN, O(own_mail_servers), O(own_servers), NULL },
	{ "connect_timeout", C_DURATION, O(connect_timeout), 0, "30s" },
	{ "helo_timeout", C_DURATION, O(helo_timeout), 0, "300s" },
	{ "mail_timeout", C_DURATION, O(mail_timeout), 0, "300s" },
	{ "rcpt_timeout", C_DURATION, O(rcpt_timeout), 0, "300s" },
	{ "data_init_timeout", C_DURATION, O(data_init_timeout), 0, "120s" },
	{ "data_xfer_timeout", C_DURATION, O(data_xfer_timeout), 0, "180s" },
	{ "data_done_timeout", C_DURATION, O(data_done_timeout), 0, "600s" },
	{ "starttls_timeout", C_DURATION, O(starttls_timeout), 0, "300s" },
	{ "server_timeout", C_DURATION, O(server_timeout), 0, "300s" },
	{ "quit_timeout", C_DURATION, O(quit_timeout), 0, "300s" },
	{ "shutdown_timeout", C_DURATION, O(shutdown_timeout), 0, "60s" },
	{ "command_deadline", C_DURATION, O(command_deadline), 0, "300s" },
	{ "min_data_rate", C_UINT, O(min_data_rate), 0, "500" },
	{ "hard_error_limit", C_UINT, O(hard_error_limit), 0, "20" },
	{ "inbound_client_connection_limit", C_UINT, O(inbound_client_connection_limit), 0, "20" },
	{ "inbound_client_rate_limit", C_UINT, O(inbound_client_rate_limit), 0, "600" },
	{ "first_command_timeout", C_DURATION, O(first_command_timeout), 0, "30s" },
	/* outbound connection reuse (daemon/session_reuse.c): a TLS connection to an MX kept idle
	 * after a client's QUIT for the next session with the same destination and decision */
	{ "outbound_connection_reuse", C_BOOL, O(outbound_connection_reuse), 0, "yes" },
	{ "outbound_connection_reuse_time_limit", C_DURATION,
	  O(outbound_connection_reuse_time_limit), 0, "2s" },
	{ "outbound_connection_reuse_limit", C_UINT, O(outbound_connection_reuse_limit), 0, "100" },
	{ "outbound_connection_reuse_lifetime", C_DURATION, O(outbound_connection_reuse_lifetime), 0,
	  "300s" },
	{ "user", C_STR, O(user), 0, NULL },
	{ "run_dir", C_STR, O(run_dir), 0, "/run/tlsgate" },
	{ "state_dir", C_STR, O(state_dir), 0, "/var/lib/tlsgate" },
	{ "bpf_pin_dir", C_STR, O(bpf_pin_dir), 0, "/sys/fs/bpf/tlsgate" },
	{ "inside_interfaces", C_IFACES, O(inside_interfaces), O(inside_ifs), NULL },
	{ "outside_interfaces", C_IFACES, O(outside_interfaces), O(outside_ifs), NULL },
	{ "steer_ports", C_PORTS, O(steer_ports), O(steer_port_list), "25" },
	{ "enforce_ports", C_PORTS, O(enforce_ports), O(enforce_port_list), NULL },
	{ "implicit_tls_ports", C_PORTS, O(implicit_tls_ports), O(implicit_tls_port_list), "465" },
	{ "steer_exclude", C_PREFIXES, O(steer_exclude), O(steer_exclude_list), NULL },
	{ "steer_inbound", C_BOOL, O(steer_inbound), 0, "no" },
	{ "may_down_enforce", C_BOOL, O(may_down_enforce), 0, "no" },
	{ "resolve", C_BOOL, O(resolve), 0, "yes" },
	{ "dns_server", C_STR, O(dns_server), 0, NULL },
	{ "ctl_group", C_STR, O(ctl_group), 0, "tlsgate" },
	{ "mta_sts_ca_file", C_STR, O(mta_sts_ca_file), 0, "/etc/ssl/certs/ca-certificates.crt" },
	{ "mta_sts_timeout", C_DURATION, O(mta_sts_timeout), 0, "10s" },
	{ "mta_sts_cache_max", C_UINT, O(mta_sts_cache_max), 0, "100000" },
	{ "outbound_dane", C_BOOL, O(outbound_dane), 0, "yes" },
	{ "outbound_mta_sts", C_BOOL, O(outbound_mta_sts), 0, "yes" },
	{ "dane_trust_anchor", C_STR, O(dane_trust_anchor), 0, "/usr/share/dns/root.key" },
	{ "destination_cache_ttl", C_DURATION, O(destination_cache_ttl), 0, "300s" },
	{ "destination_lookup_timeout", C_DURATION, O(destination_lookup_timeout), 0, "10s" },
	{ "enforce_destination_policy", C_BOOL, O(enforce_destination_policy), 0, "yes" },
	/* NIC TLS offload (issue 16: daemon/nic.h, daemon/session_nic.c) */
	{ "nic_offload", C_STR, O(nic_offload), 0, "auto" },
	{ "nic_offload_prefer", C_BOOL, O(nic_offload_prefer), 0, "no" },
	{ "ktls_tx_zerocopy_ro", C_BOOL, O(ktls_tx_zerocopy_ro), 0, "yes" },
	{ "ktls_rx_expect_no_pad", C_BOOL, O(ktls_rx_expect_no_pad), 0, "no" },
	/* end NIC TLS offload */
	/* TLS session resumption toward destinations (daemon/tls_resume.h) */
	{ "outbound_tls_session_cache", C_BOOL, O(outbound_tls_session_cache), 0, "yes" },
	{ "outbound_tls_session_cache_size", C_UINT, O(outbound_tls_session_cache_size), 0, "1024" },
	{ "outbound_tls_session_cache_timeout", C_DURATION, O(outbound_tls_session_cache_timeout), 0,
	  "3600s" },
	/* TLS reports (RFC 8460, daemon/tlsrpt.h); https: rua servers are checked against
	 * mta_sts_ca_file's roots */
	{ "tlsrpt", C_BOOL, O(tlsrpt), 0, "no" },
	{ "tlsrpt_organization", C_STR, O(tlsrpt_organization), 0, NULL },
	{ "tlsrpt_contact", C_STR, O(tlsrpt_contact), 0, NULL },
	{ "tlsrpt_sender", C_STR, O(tlsrpt_sender), 0, NULL },
	{ "tlsrpt_submission", C_STR, O(tlsrpt_submission), 0, NULL },
	{ "tlsrpt_dkim_key", C_STR, O(tlsrpt_dkim_key), 0, NULL },
	{ "tlsrpt_dkim_selector", C_STR, O(tlsrpt_dkim_selector), 0, NULL },
	{ "tlsrpt_dkim_domain", C_STR, O(tlsrpt_dkim_domain), 0, NULL },
	{ "tlsrpt_socket", C_STR, O(tlsrpt_socket), 0, NULL },
	{ "tlsrpt_retry", C_DURATION, O(tlsrpt_retry), 0, "5m" },
	{ "tlsrpt_timeout", C_DURATION, O(tlsrpt_timeout), 0, "30s" },
	{ "posture_days", C_UINT, O(posture_days), 0, "30" },
	{ "posture_max_domains", C_UINT, O(posture_max_domains), 0, "100000" },
	{ "posture_flush_interval", C_DURATION, O(posture_flush_interval), 0, "60s" },
};
#undef O

static const struct ckey *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

int config_parse_duration(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	/* digits only: strtoul would also take " 5", "+5" and "-5" (as a huge number) */
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s)
		return -EINVAL;
	/* the range before the unit: "5124095576030432h" must not wrap around to 25 minutes */
	if (v > 7 * 86400)
		return -ERANGE;
	if (!strcmp(end, "m"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	if (v > 7 * 86400)
		return -ERANGE;
	*out = (unsigned int)v;
	return 0;
}

int config_parse_addr(const char *s, struct config_addr *out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256], *port, *end;
	unsigned long p;
	const char *colon;
	int err;

	memset(out, 0, sizeof(*out));
	snprintf(out->text, sizeof(out->text), "%s", s);
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	port = (char *)colon + 1;
	/* All digits, 1..65535: getaddrinfo takes "4095432" and keeps its low 16 bits. */
	if (!isdigit((unsigned char)port[0]))
		return -EINVAL;
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || !p || p > 65535)
		return -EINVAL;
	if (!strcmp(host, "*")) {
		/* any address, both families: a v6 socket that also takes v4 */
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		sin6->sin6_addr = in6addr_any;
		out->len = sizeof(*sin6);
		return 0;
	}
	/* Numeric only: configuration must not depend on DNS at start-up. */
	hints.ai_flags |= AI_NUMERICHOST;
	err = getaddrinfo(host, port, &hints, &res);
	if (err || !res)
		return -EINVAL;
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
	    !strcasecmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
	    !strcasecmp(v, "off")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int config_parse_prefix(const char *s, struct config_prefix *out)
{
	char buf[64], *slash, *end;
	unsigned long len;
	int max;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	memset(out, 0, sizeof(*out));
	out->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	max = out->family == AF_INET ? 32 : 128;
	if (inet_pton(out->family, buf, out->addr) != 1)
		return -EINVAL;
	len = (unsigned long)max;
	if (slash) {
		errno = 0;
		len = strtoul(slash, &end, 10);
		if (errno || *end || end == slash || len > (unsigned long)max)
			return -EINVAL;
	}
	out->len = (uint8_t)len;
	return 0;
}

/* One token of a list key into the parsed list at p; false when it does not fit or parse. */
static bool list_item(enum ctype type, void *p, const char *tok)
{
	unsigned long v;
	char *end;

	switch (type) {
	case C_IFACES: {
		struct config_ifaces *l = p;
		size_t n = strlen(tok);

		if (l->n >= CONFIG_MAX_IFS || n >= sizeof(l->name[0]) || strchr(tok, '/'))
			return false;
		memcpy(l->name[l->n++], tok, n + 1);
		return true;
	}
	case C_PORTS: {
		struct config_ports *l = p;

		if (!isdigit((unsigned char)tok[0]))
			return false; /* strtoul would take "+25" */
		errno = 0;
		v = strtoul(tok, &end, 10);
		if (errno || *end || !v || v > 65535 || l->n >= CONFIG_MAX_PORTS)
			return false;
		l->port[l->n++] = (uint16_t)v;
		return true;
	}
	case C_PREFIXES: {
		struct config_prefixes *l = p;

		return l->n < CONFIG_MAX_PREFIXES && !config_parse_prefix(tok, &l->p[l->n++]);
	}
	case C_OWN:
		return !received_own_add(p, tok);
	default:
		return false;
	}
}

/* A list key: the string kept as written, each item parsed into the list at aux; a refused
 * value leaves the previous one in force. */
static int set_list(char *base, const struct ckey *k, const char *value)
{
	union {
		struct config_ifaces ifs;
		struct config_ports ports;
		struct config_prefixes prefixes;
		struct received_own own;
	} tmp;
	size_t size = k->type == C_IFACES   ? sizeof(tmp.ifs)
		      : k->type == C_PORTS  ? sizeof(tmp.ports)
		      : k->type == C_OWN    ? sizeof(tmp.own)
					    : sizeof(tmp.prefixes);
	char **str = (char **)(base + k->off);
	char *dup = strdup(value), *save = NULL, *tok, *copy = NULL;
	int rc = 0;

	if (!dup)
		return -ENOMEM;
	memset(&tmp, 0, sizeof(tmp));
	for (tok = strtok_r(dup, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		if (!list_item(k->type, &tmp, tok)) {
			rc = -EINVAL;
			goto out;
		}
	if (*value && !(copy = strdup(value))) {
		rc = -ENOMEM;
		goto out;
	}
	free(*str);
	*str = copy;
	memcpy(base + k->aux, &tmp, size);
out:
	free(dup);
	return rc;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen)
{
	const struct ckey *k = find_key(key);
	char *base = (char *)c;
	unsigned long v;
	char *end;
	int rc = 0;

	if (!k) {
		snprintf(err, errlen, "unknown key '%s'", key);
		return -ENOENT;
	}
	switch (k->type) {
	case C_STR: {
		char **p = (char **)(base + k->off);

		free(*p);
		*p = *value ? strdup(value) : NULL;
		if (*value && !*p)
			return -ENOMEM;
		break;
	}
	case C_UINT:
		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || *end || end == value || v > 1000000)
			goto bad;
		*(unsigned int *)(base + k->off) = (unsigned int)v;
		break;
	case C_MARK:
		errno = 0;
		v = strtoul(value, &end, 0);
		if (errno || *end || end == value || v > UINT32_MAX)
			goto bad;
		*(uint32_t *)(base + k->off) = (uint32_t)v;
		break;
	case C_BOOL:
		if (parse_bool(value, (bool *)(base + k->off)))
			goto bad;
		break;
	case C_MODE:
		if (policy_mode_parse(value, strlen(value), (bool *)(base + k->off)))
			goto bad;
		break;
	case C_DURATION:
		if (config_parse_duration(value, (unsigned int *)(base + k->off)))
			goto bad;
		break;
	case C_ADDR:
		*(bool *)(base + k->aux) = false;
		if (!*value)
			break;
		if (config_parse_addr(value, (struct config_addr *)(base + k->off)))
			goto bad;
		*(bool *)(base + k->aux) = true;
		break;
	case C_ADDRS: {
		struct config_addr *a = (struct config_addr *)(base + k->off);
		unsigned int *n = (unsigned int *)(base + k->aux);
		char *dup = strdup(value), *save = NULL, *tok;

		if (!dup)
			return -ENOMEM;
		*n = 0;
		for (tok = strtok_r(dup, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			if (*n >= CONFIG_MAX_ADDRS || config_parse_addr(tok, &a[*n])) {
				free(dup);
				goto bad;
			}
			(*n)++;
		}
		free(dup);
		break;
	}
	case C_IFACES:
	case C_PORTS:
	case C_PREFIXES:
	case C_OWN:
		rc = set_list(base, k, value);
		if (rc == -EINVAL)
			goto bad;
		if (rc)
			return rc;
		break;
	case C_CERT: {
		struct config_cert *certs = (struct config_cert *)(base + k->off);
		unsigned int *n = (unsigned int *)(base + k->aux);
		const char *colon = strchr(value, ':');

		if (!*value)
			break;
		if (*n >= CONFIG_MAX_CERTS)
			goto bad;
		certs[*n].cert_file = colon ? strndup(value, (size_t)(colon - value))
					    : strdup(value);
		certs[*n].key_file = strdup(colon ? colon + 1 : value);
		if (!certs[*n].cert_file || !certs[*n].key_file)
			return -ENOMEM;
		(*n)++;
		break;
	}
	}
	return rc;
bad:
	snprintf(err, errlen, "bad value for %s: '%s'", key, value);
	return -EINVAL;
}

void config_defaults(struct config *c)
{
	char err[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].def)
			config_set(c, keys[i].name, keys[i].def, err, sizeof(err));
}

struct load_ctx {
	struct config *c;
	const char *file;
	char *err;
	size_t errlen;
};

/* One logical "key = value" line: apply it, or describe the problem in err. */
static int apply_line(void *arg, unsigned int lineno, char *key, char *value)
{
	struct load_ctx *l = arg;
	char msg[256];
	int rc;

	if (!value) {
		snprintf(l->err, l->errlen, "%s:%u: expected 'key = value'", l->file, lineno);
		return -EINVAL;
	}
	rc = config_set(l->c, key, value, msg, sizeof(msg));
	if (rc)
		snprintf(l->err, l->errlen, "%s:%u: %s", l->file, lineno, msg);
	return rc;
}

int config_load(struct config *c, const char *file, const char *const *overrides, char *err,
		size_t errlen)
{
	struct load_ctx l = { .c = c, .file = file, .err = err, .errlen = errlen };
	int rc = 0;

	if (file) {
		FILE *f = fopen(file, "re");

		if (!f) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			return rc;
		}
		rc = tg_conf_parse(f, apply_line, &l);
		fclose(f);
		if (rc == -ENOMEM)
			snprintf(err, errlen, "%s: %s", file, strerror(ENOMEM));
		if (rc)
			return rc;
	}
	l.file = "-o";
	for (; overrides && *overrides; overrides++) {
		char *dup = strdup(*overrides), *key, *value;

		if (!dup) {
			snprintf(err, errlen, "-o: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		tg_conf_split(dup, &key, &value);
		rc = apply_line(&l, 0, key, value);
		free(dup);
		if (rc)
			return rc;
	}
	return 0;
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].type == C_STR || keys[i].type == C_IFACES || keys[i].type == C_PORTS ||
		    keys[i].type == C_PREFIXES || keys[i].type == C_OWN)
			free(*(char **)((char *)c + keys[i].off));
	for (unsigned int i = 0; i < c->n_certs; i++) {
		free(c->certs[i].cert_file);
		free(c->certs[i].key_file);
	}
	memset(c, 0, sizeof(*c));
}
