// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control protocol objects: policy rules, sessions, daemon status and events, each encoded as
 * the top-level attributes of its own message (see nlproto.h) and decoded back.
 */
#include "control/nlproto.h"
#include "control/nlproto_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

static int put_u8(struct nl_msg *m, int type, uint8_t v)
{
	return nlproto_put(m, type, sizeof(v), &v);
}

static int put_u16(struct nl_msg *m, int type, uint16_t v)
{
	return nlproto_put(m, type, sizeof(v), &v);
}

static int put_u32(struct nl_msg *m, int type, uint32_t v)
{
	return nlproto_put(m, type, sizeof(v), &v);
}

static int put_u64(struct nl_msg *m, int type, uint64_t v)
{
	return nlproto_put(m, type, sizeof(v), &v);
}

/* A non-empty fixed-size string field. */
static int put_field(struct nl_msg *m, int type, const char *s)
{
	return s[0] ? nlproto_put_str(m, type, s) : 0;
}

static void copy_field(char *dst, size_t len, const struct nlattr *a)
{
	if (a)
		nla_strlcpy(dst, a, len);
	else
		dst[0] = '\0';
}

static int want(const struct nlattr *a, const char *what, char *msg, size_t msglen)
{
	if (a)
		return 0;
	snprintf(msg, msglen, "%s missing", what);
	return -EINVAL;
}

/* ---- rules ---- */

int nlproto_put_rule(struct nl_msg *m, const struct nlproto_rule *r)
{
	int err;

	err = put_u32(m, NLPROTO_A_RULE_ID, r->id);
	err = err ?: put_u8(m, NLPROTO_A_DIR, (uint8_t)r->dir);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_KEY_TYPE, r->key_type);
	err = err ?: nlproto_put_str(m, NLPROTO_A_KEY, r->key);
	err = err ?: (r->port ? put_u16(m, NLPROTO_A_RULE_PORT, r->port) : 0);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_LEVEL, r->level);
	err = err ?: (r->min_version ? put_u32(m, NLPROTO_A_RULE_MIN_VERSION, r->min_version) : 0);
	err = err ?: (r->max_version ? put_u32(m, NLPROTO_A_RULE_MAX_VERSION, r->max_version) : 0);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_PROTOCOLS, r->protocols);
	err = err ?: nlproto_put_str(m, NLPROTO_A_LINE, r->text);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_CIPHERS, r->ciphers);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_EXCLUDE, r->exclude);
	for (size_t i = 0; !err && i < r->nmatch; i++)
		err = nlproto_put_str(m, NLPROTO_A_RULE_MATCH, r->match[i]);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_SERVERNAME, r->servername);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_FILE, r->file);
	err = err ?: (r->line ? put_u32(m, NLPROTO_A_RULE_LINE, r->line) : 0);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_MODE, r->mode);
	return err;
}

int nlproto_put_sts(struct nl_msg *m, const struct nlproto_sts *s)
{
	int err;

	err = nlproto_put_str(m, NLPROTO_A_STS_DOMAIN, s->domain);
	err = err ?: nlproto_put_str(m, NLPROTO_A_STS_ID, s->id);
	err = err ?: nlproto_put_str(m, NLPROTO_A_STS_MODE, s->mode);
	for (size_t i = 0; !err && i < s->nmx; i++)
		err = nlproto_put_str(m, NLPROTO_A_STS_MX, s->mx[i]);
	err = err ?: (s->id ? put_u32(m, NLPROTO_A_STS_MAX_AGE, s->max_age) : 0);
	err = err ?: (s->id ? put_u64(m, NLPROTO_A_STS_FETCHED, s->fetched) : 0);
	err = err ?: (s->id ? put_u64(m, NLPROTO_A_STS_EXPIRES, s->expires) : 0);
	err = err ?: put_u8(m, NLPROTO_A_STS_PENDING, s->pending);
	err = err ?: (s->error && s->error[0] ? nlproto_put_str(m, NLPROTO_A_STS_ERROR, s->error)
					      : 0);
	err = err ?: put_u64(m, NLPROTO_A_STS_LAST_ATTEMPT, s->last_attempt);
	err = err ?: put_u64(m, NLPROTO_A_STS_LAST_CHECK, s->last_check);
	err = err ?: put_u32(m, NLPROTO_A_STS_FAILURES, s->failures);
	err = err ?: put_u32(m, NLPROTO_A_STS_FETCHES, s->fetches);
	return err;
}

