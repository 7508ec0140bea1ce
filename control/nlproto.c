// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control protocol framing: message allocation, validation against the attribute policy,
 * extended acks, dump page ends, file data chunks.  See nlproto.h for the conversation.
 */
#include "control/nlproto.h"
#include "control/nlproto_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#define STR(max)                                    \
	{                                           \
		.type = NLA_STRING, .maxlen = (max) \
	}
#define U8                                  \
	{                                   \
		.type = NLA_U8, .maxlen = 1 \
	}
#define U16                                  \
	{                                    \
		.type = NLA_U16, .maxlen = 2 \
	}
#define U32                                  \
	{                                    \
		.type = NLA_U32, .maxlen = 4 \
	}
#define U64                                  \
	{                                    \
		.type = NLA_U64, .maxlen = 8 \
	}

/* Exact sizes for integers (libnl checks only the minimum unless maxlen is set). */
static const struct nla_policy nlproto_policy[NLPROTO_A_MAX + 1] = {
	[NLPROTO_A_VERSION] = U32,
	[NLPROTO_A_CURSOR] = U64,
	[NLPROTO_A_DIR] = U8,
	[NLPROTO_A_LINE] = STR(NLPROTO_LINE_MAX),
	[NLPROTO_A_KEY] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_FILE_NAME] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_DATA] = {.type = NLA_UNSPEC, .maxlen = NLPROTO_DATA_CHUNK},
	[NLPROTO_A_LOG_LEVEL] = STR(16),
	[NLPROTO_A_RULE_ID] = U32,
	[NLPROTO_A_RULE_KEY_TYPE] = STR(32),
	[NLPROTO_A_RULE_PORT] = U16,
	[NLPROTO_A_RULE_LEVEL] = STR(32),
	[NLPROTO_A_RULE_MIN_VERSION] = U32,
	[NLPROTO_A_RULE_MAX_VERSION] = U32,
	[NLPROTO_A_RULE_PROTOCOLS] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_RULE_CIPHERS] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_RULE_EXCLUDE] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_RULE_MATCH] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_RULE_SERVERNAME] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_RULE_FILE] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_RULE_LINE] = U32,
	[NLPROTO_A_SESS_ID] = U64,
	[NLPROTO_A_SESS_ROLE] = U8,
	[NLPROTO_A_SESS_CLIENT_ADDR] = STR(64),
	[NLPROTO_A_SESS_CLIENT_PORT] = U16,
	[NLPROTO_A_SESS_DEST_NAME] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_SESS_DEST_ADDR] = STR(64),
	[NLPROTO_A_SESS_DEST_PORT] = U16,
	[NLPROTO_A_SESS_STATE] = STR(64),
	[NLPROTO_A_SESS_TLS_VERSION] = STR(32),
	[NLPROTO_A_SESS_CIPHER] = STR(128),
	[NLPROTO_A_SESS_KTLS_TX] = STR(128),
	[NLPROTO_A_SESS_KTLS_RX] = STR(128),
	[NLPROTO_A_SESS_BYTES_C2S] = U64,
	[NLPROTO_A_SESS_BYTES_S2C] = U64,
	[NLPROTO_A_SESS_START] = U64,
	[NLPROTO_A_ST_VERSION] = STR(32),
	[NLPROTO_A_ST_PID] = U32,
	[NLPROTO_A_ST_START] = U64,
	[NLPROTO_A_ST_UPTIME] = U64,
	[NLPROTO_A_ST_KTLS] = U8,
	[NLPROTO_A_ST_KTLS_REASON] = STR(128),
	[NLPROTO_A_ST_KTLS_CIPHER] = {.type = NLA_NESTED},
	[NLPROTO_A_ST_NIC] = {.type = NLA_NESTED},
	[NLPROTO_A_ST_TLS_DEVICE] = U8,
	[NLPROTO_A_ST_TLS_CURR_TX_DEVICE] = U64,
	[NLPROTO_A_ST_TLS_CURR_RX_DEVICE] = U64,
	[NLPROTO_A_ST_TLS_RX_DEVICE_RESYNC] = U64,
	[NLPROTO_A_SESS_KTLS_CONF] = STR(128),
	[NLPROTO_A_ST_LISTENER] = {.type = NLA_NESTED},
	[NLPROTO_A_ST_SESSIONS] = U32,
	[NLPROTO_A_ST_SESSIONS_TOTAL] = U64,
	[NLPROTO_A_ST_RULES_OUT] = U32,
	[NLPROTO_A_ST_RULES_IN] = U32,
	[NLPROTO_A_EV_TYPE] = U8,
	[NLPROTO_A_EV_TIME] = U64,
	[NLPROTO_A_EV_SUBJECT] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_EV_DETAIL] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_EV_SRC] = STR(128),
	[NLPROTO_A_EV_DST] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_STS_DOMAIN] = STR(256),
	[NLPROTO_A_STS_ID] = STR(64),
	[NLPROTO_A_STS_MODE] = STR(16),
	[NLPROTO_A_STS_MX] = STR(256),
	[NLPROTO_A_STS_MAX_AGE] = U32,
	[NLPROTO_A_STS_FETCHED] = U64,
	[NLPROTO_A_STS_EXPIRES] = U64,
	[NLPROTO_A_STS_PENDING] = U8,
	[NLPROTO_A_STS_ERROR] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_STS_LAST_ATTEMPT] = U64,
	[NLPROTO_A_STS_LAST_CHECK] = U64,
	[NLPROTO_A_STS_FAILURES] = U32,
	[NLPROTO_A_STS_FETCHES] = U32,
	[NLPROTO_A_STS_FORCE] = U8,
	[NLPROTO_A_METRIC] = {.type = NLA_NESTED},
	[NLPROTO_A_TLSRPT_MODE] = STR(16),
	[NLPROTO_A_TLSRPT_DAY_START] = U64,
	[NLPROTO_A_TLSRPT_DOMAINS] = U64,
	[NLPROTO_A_TLSRPT_SESSIONS] = U64,
	[NLPROTO_A_TLSRPT_FAILURES] = U64,
	[NLPROTO_A_TLSRPT_SPOOLED] = U64,
	[NLPROTO_A_TLSRPT_DELIVERED] = U64,
	[NLPROTO_A_TLSRPT_GIVEN_UP] = U64,
	[NLPROTO_A_TLSRPT_FAILED_ATTEMPTS] = U64,
	[NLPROTO_A_TLSRPT_DATAGRAMS] = U64,
	[NLPROTO_A_TLSRPT_DATAGRAM_ERRORS] = U64,
	[NLPROTO_A_SESS_CONN_USES] = U32,
	[NLPROTO_A_TLSRPT_ERROR] = STR(NLPROTO_STR_MAX),
	[NLPROTO_A_RULE_MODE] = STR(16),
	[NLPROTO_A_SESS_TLS_RESUMED] = U8,
};