int nlproto_parse_sts(const struct nlmsghdr *nlh, struct nlproto_sts *s, const char **mx,
		      size_t cap, char *msg, size_t msglen)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1], *nla;
	size_t n = 0;
	int err, rem;

	memset(s, 0, sizeof(*s));
	err = nlproto_parse(nlh, tb, msg, msglen, NULL);
	err = err ?: want(tb[NLPROTO_A_STS_DOMAIN], "domain", msg, msglen);
	if (err)
		return err;
	s->domain = nlproto_str(tb[NLPROTO_A_STS_DOMAIN]);
	s->id = nlproto_str(tb[NLPROTO_A_STS_ID]);
	s->mode = nlproto_str(tb[NLPROTO_A_STS_MODE]);
	s->max_age = (uint32_t)nlproto_u64(tb[NLPROTO_A_STS_MAX_AGE], 0);
	s->fetched = nlproto_u64(tb[NLPROTO_A_STS_FETCHED], 0);
	s->expires = nlproto_u64(tb[NLPROTO_A_STS_EXPIRES], 0);
	s->pending = nlproto_u64(tb[NLPROTO_A_STS_PENDING], 0) != 0;
	s->error = nlproto_str(tb[NLPROTO_A_STS_ERROR]);
	s->last_attempt = nlproto_u64(tb[NLPROTO_A_STS_LAST_ATTEMPT], 0);
	s->last_check = nlproto_u64(tb[NLPROTO_A_STS_LAST_CHECK], 0);
	s->failures = (uint32_t)nlproto_u64(tb[NLPROTO_A_STS_FAILURES], 0);
	s->fetches = (uint32_t)nlproto_u64(tb[NLPROTO_A_STS_FETCHES], 0);
	nlmsg_for_each_attr(nla, (struct nlmsghdr *)nlh, 0, rem)
	{
		if (nla_type(nla) != NLPROTO_A_STS_MX)
			continue;
		if (n == cap) {
			snprintf(msg, msglen, "%s has more than %zu mx patterns", s->domain, cap);
			return -E2BIG;
		}
		mx[n++] = nla_data(nla);
	}
	s->mx = mx;
	s->nmx = n;
	return 0;
}

int nlproto_put_tlsrpt(struct nl_msg *m, const struct nlproto_tlsrpt *t)
{
	int err;

	err = nlproto_put_str(m, NLPROTO_A_TLSRPT_MODE, t->mode);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_DAY_START, t->day_start);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_DOMAINS, t->domains);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_SESSIONS, t->sessions);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_FAILURES, t->failures);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_SPOOLED, t->spooled);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_DELIVERED, t->delivered);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_GIVEN_UP, t->given_up);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_FAILED_ATTEMPTS, t->failed_attempts);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_DATAGRAMS, t->datagrams);
	err = err ?: put_u64(m, NLPROTO_A_TLSRPT_DATAGRAM_ERRORS, t->datagram_errors);
	err = err ?: (t->error && t->error[0] ? nlproto_put_str(m, NLPROTO_A_TLSRPT_ERROR, t->error)
					      : 0);
	return err;
}

int nlproto_parse_tlsrpt(const struct nlmsghdr *nlh, struct nlproto_tlsrpt *t, char *msg,
			 size_t msglen)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	int err;

	memset(t, 0, sizeof(*t));
	err = nlproto_parse(nlh, tb, msg, msglen, NULL);
	err = err ?: want(tb[NLPROTO_A_TLSRPT_MODE], "mode", msg, msglen);
	if (err)
		return err;
	t->mode = nlproto_str(tb[NLPROTO_A_TLSRPT_MODE]);
	t->day_start = nlproto_u64(tb[NLPROTO_A_TLSRPT_DAY_START], 0);
	t->domains = nlproto_u64(tb[NLPROTO_A_TLSRPT_DOMAINS], 0);
	t->sessions = nlproto_u64(tb[NLPROTO_A_TLSRPT_SESSIONS], 0);
	t->failures = nlproto_u64(tb[NLPROTO_A_TLSRPT_FAILURES], 0);
	t->spooled = nlproto_u64(tb[NLPROTO_A_TLSRPT_SPOOLED], 0);
	t->delivered = nlproto_u64(tb[NLPROTO_A_TLSRPT_DELIVERED], 0);
	t->given_up = nlproto_u64(tb[NLPROTO_A_TLSRPT_GIVEN_UP], 0);
	t->failed_attempts = nlproto_u64(tb[NLPROTO_A_TLSRPT_FAILED_ATTEMPTS], 0);
	t->datagrams = nlproto_u64(tb[NLPROTO_A_TLSRPT_DATAGRAMS], 0);
	t->datagram_errors = nlproto_u64(tb[NLPROTO_A_TLSRPT_DATAGRAM_ERRORS], 0);
	t->error = nlproto_str(tb[NLPROTO_A_TLSRPT_ERROR]);
	return 0;
}

static int get_dir(const struct nlattr *a, enum nlproto_dir *d, char *msg, size_t msglen)
{
	uint8_t v = a ? nla_get_u8(a) : NLPROTO_DIR_OUTBOUND;

	if (v != NLPROTO_DIR_OUTBOUND && v != NLPROTO_DIR_INBOUND) {
		snprintf(msg, msglen, "direction %u is neither outbound nor inbound", v);
		return -EINVAL;
	}
	*d = (enum nlproto_dir)v;
	return 0;
}

int nlproto_parse_rule(const struct nlmsghdr *nlh, struct nlproto_rule *r, const char **match,
		       size_t cap, char *msg, size_t msglen)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1], *nla;
	size_t n = 0;
	int err, rem;

	memset(r, 0, sizeof(*r));
	err = nlproto_parse(nlh, tb, msg, msglen, NULL);
	err = err ?: want(tb[NLPROTO_A_RULE_ID], "rule id", msg, msglen);
	err = err ?: want(tb[NLPROTO_A_KEY], "rule key", msg, msglen);
	err = err ?: want(tb[NLPROTO_A_RULE_LEVEL], "rule level", msg, msglen);
	err = err ?: get_dir(tb[NLPROTO_A_DIR], &r->dir, msg, msglen);
	if (err)
		return err;
	r->id = nla_get_u32(tb[NLPROTO_A_RULE_ID]);
	r->key_type = nlproto_str(tb[NLPROTO_A_RULE_KEY_TYPE]);
	r->key = nlproto_str(tb[NLPROTO_A_KEY]);
	r->port = (uint16_t)nlproto_u64(tb[NLPROTO_A_RULE_PORT], 0);
	r->level = nlproto_str(tb[NLPROTO_A_RULE_LEVEL]);
	r->min_version = (uint32_t)nlproto_u64(tb[NLPROTO_A_RULE_MIN_VERSION], 0);
	r->max_version = (uint32_t)nlproto_u64(tb[NLPROTO_A_RULE_MAX_VERSION], 0);
	r->protocols = nlproto_str(tb[NLPROTO_A_RULE_PROTOCOLS]);
	r->text = nlproto_str(tb[NLPROTO_A_LINE]);
	r->ciphers = nlproto_str(tb[NLPROTO_A_RULE_CIPHERS]);
	r->exclude = nlproto_str(tb[NLPROTO_A_RULE_EXCLUDE]);
	r->servername = nlproto_str(tb[NLPROTO_A_RULE_SERVERNAME]);
	r->file = nlproto_str(tb[NLPROTO_A_RULE_FILE]);
	r->line = (uint32_t)nlproto_u64(tb[NLPROTO_A_RULE_LINE], 0);
	r->mode = nlproto_str(tb[NLPROTO_A_RULE_MODE]);
	/* Repeated: nla_parse kept only the last one (all were validated). */
	nlmsg_for_each_attr(nla, (struct nlmsghdr *)nlh, 0, rem)
	{
		if (nla_type(nla) != NLPROTO_A_RULE_MATCH)
			continue;
		if (n == cap) {
			snprintf(msg, msglen, "rule %u has more than %zu match patterns", r->id,
				 cap);
			return -E2BIG;
		}
		match[n++] = nla_data(nla);
	}
	r->match = match;
	r->nmatch = n;
	return 0;
}

/* ---- sessions ---- */