static const char *const attr_names[NLPROTO_A_MAX + 1] = {
	[NLPROTO_A_VERSION] = "version",
	[NLPROTO_A_CURSOR] = "cursor",
	[NLPROTO_A_DIR] = "dir",
	[NLPROTO_A_LINE] = "line",
	[NLPROTO_A_KEY] = "key",
	[NLPROTO_A_FILE_NAME] = "file-name",
	[NLPROTO_A_DATA] = "data",
	[NLPROTO_A_LOG_LEVEL] = "log-level",
	[NLPROTO_A_RULE_ID] = "rule-id",
	[NLPROTO_A_RULE_KEY_TYPE] = "rule-key-type",
	[NLPROTO_A_RULE_PORT] = "rule-port",
	[NLPROTO_A_RULE_LEVEL] = "rule-level",
	[NLPROTO_A_RULE_MIN_VERSION] = "rule-min-version",
	[NLPROTO_A_RULE_MAX_VERSION] = "rule-max-version",
	[NLPROTO_A_RULE_PROTOCOLS] = "rule-protocols",
	[NLPROTO_A_RULE_CIPHERS] = "rule-ciphers",
	[NLPROTO_A_RULE_EXCLUDE] = "rule-exclude",
	[NLPROTO_A_RULE_MATCH] = "rule-match",
	[NLPROTO_A_RULE_SERVERNAME] = "rule-servername",
	[NLPROTO_A_RULE_FILE] = "rule-file",
	[NLPROTO_A_RULE_LINE] = "rule-line",
	[NLPROTO_A_SESS_ID] = "session-id",
	[NLPROTO_A_SESS_ROLE] = "session-role",
	[NLPROTO_A_SESS_CLIENT_ADDR] = "session-client-addr",
	[NLPROTO_A_SESS_CLIENT_PORT] = "session-client-port",
	[NLPROTO_A_SESS_DEST_NAME] = "session-dest-name",
	[NLPROTO_A_SESS_DEST_ADDR] = "session-dest-addr",
	[NLPROTO_A_SESS_DEST_PORT] = "session-dest-port",
	[NLPROTO_A_SESS_STATE] = "session-state",
	[NLPROTO_A_SESS_TLS_VERSION] = "session-tls-version",
	[NLPROTO_A_SESS_CIPHER] = "session-cipher",
	[NLPROTO_A_SESS_KTLS_TX] = "session-ktls-tx",
	[NLPROTO_A_SESS_KTLS_RX] = "session-ktls-rx",
	[NLPROTO_A_SESS_BYTES_C2S] = "session-bytes-c2s",
	[NLPROTO_A_SESS_BYTES_S2C] = "session-bytes-s2c",
	[NLPROTO_A_SESS_START] = "session-start",
	[NLPROTO_A_ST_VERSION] = "status-version",
	[NLPROTO_A_ST_PID] = "status-pid",
	[NLPROTO_A_ST_START] = "status-start",
	[NLPROTO_A_ST_UPTIME] = "status-uptime",
	[NLPROTO_A_ST_KTLS] = "status-ktls",
	[NLPROTO_A_ST_KTLS_REASON] = "status-ktls-reason",
	[NLPROTO_A_ST_KTLS_CIPHER] = "status-ktls-cipher",
	[NLPROTO_A_ST_NIC] = "status-nic",
	[NLPROTO_A_ST_TLS_DEVICE] = "status-tls-device",
	[NLPROTO_A_ST_TLS_CURR_TX_DEVICE] = "status-tls-curr-tx-device",
	[NLPROTO_A_ST_TLS_CURR_RX_DEVICE] = "status-tls-curr-rx-device",
	[NLPROTO_A_ST_TLS_RX_DEVICE_RESYNC] = "status-tls-rx-device-resync",
	[NLPROTO_A_SESS_KTLS_CONF] = "session-ktls-conf",
	[NLPROTO_A_ST_LISTENER] = "status-listener",
	[NLPROTO_A_ST_SESSIONS] = "status-sessions",
	[NLPROTO_A_ST_SESSIONS_TOTAL] = "status-sessions-total",
	[NLPROTO_A_ST_RULES_OUT] = "status-rules-out",
	[NLPROTO_A_ST_RULES_IN] = "status-rules-in",
	[NLPROTO_A_EV_TYPE] = "event-type",
	[NLPROTO_A_EV_TIME] = "event-time",
	[NLPROTO_A_EV_SUBJECT] = "event-subject",
	[NLPROTO_A_EV_DETAIL] = "event-detail",
	[NLPROTO_A_EV_SRC] = "event-src",
	[NLPROTO_A_EV_DST] = "event-dst",
	[NLPROTO_A_STS_DOMAIN] = "sts-domain",
	[NLPROTO_A_STS_ID] = "sts-id",
	[NLPROTO_A_STS_MODE] = "sts-mode",
	[NLPROTO_A_STS_MX] = "sts-mx",
	[NLPROTO_A_STS_MAX_AGE] = "sts-max-age",
	[NLPROTO_A_STS_FETCHED] = "sts-fetched",
	[NLPROTO_A_STS_EXPIRES] = "sts-expires",
	[NLPROTO_A_STS_PENDING] = "sts-pending",
	[NLPROTO_A_STS_ERROR] = "sts-error",
	[NLPROTO_A_STS_LAST_ATTEMPT] = "sts-last-attempt",
	[NLPROTO_A_STS_LAST_CHECK] = "sts-last-check",
	[NLPROTO_A_STS_FAILURES] = "sts-failures",
	[NLPROTO_A_STS_FETCHES] = "sts-fetches",
	[NLPROTO_A_STS_FORCE] = "sts-force",
	[NLPROTO_A_METRIC] = "metric",
	[NLPROTO_A_TLSRPT_MODE] = "tlsrpt-mode",
	[NLPROTO_A_TLSRPT_DAY_START] = "tlsrpt-day-start",
	[NLPROTO_A_TLSRPT_DOMAINS] = "tlsrpt-domains",
	[NLPROTO_A_TLSRPT_SESSIONS] = "tlsrpt-sessions",
	[NLPROTO_A_TLSRPT_FAILURES] = "tlsrpt-failures",
	[NLPROTO_A_TLSRPT_SPOOLED] = "tlsrpt-spooled",
	[NLPROTO_A_TLSRPT_DELIVERED] = "tlsrpt-delivered",
	[NLPROTO_A_TLSRPT_GIVEN_UP] = "tlsrpt-given-up",
	[NLPROTO_A_TLSRPT_FAILED_ATTEMPTS] = "tlsrpt-failed-attempts",
	[NLPROTO_A_TLSRPT_DATAGRAMS] = "tlsrpt-datagrams",
	[NLPROTO_A_TLSRPT_DATAGRAM_ERRORS] = "tlsrpt-datagram-errors",
	[NLPROTO_A_SESS_CONN_USES] = "session-connection-uses",
	[NLPROTO_A_TLSRPT_ERROR] = "tlsrpt-error",
	[NLPROTO_A_RULE_MODE] = "rule-mode",
	[NLPROTO_A_SESS_TLS_RESUMED] = "session-tls-resumed",
};