int nlproto_put_session(struct nl_msg *m, const struct nlproto_session *s)
{
	int err;

	err = put_u64(m, NLPROTO_A_SESS_ID, s->id);
	err = err ?: put_u8(m, NLPROTO_A_SESS_ROLE, (uint8_t)s->role);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_CLIENT_ADDR, s->client_addr);
	err = err ?: put_u16(m, NLPROTO_A_SESS_CLIENT_PORT, s->client_port);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_DEST_NAME, s->dest_name);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_DEST_ADDR, s->dest_addr);
	err = err ?: put_u16(m, NLPROTO_A_SESS_DEST_PORT, s->dest_port);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_STATE, s->state);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_TLS_VERSION, s->tls_version);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_CIPHER, s->cipher);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_KTLS_TX, s->ktls_tx);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_KTLS_RX, s->ktls_rx);
	err = err ?: nlproto_put_str(m, NLPROTO_A_SESS_KTLS_CONF, s->ktls_conf);
	err = err ?: (s->conn_uses > 1 ? put_u32(m, NLPROTO_A_SESS_CONN_USES, s->conn_uses) : 0);
	err = err ?: (s->tls_resumed ? put_u8(m, NLPROTO_A_SESS_TLS_RESUMED, 1) : 0);
	err = err ?: (s->rule_id ? put_u32(m, NLPROTO_A_RULE_ID, s->rule_id) : 0);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_LEVEL, s->level);
	err = err ?: put_u64(m, NLPROTO_A_SESS_BYTES_C2S, s->bytes_c2s);
	err = err ?: put_u64(m, NLPROTO_A_SESS_BYTES_S2C, s->bytes_s2c);
	err = err ?: put_u64(m, NLPROTO_A_SESS_START, s->start_ms);
	return err;
}

static int get_session(struct nlattr **tb, struct nlproto_session *s, char *msg, size_t msglen)
{
	uint8_t role = (uint8_t)nlproto_u64(tb[NLPROTO_A_SESS_ROLE], NLPROTO_DIR_OUTBOUND);

	memset(s, 0, sizeof(*s));
	if (role != NLPROTO_DIR_OUTBOUND && role != NLPROTO_DIR_INBOUND) {
		snprintf(msg, msglen, "session role %u is neither outbound nor inbound", role);
		return -EINVAL;
	}
	s->id = nlproto_u64(tb[NLPROTO_A_SESS_ID], 0);
	s->role = (enum nlproto_dir)role;
	s->client_addr = nlproto_str(tb[NLPROTO_A_SESS_CLIENT_ADDR]);
	s->client_port = (uint16_t)nlproto_u64(tb[NLPROTO_A_SESS_CLIENT_PORT], 0);
	s->dest_name = nlproto_str(tb[NLPROTO_A_SESS_DEST_NAME]);
	s->dest_addr = nlproto_str(tb[NLPROTO_A_SESS_DEST_ADDR]);
	s->dest_port = (uint16_t)nlproto_u64(tb[NLPROTO_A_SESS_DEST_PORT], 0);
	s->state = nlproto_str(tb[NLPROTO_A_SESS_STATE]);
	s->tls_version = nlproto_str(tb[NLPROTO_A_SESS_TLS_VERSION]);
	s->cipher = nlproto_str(tb[NLPROTO_A_SESS_CIPHER]);
	s->ktls_tx = nlproto_str(tb[NLPROTO_A_SESS_KTLS_TX]);
	s->ktls_rx = nlproto_str(tb[NLPROTO_A_SESS_KTLS_RX]);
	s->ktls_conf = nlproto_str(tb[NLPROTO_A_SESS_KTLS_CONF]);
	s->conn_uses = (uint32_t)nlproto_u64(tb[NLPROTO_A_SESS_CONN_USES], 1);
	s->tls_resumed = nlproto_u64(tb[NLPROTO_A_SESS_TLS_RESUMED], 0) != 0;
	s->rule_id = (uint32_t)nlproto_u64(tb[NLPROTO_A_RULE_ID], 0);
	s->level = nlproto_str(tb[NLPROTO_A_RULE_LEVEL]);
	s->bytes_c2s = nlproto_u64(tb[NLPROTO_A_SESS_BYTES_C2S], 0);
	s->bytes_s2c = nlproto_u64(tb[NLPROTO_A_SESS_BYTES_S2C], 0);
	s->start_ms = nlproto_u64(tb[NLPROTO_A_SESS_START], 0);
	return 0;
}

int nlproto_parse_session(const struct nlmsghdr *nlh, struct nlproto_session *s, char *msg,
			  size_t msglen)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	int err;

	err = nlproto_parse(nlh, tb, msg, msglen, NULL);
	err = err ?: want(tb[NLPROTO_A_SESS_ID], "session id", msg, msglen);
	return err ?: get_session(tb, s, msg, msglen);
}

/* ---- status ---- */

static const struct nla_policy cipher_policy[NLPROTO_CIPHER_MAX + 1] = {
	[NLPROTO_CIPHER_TLS_VERSION] = {.type = NLA_STRING, .maxlen = 16},
	[NLPROTO_CIPHER_NAME] = {.type = NLA_STRING, .maxlen = 32},
	[NLPROTO_CIPHER_TX] = {.type = NLA_U8, .maxlen = 1},
	[NLPROTO_CIPHER_RX] = {.type = NLA_U8, .maxlen = 1},
};

static const struct nla_policy nic_policy[NLPROTO_NIC_MAX + 1] = {
	[NLPROTO_NIC_IFNAME] = {.type = NLA_STRING, .maxlen = 16},
	[NLPROTO_NIC_TX] = {.type = NLA_U8, .maxlen = 1},
	[NLPROTO_NIC_RX] = {.type = NLA_U8, .maxlen = 1},
	[NLPROTO_NIC_DRIVER] = {.type = NLA_STRING, .maxlen = 32},
	[NLPROTO_NIC_MODE] = {.type = NLA_STRING, .maxlen = 8},
	[NLPROTO_NIC_ERROR] = {.type = NLA_STRING, .maxlen = 256},
	[NLPROTO_NIC_RECORD] = {.type = NLA_U8, .maxlen = 1},
	[NLPROTO_NIC_TX_CSUM] = {.type = NLA_U8, .maxlen = 1},
	[NLPROTO_NIC_TX_SESSIONS] = {.type = NLA_U32},
	[NLPROTO_NIC_RX_SESSIONS] = {.type = NLA_U32},
	[NLPROTO_NIC_STAT] = {.type = NLA_NESTED},
};

static const struct nla_policy nic_stat_policy[NLPROTO_NIC_STAT_MAX + 1] = {
	[NLPROTO_NIC_STAT_NAME] = {.type = NLA_STRING, .maxlen = 32},
	[NLPROTO_NIC_STAT_VALUE] = {.type = NLA_U64},
};

static const struct nla_policy listener_policy[NLPROTO_LISTENER_MAX + 1] = {
	[NLPROTO_LISTENER_ADDR] = {.type = NLA_STRING, .maxlen = 64},
	[NLPROTO_LISTENER_ROLE] = {.type = NLA_STRING, .maxlen = 32},
};

/* Each nested item is a few short strings: reserving first keeps the nest start valid. */
#define NEST_ROOM 512

static int put_cipher(struct nl_msg *m, const struct nlproto_status_cipher *c)
{
	struct nlattr *nest;
	int err;

	err = nlproto_reserve(m, NEST_ROOM);
	if (err)
		return err;
	nest = nla_nest_start(m, NLPROTO_A_ST_KTLS_CIPHER);
	if (!nest)
		return -EMSGSIZE;
	err = put_field(m, NLPROTO_CIPHER_TLS_VERSION, c->tls_version);
	err = err ?: put_field(m, NLPROTO_CIPHER_NAME, c->name);
	err = err ?: put_u8(m, NLPROTO_CIPHER_TX, c->tx);
	err = err ?: put_u8(m, NLPROTO_CIPHER_RX, c->rx);
	return err ?: (nla_nest_end(m, nest) < 0 ? -EMSGSIZE : 0);
}

static int put_nic(struct nl_msg *m, const struct nlproto_status_nic *n)
{
	struct nlattr *nest;
	int err;

	/* the strings, and up to NLPROTO_NIC_STATS counters of 48 bytes each */
	err = nlproto_reserve(m, NEST_ROOM + 1024);
	if (err)
		return err;
	nest = nla_nest_start(m, NLPROTO_A_ST_NIC);
	if (!nest)
		return -EMSGSIZE;
	err = put_field(m, NLPROTO_NIC_IFNAME, n->ifname);
	err = err ?: put_u8(m, NLPROTO_NIC_TX, n->tx);
	err = err ?: put_u8(m, NLPROTO_NIC_RX, n->rx);
	err = err ?: put_field(m, NLPROTO_NIC_DRIVER, n->driver);
	err = err ?: put_field(m, NLPROTO_NIC_MODE, n->mode);
	err = err ?: put_field(m, NLPROTO_NIC_ERROR, n->error);
	err = err ?: put_u8(m, NLPROTO_NIC_RECORD, n->record);
	err = err ?: put_u8(m, NLPROTO_NIC_TX_CSUM, n->tx_csum);
	err = err ?: put_u32(m, NLPROTO_NIC_TX_SESSIONS, n->tx_sessions);
	err = err ?: put_u32(m, NLPROTO_NIC_RX_SESSIONS, n->rx_sessions);
	for (size_t i = 0; !err && i < n->nstat && i < NLPROTO_NIC_STATS; i++) {
		struct nlattr *st = nla_nest_start(m, NLPROTO_NIC_STAT);

		if (!st)
			return -EMSGSIZE;
		err = put_field(m, NLPROTO_NIC_STAT_NAME, n->stat[i].name);
		err = err ?: put_u64(m, NLPROTO_NIC_STAT_VALUE, n->stat[i].value);
		err = err ?: (nla_nest_end(m, st) < 0 ? -EMSGSIZE : 0);
	}
	return err ?: (nla_nest_end(m, nest) < 0 ? -EMSGSIZE : 0);
}