static const char *const msg_names[] = {
	[NLPROTO_MSG_STATUS_GET - NLPROTO_MSG_STATUS_GET] = "status",
	[NLPROTO_MSG_STATUS - NLPROTO_MSG_STATUS_GET] = "status reply",
	[NLPROTO_MSG_POLICY_GET - NLPROTO_MSG_STATUS_GET] = "policy show",
	[NLPROTO_MSG_POLICY - NLPROTO_MSG_STATUS_GET] = "policy rule",
	[NLPROTO_MSG_POLICY_ADD - NLPROTO_MSG_STATUS_GET] = "policy add",
	[NLPROTO_MSG_POLICY_DEL - NLPROTO_MSG_STATUS_GET] = "policy del",
	[NLPROTO_MSG_POLICY_IMPORT - NLPROTO_MSG_STATUS_GET] = "policy import",
	[NLPROTO_MSG_POLICY_CHECK - NLPROTO_MSG_STATUS_GET] = "policy check",
	[NLPROTO_MSG_SESSION_GET - NLPROTO_MSG_STATUS_GET] = "session show",
	[NLPROTO_MSG_SESSION - NLPROTO_MSG_STATUS_GET] = "session",
	[NLPROTO_MSG_SESSION_KILL - NLPROTO_MSG_STATUS_GET] = "session kill",
	[NLPROTO_MSG_RELOAD - NLPROTO_MSG_STATUS_GET] = "reload",
	[NLPROTO_MSG_LOG_LEVEL - NLPROTO_MSG_STATUS_GET] = "log level",
	[NLPROTO_MSG_EVENT - NLPROTO_MSG_STATUS_GET] = "event",
	[NLPROTO_MSG_STS_GET - NLPROTO_MSG_STATUS_GET] = "sts show",
	[NLPROTO_MSG_STS - NLPROTO_MSG_STATUS_GET] = "sts reply",
	[NLPROTO_MSG_STS_REFRESH - NLPROTO_MSG_STATUS_GET] = "sts refresh",
	[NLPROTO_MSG_STS_PURGE - NLPROTO_MSG_STATUS_GET] = "sts purge",
	[NLPROTO_MSG_METRICS_GET - NLPROTO_MSG_STATUS_GET] = "stats",
	[NLPROTO_MSG_METRICS - NLPROTO_MSG_STATUS_GET] = "stats reply",
	[NLPROTO_MSG_TLSRPT_GET - NLPROTO_MSG_STATUS_GET] = "tlsrpt status",
	[NLPROTO_MSG_TLSRPT - NLPROTO_MSG_STATUS_GET] = "tlsrpt reply",
	[NLPROTO_MSG_TLSRPT_FLUSH - NLPROTO_MSG_STATUS_GET] = "tlsrpt flush",
};