static int put_listener(struct nl_msg *m, const struct nlproto_status_listener *l)
{
	struct nlattr *nest;
	int err;

	err = nlproto_reserve(m, NEST_ROOM);
	if (err)
		return err;
	nest = nla_nest_start(m, NLPROTO_A_ST_LISTENER);
	if (!nest)
		return -EMSGSIZE;
	err = put_field(m, NLPROTO_LISTENER_ADDR, l->addr);
	err = err ?: put_field(m, NLPROTO_LISTENER_ROLE, l->role);
	return err ?: (nla_nest_end(m, nest) < 0 ? -EMSGSIZE : 0);
}

int nlproto_put_status(struct nl_msg *m, const struct nlproto_status *st)
{
	int err;

	err = put_field(m, NLPROTO_A_ST_VERSION, st->version);
	err = err ?: put_u32(m, NLPROTO_A_ST_PID, st->pid);
	err = err ?: put_u64(m, NLPROTO_A_ST_START, st->start);
	err = err ?: put_u64(m, NLPROTO_A_ST_UPTIME, st->uptime);
	err = err ?: put_u8(m, NLPROTO_A_ST_KTLS, st->ktls);
	err = err ?: put_field(m, NLPROTO_A_ST_KTLS_REASON, st->ktls_reason);
	for (size_t i = 0; !err && i < st->ncipher && i < NLPROTO_STATUS_CIPHERS; i++)
		err = put_cipher(m, &st->cipher[i]);
	for (size_t i = 0; !err && i < st->nnic && i < NLPROTO_STATUS_NICS; i++)
		err = put_nic(m, &st->nic[i]);
	for (size_t i = 0; !err && i < st->nlistener && i < NLPROTO_STATUS_LISTENERS; i++)
		err = put_listener(m, &st->listener[i]);
	err = err ?: put_u32(m, NLPROTO_A_ST_SESSIONS, st->sessions);
	err = err ?: put_u64(m, NLPROTO_A_ST_SESSIONS_TOTAL, st->sessions_total);
	err = err ?: put_u32(m, NLPROTO_A_ST_RULES_OUT, st->rules_out);
	err = err ?: put_u32(m, NLPROTO_A_ST_RULES_IN, st->rules_in);
	err = err ?: put_field(m, NLPROTO_A_LOG_LEVEL, st->log_level);
	if (st->tls_device) {
		err = err ?: put_u8(m, NLPROTO_A_ST_TLS_DEVICE, 1);
		err = err ?: put_u64(m, NLPROTO_A_ST_TLS_CURR_TX_DEVICE, st->tls_curr_tx_device);
		err = err ?: put_u64(m, NLPROTO_A_ST_TLS_CURR_RX_DEVICE, st->tls_curr_rx_device);
		err = err ?: put_u64(m, NLPROTO_A_ST_TLS_RX_DEVICE_RESYNC, st->tls_rx_device_resync);
	}
	return err;
}

/* One nested list item, validated with its own policy. */
static int parse_nested(struct nlattr **tb, int maxtype, struct nlattr *nest,
			const struct nla_policy *policy, const struct nlmsghdr *nlh, char *msg,
			size_t msglen)
{
	return nlproto_parse_attrs(tb, maxtype, nla_data(nest), nla_len(nest), policy, NULL, nlh,
				   msg, msglen, NULL);
}

static int get_nic_more(struct nlproto_status_nic *n, struct nlattr **tb, struct nlattr *nest,
			const struct nlmsghdr *nlh, char *msg, size_t msglen)
{
	struct nlattr *a;
	int rem, err = 0;

	copy_field(n->driver, sizeof(n->driver), tb[NLPROTO_NIC_DRIVER]);
	copy_field(n->mode, sizeof(n->mode), tb[NLPROTO_NIC_MODE]);
	copy_field(n->error, sizeof(n->error), tb[NLPROTO_NIC_ERROR]);
	n->record = (uint8_t)nlproto_u64(tb[NLPROTO_NIC_RECORD], 0);
	n->tx_csum = (uint8_t)nlproto_u64(tb[NLPROTO_NIC_TX_CSUM], 0);
	n->tx_sessions = (uint32_t)nlproto_u64(tb[NLPROTO_NIC_TX_SESSIONS], 0);
	n->rx_sessions = (uint32_t)nlproto_u64(tb[NLPROTO_NIC_RX_SESSIONS], 0);
	/* the repeated counters: tb kept only the last, so walk the nest */
	nla_for_each_nested(a, nest, rem)
	{
		struct nlattr *stb[NLPROTO_NIC_STAT_MAX + 1];

		if (nla_type(a) != NLPROTO_NIC_STAT || n->nstat == NLPROTO_NIC_STATS)
			continue;
		err = parse_nested(stb, NLPROTO_NIC_STAT_MAX, a, nic_stat_policy, nlh, msg, msglen);
		if (err)
			return err;
		copy_field(n->stat[n->nstat].name, sizeof(n->stat[0].name),
			   stb[NLPROTO_NIC_STAT_NAME]);
		n->stat[n->nstat].value = nlproto_u64(stb[NLPROTO_NIC_STAT_VALUE], 0);
		n->nstat++;
	}
	return 0;
}

static int get_status_item(struct nlproto_status *st, struct nlattr *nla,
			   const struct nlmsghdr *nlh, char *msg, size_t msglen)
{
	struct nlattr *tb[16];
	int err = 0;

	switch (nla_type(nla)) {
	case NLPROTO_A_ST_KTLS_CIPHER:
		err = parse_nested(tb, NLPROTO_CIPHER_MAX, nla, cipher_policy, nlh, msg, msglen);
		if (err || st->ncipher == NLPROTO_STATUS_CIPHERS)
			break;
		copy_field(st->cipher[st->ncipher].tls_version, 16, tb[NLPROTO_CIPHER_TLS_VERSION]);
		copy_field(st->cipher[st->ncipher].name, 32, tb[NLPROTO_CIPHER_NAME]);
		st->cipher[st->ncipher].tx = nlproto_u64(tb[NLPROTO_CIPHER_TX], 0) != 0;
		st->cipher[st->ncipher].rx = nlproto_u64(tb[NLPROTO_CIPHER_RX], 0) != 0;
		st->ncipher++;
		break;
	case NLPROTO_A_ST_NIC:
		err = parse_nested(tb, NLPROTO_NIC_MAX, nla, nic_policy, nlh, msg, msglen);
		if (err || st->nnic == NLPROTO_STATUS_NICS)
			break;
		copy_field(st->nic[st->nnic].ifname, 16, tb[NLPROTO_NIC_IFNAME]);
		st->nic[st->nnic].tx = (uint8_t)nlproto_u64(tb[NLPROTO_NIC_TX], 0);
		st->nic[st->nnic].rx = (uint8_t)nlproto_u64(tb[NLPROTO_NIC_RX], 0);
		err = get_nic_more(&st->nic[st->nnic], tb, nla, nlh, msg, msglen);
		st->nnic++;
		break;
	case NLPROTO_A_ST_LISTENER:
		err = parse_nested(tb, NLPROTO_LISTENER_MAX, nla, listener_policy, nlh, msg,
				   msglen);
		if (err || st->nlistener == NLPROTO_STATUS_LISTENERS)
			break;
		copy_field(st->listener[st->nlistener].addr, 64, tb[NLPROTO_LISTENER_ADDR]);
		copy_field(st->listener[st->nlistener].role, 32, tb[NLPROTO_LISTENER_ROLE]);
		st->nlistener++;
		break;
	}
	return err;
}