const char *nlproto_msg_name(uint16_t type, char *buf, size_t len)
{
	if (type >= NLPROTO_MSG_STATUS_GET && type < __NLPROTO_MSG_END)
		return msg_names[type - NLPROTO_MSG_STATUS_GET];
	snprintf(buf, len, "message type 0x%x", type);
	return buf;
}

const char *nlproto_dir_name(enum nlproto_dir d)
{
	return d == NLPROTO_DIR_INBOUND ? "inbound" : "outbound";
}

int nlproto_dir_parse(const char *s, enum nlproto_dir *out)
{
	if (!strcmp(s, "outbound"))
		*out = NLPROTO_DIR_OUTBOUND;
	else if (!strcmp(s, "inbound"))
		*out = NLPROTO_DIR_INBOUND;
	else
		return -EINVAL;
	return 0;
}

const char *nlproto_event_name(enum nlproto_event_type t)
{
	switch (t) {
	case NLPROTO_EV_SESSION_START:
		return "session-start";
	case NLPROTO_EV_SESSION_TLS:
		return "session-tls";
	case NLPROTO_EV_SESSION_END:
		return "session-end";
	case NLPROTO_EV_POLICY:
		return "policy";
	case NLPROTO_EV_DROP:
		return "drop";
	default:
		return "unknown";
	}
}