int nlproto_parse_status(const struct nlmsghdr *nlh, struct nlproto_status *st, char *msg,
			 size_t msglen)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1], *nla;
	int err, rem;

	memset(st, 0, sizeof(*st));
	err = nlproto_parse(nlh, tb, msg, msglen, NULL);
	if (err)
		return err;
	copy_field(st->version, sizeof(st->version), tb[NLPROTO_A_ST_VERSION]);
	st->pid = (uint32_t)nlproto_u64(tb[NLPROTO_A_ST_PID], 0);
	st->start = nlproto_u64(tb[NLPROTO_A_ST_START], 0);
	st->uptime = nlproto_u64(tb[NLPROTO_A_ST_UPTIME], 0);
	st->ktls = nlproto_u64(tb[NLPROTO_A_ST_KTLS], 0) != 0;
	copy_field(st->ktls_reason, sizeof(st->ktls_reason), tb[NLPROTO_A_ST_KTLS_REASON]);
	st->sessions = (uint32_t)nlproto_u64(tb[NLPROTO_A_ST_SESSIONS], 0);
	st->sessions_total = nlproto_u64(tb[NLPROTO_A_ST_SESSIONS_TOTAL], 0);
	st->rules_out = (uint32_t)nlproto_u64(tb[NLPROTO_A_ST_RULES_OUT], 0);
	st->rules_in = (uint32_t)nlproto_u64(tb[NLPROTO_A_ST_RULES_IN], 0);
	copy_field(st->log_level, sizeof(st->log_level), tb[NLPROTO_A_LOG_LEVEL]);
	st->tls_device = nlproto_u64(tb[NLPROTO_A_ST_TLS_DEVICE], 0) != 0;
	st->tls_curr_tx_device = nlproto_u64(tb[NLPROTO_A_ST_TLS_CURR_TX_DEVICE], 0);
	st->tls_curr_rx_device = nlproto_u64(tb[NLPROTO_A_ST_TLS_CURR_RX_DEVICE], 0);
	st->tls_rx_device_resync = nlproto_u64(tb[NLPROTO_A_ST_TLS_RX_DEVICE_RESYNC], 0);
	nlmsg_for_each_attr(nla, (struct nlmsghdr *)nlh, 0, rem)
	{
		err = get_status_item(st, nla, nlh, msg, msglen);
		if (err)
			return err;
	}
	return 0;
}

/* ---- events ---- */

int nlproto_put_event(struct nl_msg *m, const struct nlproto_event *ev)
{
	int err;

	err = put_u8(m, NLPROTO_A_EV_TYPE, (uint8_t)ev->type);
	err = err ?: put_u64(m, NLPROTO_A_EV_TIME, ev->time_ms);
	err = err ?: (ev->session ? nlproto_put_session(m, ev->session) : 0);
	/* The event's own rule and level win over the session's (put last: nla_parse keeps it). */
	err = err ?: (ev->rule_id ? put_u32(m, NLPROTO_A_RULE_ID, ev->rule_id) : 0);
	err = err ?: nlproto_put_str(m, NLPROTO_A_RULE_LEVEL, ev->level);
	err = err ?: nlproto_put_str(m, NLPROTO_A_EV_SUBJECT, ev->subject);
	err = err ?: nlproto_put_str(m, NLPROTO_A_EV_DETAIL, ev->detail);
	err = err ?: nlproto_put_str(m, NLPROTO_A_EV_SRC, ev->src);
	err = err ?: nlproto_put_str(m, NLPROTO_A_EV_DST, ev->dst);
	return err;
}

int nlproto_parse_event(const struct nlmsghdr *nlh, struct nlproto_event *ev,
			struct nlproto_session *sess, char *msg, size_t msglen)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	int err;

	memset(ev, 0, sizeof(*ev));
	err = nlproto_parse(nlh, tb, msg, msglen, NULL);
	err = err ?: want(tb[NLPROTO_A_EV_TYPE], "event type", msg, msglen);
	if (err)
		return err;
	/* Unknown (newer) types are passed on: the CLI prints them by number. */
	ev->type = (enum nlproto_event_type)nla_get_u8(tb[NLPROTO_A_EV_TYPE]);
	ev->time_ms = nlproto_u64(tb[NLPROTO_A_EV_TIME], 0);
	if (tb[NLPROTO_A_SESS_ID]) {
		err = get_session(tb, sess, msg, msglen);
		if (err)
			return err;
		ev->session = sess;
	}
	ev->rule_id = (uint32_t)nlproto_u64(tb[NLPROTO_A_RULE_ID], 0);
	ev->level = nlproto_str(tb[NLPROTO_A_RULE_LEVEL]);
	ev->subject = nlproto_str(tb[NLPROTO_A_EV_SUBJECT]);
	ev->detail = nlproto_str(tb[NLPROTO_A_EV_DETAIL]);
	ev->src = nlproto_str(tb[NLPROTO_A_EV_SRC]);
	ev->dst = nlproto_str(tb[NLPROTO_A_EV_DST]);
	return 0;
}