const char *nlproto_offload_name(uint8_t o)
{
	switch (o) {
	case NLPROTO_OFFLOAD_OFF:
		return "off";
	case NLPROTO_OFFLOAD_ON:
		return "on";
	default:
		return "unsupported";
	}
}

/* ---- building ---- */

/* Room for an object message when the caller gives no size; nlproto_put grows it as needed. */
#define DEFAULT_ROOM 4096
/* libnl's NLA_HDRLEN and NLA_ALIGN are int expressions; sizes here are size_t. */
#define ATTR_HDRLEN sizeof(struct nlattr)

static size_t attr_align(size_t n)
{
	return (n + NLA_ALIGNTO - 1) & ~(size_t)(NLA_ALIGNTO - 1);
}

struct nl_msg *nlproto_msg_new(uint16_t type, uint16_t flags, uint32_t seq, uint32_t port,
			       size_t payload)
{
	struct nl_msg *m;

	if (payload > NLPROTO_MAX_REQUEST)
		return NULL;
	m = nlmsg_alloc_size(NLMSG_HDRLEN + ATTR_HDRLEN + 8 + (payload ? payload : DEFAULT_ROOM));
	if (!m)
		return NULL;
	if (!nlmsg_put(m, port, seq, type, 0, flags) ||
	    nla_put_u32(m, NLPROTO_A_VERSION, NLPROTO_VERSION) < 0) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

int nlproto_reserve(struct nl_msg *m, size_t more)
{
	size_t used = NLMSG_ALIGN(nlmsg_hdr(m)->nlmsg_len), max = nlmsg_get_max_size(m);

	if (used + more <= max)
		return 0;
	if (used + more > NLPROTO_MAX_REQUEST)
		return -EMSGSIZE;
	/* Doubling keeps a dump of many small puts linear. */
	if (nlmsg_expand(m, used + more > 2 * max ? used + more : 2 * max) < 0)
		return -ENOMEM;
	return 0;
}

int nlproto_put(struct nl_msg *m, int type, size_t len, const void *data)
{
	int err;

	/* nla_len is 16 bits and libnl does not check: a longer payload would wrap it. */
	if (len > UINT16_MAX - ATTR_HDRLEN)
		return -EMSGSIZE;
	err = nlproto_reserve(m, attr_align(ATTR_HDRLEN + len));
	if (err)
		return err;
	return nla_put(m, type, (int)len, data) < 0 ? -EMSGSIZE : 0;
}

int nlproto_put_str(struct nl_msg *m, int type, const char *s)
{
	return s ? nlproto_put(m, type, strlen(s) + 1, s) : 0;
}

int nlproto_put_data(struct nl_msg *m, const char *data, size_t len)
{
	int err;

	for (size_t off = 0; off < len; off += NLPROTO_DATA_CHUNK) {
		size_t n = len - off < NLPROTO_DATA_CHUNK ? len - off : NLPROTO_DATA_CHUNK;

		err = nlproto_put(m, NLPROTO_A_DATA, n, data + off);
		if (err)
			return err;
	}
	return 0;
}

/* ---- parsing ---- */

const char *nlproto_attr_name(int type)
{
	if (type > 0 && type <= NLPROTO_A_MAX && attr_names[type])
		return attr_names[type];
	return "unknown";
}

/* Which attribute of a stream failed validation, said in words. */
static void explain_bad_attr(struct nlattr *head, int len, const struct nla_policy *policy,
			     int maxtype, const char *const *names, const void *base, char *msg,
			     size_t msglen, uint32_t *bad_off)
{
	struct nlattr *nla;
	int rem;

	nla_for_each_attr(nla, head, len, rem)
	{
		int type = nla_type(nla);

		if (nla_validate(nla, nla->nla_len, maxtype, policy) < 0) {
			uint32_t off = (uint32_t)((const char *)nla - (const char *)base);
			const char *name = names && names[type] ? names[type] : "unnamed";

			snprintf(msg, msglen,
				 "invalid attribute %s (type %d, %d bytes) at offset %u", name,
				 type, nla_len(nla), off);
			if (bad_off)
				*bad_off = off;
			return;
		}
	}
	snprintf(msg, msglen, "invalid attributes");
}

int nlproto_parse_attrs(struct nlattr **tb, int maxtype, struct nlattr *head, int len,
			const struct nla_policy *policy, const char *const *names, const void *base,
			char *msg, size_t msglen, uint32_t *bad_off)
{
	struct nlattr *nla;
	int rem;

	if (nla_parse(tb, maxtype, head, len, policy) < 0) {
		explain_bad_attr(head, len, policy, maxtype, names, base, msg, msglen, bad_off);
		return -EINVAL;
	}
	/* libnl stops quietly at a truncated or garbled attribute; the protocol does not. */
	nla_for_each_attr(nla, head, len, rem);
	if (rem > 0) {
		uint32_t off = (uint32_t)((const char *)head + len - rem - (const char *)base);

		snprintf(msg, msglen, "malformed attribute at offset %u (%d bytes left over)", off,
			 rem);
		if (bad_off)
			*bad_off = off;
		return -EBADMSG;
	}
	return 0;
}

int nlproto_parse(const struct nlmsghdr *nlh, struct nlattr **tb, char *msg, size_t msglen,
		  uint32_t *bad_off)
{
	struct nlmsghdr *h = (struct nlmsghdr *)nlh;
	uint32_t v;
	int err;

	if (bad_off)
		*bad_off = 0;
	if (nlh->nlmsg_len < NLMSG_HDRLEN) {
		snprintf(msg, msglen, "message of %u bytes is shorter than its header",
			 nlh->nlmsg_len);
		return -EBADMSG;
	}
	err = nlproto_parse_attrs(tb, NLPROTO_A_MAX, nlmsg_attrdata(h, 0), nlmsg_attrlen(h, 0),
				  nlproto_policy, attr_names, nlh, msg, msglen, bad_off);
	if (err)
		return err;
	if (!tb[NLPROTO_A_VERSION]) {
		snprintf(msg, msglen, "no protocol version attribute");
		return -EPROTO;
	}
	v = nla_get_u32(tb[NLPROTO_A_VERSION]);
	if (v < NLPROTO_MIN_VERSION) {
		snprintf(msg, msglen,
			 "peer speaks control protocol %u; this side needs %u or newer", v,
			 NLPROTO_MIN_VERSION);
		return -EPROTO;
	}
	return 0;
}

const char *nlproto_str(const struct nlattr *a)
{
	return a ? nla_data(a) : NULL;
}

uint64_t nlproto_u64(const struct nlattr *a, uint64_t dflt)
{
	uint64_t v = 0;

	if (!a)
		return dflt;
	switch (nla_len(a)) {
	case 1:
		return nla_get_u8(a);
	case 2:
		return nla_get_u16(a);
	case 4:
		return nla_get_u32(a);
	case 8:
		memcpy(&v, nla_data(a), sizeof(v));
		return v;
	default:
		return dflt;
	}
}

int nlproto_get_data(const struct nlmsghdr *nlh, char **data, size_t *len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)nlh;
	struct nlattr *nla;
	size_t total = 0, off = 0;
	char *buf;
	int rem;

	nlmsg_for_each_attr(nla, h, 0, rem) if (nla_type(nla) == NLPROTO_A_DATA) total +=
		(size_t)nla_len(nla);
	if (total > NLPROTO_MAX_REQUEST)
		return -EMSGSIZE;
	buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;
	nlmsg_for_each_attr(nla, h, 0, rem)
	{
		if (nla_type(nla) != NLPROTO_A_DATA)
			continue;
		memcpy(buf + off, nla_data(nla), (size_t)nla_len(nla));
		off += (size_t)nla_len(nla);
	}
	buf[total] = '\0';
	*data = buf;
	*len = total;
	return 0;
}

/* ---- acks, errors, dump ends ---- */

struct nl_msg *nlproto_error_new(const struct nlmsghdr *req, uint32_t port, int error,
				 const char *text, uint32_t bad_off)
{
	struct nlmsgerr e = {.error = error, .msg = *req};
	size_t tlen = text ? strnlen(text, NLPROTO_TEXT_MAX - 1) : 0;
	uint16_t flags = NLM_F_CAPPED;
	struct nl_msg *m;
	int err = 0;

	if (text || bad_off)
		flags |= NLM_F_ACK_TLVS;
	m = nlmsg_alloc_size(NLMSG_HDRLEN + sizeof(e) + 2 * ATTR_HDRLEN + NLPROTO_TEXT_MAX + 8);
	if (!m)
		return NULL;
	if (!nlmsg_put(m, port, req->nlmsg_seq, NLMSG_ERROR, 0, flags) ||
	    nlmsg_append(m, &e, sizeof(e), NLMSG_ALIGNTO) < 0)
		goto fail;
	if (text) {
		struct nlattr *a = nla_reserve(m, NLMSGERR_ATTR_MSG, (int)tlen + 1);

		if (!a)
			goto fail;
		memcpy(nla_data(a), text, tlen);
		((char *)nla_data(a))[tlen] = '\0';
	}
	if (bad_off)
		err = nla_put_u32(m, NLMSGERR_ATTR_OFFS, bad_off);
	if (err < 0)
		goto fail;
	return m;
fail:
	nlmsg_free(m);
	return NULL;
}

int nlproto_error_parse(const struct nlmsghdr *nlh, int *error, const char **text)
{
	static const struct nla_policy ext_policy[NLMSGERR_ATTR_MAX + 1] = {
		[NLMSGERR_ATTR_MSG] = {.type = NLA_STRING},
		[NLMSGERR_ATTR_OFFS] = {.type = NLA_U32},
	};
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const struct nlmsgerr *e;
	size_t off;

	*text = NULL;
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return -EBADMSG;
	e = NLMSG_DATA(nlh);
	/* 0 or -errno; anything else is not an error we could report truthfully. */
	if (e->error > 0 || e->error < -4095)
		return -EBADMSG;
	*error = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return 0;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		/* A full echo of the request precedes the TLVs. */
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return -EBADMSG;
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	}
	off = NLMSG_ALIGN(off);
	if (off > nlh->nlmsg_len - NLMSG_HDRLEN)
		return -EBADMSG;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)NLMSG_DATA(nlh) + off),
		      (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off), ext_policy) < 0)
		return -EBADMSG;
	if (tb[NLMSGERR_ATTR_MSG])
		*text = nla_data(tb[NLMSGERR_ATTR_MSG]);
	return 0;
}

struct nl_msg *nlproto_done_new(uint32_t seq, uint32_t port, bool more, uint64_t cursor)
{
	struct nl_msg *m = nlmsg_alloc_size(NLMSG_HDRLEN + 64);
	int zero = 0;

	if (!m)
		return NULL;
	if (!nlmsg_put(m, port, seq, NLMSG_DONE, 0, NLM_F_MULTI) ||
	    nlmsg_append(m, &zero, sizeof(zero), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(m, NLPROTO_A_VERSION, NLPROTO_VERSION) < 0 ||
	    (more && nla_put_u64(m, NLPROTO_A_CURSOR, cursor) < 0)) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

int nlproto_done_parse(const struct nlmsghdr *nlh, int *error, bool *more, uint64_t *cursor)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	struct nlmsghdr *h = (struct nlmsghdr *)nlh;
	char msg[128];
	int v;

	*more = false;
	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
		return -EBADMSG;
	memcpy(&v, NLMSG_DATA(nlh), sizeof(v));
	if (v > 0 || v < -4095)
		return -EBADMSG;
	*error = v;
	/* A bare DONE (an int and nothing else) is a complete dump. */
	if (nlproto_parse_attrs(tb, NLPROTO_A_MAX, nlmsg_attrdata(h, sizeof(int)),
				nlmsg_attrlen(h, sizeof(int)), nlproto_policy, attr_names, nlh, msg,
				sizeof(msg), NULL))
		return -EBADMSG;
	if (tb[NLPROTO_A_CURSOR]) {
		*more = true;
		*cursor = nla_get_u64(tb[NLPROTO_A_CURSOR]);
	}
	return 0;
}
