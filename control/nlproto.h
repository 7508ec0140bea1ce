/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control protocol between tlsgatectl and tlsgated: netlink messages (NETLINK_USERSOCK) whose
 * payload is a stream of nlattr TLVs, built and parsed with libnl-3.  This header is the wire
 * contract; control/nlproto.c frames messages (requests, acks with extended error text, dump
 * pages) and control/nlproto_obj.c encodes and decodes the objects (rules, sessions, status,
 * events); they only turn bytes into structs and back.
 *
 * control/ is the control plane, for both ends (it knows nothing of policies or sessions):
 *   nlproto.c, nlproto_obj.c  this wire protocol
 *   nlproto_metrics.c  the daemon's own counters as metric families (name, labels, values)
 *   server.c    the daemon's socket: receive (size-checked, with credentials), dispatch, send
 *   requests.c  one handler per request type, calling the ops the daemon implements
 *   reply.c     answers gathered into one datagram, dump pages
 *   auth.c      who may read (root, the tlsgate group) and who may change (root)
 *   client.c    tlsgatectl's end: request/ack with sequence numbers, dumps, the event group
 *   runfile.c   RUNDIR/ctl: where the daemon's port is
 *
 * Conversation (like rtnetlink):
 *   request  NLM_F_REQUEST [| NLM_F_ACK] [| NLM_F_DUMP], seq chosen by the CLI
 *   reply    zero or more object messages with the request's seq, then
 *            - NLMSG_ERROR: error 0 is the ack, -errno a failure; NLM_F_ACK_TLVS marks an
 *              NLMSGERR_ATTR_MSG text (the daemon builds the extended ack itself, since no kernel
 *              is involved); the request header is echoed capped (NLM_F_CAPPED);
 *            - or, for dumps, NLMSG_DONE.  A dump is paged: one datagram carries up to
 *              NLPROTO_PAGE_SIZE bytes of NLM_F_MULTI messages and ends in NLMSG_DONE; when
 *              entries remain, the DONE carries NLPROTO_A_CURSOR and the CLI asks again with
 *              that cursor.  The daemon keeps no per-client dump state and never blocks on a
 *              slow reader (the kernel itself generates dump pages as the reader reads).
 *   event    NLPROTO_MSG_EVENT to multicast group RUNDIR/ctl:events_group (1..32).  The
 *            kernel lets only CAP_NET_ADMIN join NETLINK_USERSOCK groups but anyone send to
 *            them: receivers check the sender's port and credentials (control_client.c).
 *
 * Versioning: every message carries NLPROTO_A_VERSION (the sender's revision).  Receivers
 * ignore attributes they do not know (libnl's nla_parse skips types above the maximum), check
 * the ones each message requires, and refuse peers older than NLPROTO_MIN_VERSION.  New fields
 * get new attribute numbers at the end of the enum; numbers are never reused.  Levels, key types
 * and states travel as strings so that an older CLI can print what a newer daemon knows.
 */
#ifndef TLSGATE_CONTROL_NLPROTO_H
#define TLSGATE_CONTROL_NLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>


struct nl_msg;
struct nlattr;

#define NLPROTO_FAMILY NETLINK_USERSOCK
#define NLPROTO_VERSION 1	/* what this build speaks */
#define NLPROTO_MIN_VERSION 1	/* the oldest peer it understands */
#define NLPROTO_EVENTS_GROUP 23 /* default multicast group for events (1..32) */

#define NLPROTO_MAX_REQUEST (16u << 20) /* largest request the daemon reads (policy import) */
#define NLPROTO_PAGE_SIZE (32u << 10)	/* bytes of dump entries per datagram */
#define NLPROTO_DATA_CHUNK 32768	/* bytes per NLPROTO_A_DATA attribute (nla_len is u16) */
#define NLPROTO_TEXT_MAX 4096		/* extended ack text, including the NUL */
#define NLPROTO_LINE_MAX 8192		/* a policy line, including the NUL */
#define NLPROTO_STR_MAX 1024		/* any other string, including the NUL */

/* nlmsg_type values (>= NLMSG_MIN_TYPE). */
/* A rule's direction on the wire (NLPROTO_A_DIR, NLPROTO_A_SESS_ROLE); fixed values. */
enum nlproto_dir {
	NLPROTO_DIR_OUTBOUND = 0,	/* toward destinations (a session: we are the client) */
	NLPROTO_DIR_INBOUND = 1,	/* from external senders */
};

enum nlproto_msg {
	NLPROTO_MSG_STATUS_GET = 0x20, /* -> STATUS */
	NLPROTO_MSG_STATUS,
	NLPROTO_MSG_POLICY_GET,	   /* NLM_F_DUMP [DIR] [CURSOR] -> POLICY... DONE */
	NLPROTO_MSG_POLICY,	   /* one rule: dump entry, or the rule(s) an add made */
	NLPROTO_MSG_POLICY_ADD,	   /* LINE [DIR] -> POLICY, ack */
	NLPROTO_MSG_POLICY_DEL,	   /* KEY [DIR] -> ack */
	NLPROTO_MSG_POLICY_IMPORT, /* FILE_NAME DATA... [DIR] -> ack (text: summary) */
	NLPROTO_MSG_POLICY_CHECK,  /* FILE_NAME DATA... [DIR] -> ack or error with file:line:col */
	NLPROTO_MSG_SESSION_GET, /* NLM_F_DUMP [CURSOR] -> SESSION... DONE; or SESS_ID -> SESSION */
	NLPROTO_MSG_SESSION,
	NLPROTO_MSG_SESSION_KILL, /* SESS_ID -> ack */
	NLPROTO_MSG_RELOAD,	  /* -> ack (text: summary) */
	NLPROTO_MSG_LOG_LEVEL,	  /* LOG_LEVEL -> ack */
	NLPROTO_MSG_EVENT,	  /* multicast only */
	NLPROTO_MSG_STS_GET,	  /* STS_DOMAIN -> STS (MTA-STS: cached policy and fetch state) */
	NLPROTO_MSG_STS,
	NLPROTO_MSG_STS_REFRESH,  /* STS_DOMAIN [STS_FORCE] -> ack (the fetch runs on) */
	NLPROTO_MSG_STS_PURGE,	  /* STS_DOMAIN -> ack */
	NLPROTO_MSG_METRICS_GET,  /* -> METRICS (the daemon's own counters) */
	NLPROTO_MSG_METRICS,	  /* METRIC... */
	NLPROTO_MSG_TLSRPT_GET,	  /* -> TLSRPT (TLS reports: the day's counts, the spool) */
	NLPROTO_MSG_TLSRPT,
	NLPROTO_MSG_TLSRPT_FLUSH, /* -> ack: the day so far into reports, spooled ones sent now */
	__NLPROTO_MSG_END,
};

/*
 * One attribute namespace for every message (like a generic netlink family): an object's
 * fields are top-level attributes of its message; events reuse the session and rule fields.
 * Repeated attributes are marked; all others appear at most once.
 */
enum nlproto_attr {
	NLPROTO_A_UNSPEC,
	NLPROTO_A_VERSION,   /* u32, every message */
	NLPROTO_A_CURSOR,    /* u64: dump position (the last id sent) */
	NLPROTO_A_DIR,	     /* u8: enum nlproto_dir */
	NLPROTO_A_LINE,	     /* string: a Postfix policy line (add; rules: canonical) */
	NLPROTO_A_KEY,	     /* string: a rule key (policy del; rule dumps) */
	NLPROTO_A_FILE_NAME, /* string: import/check: the name errors cite */
	NLPROTO_A_DATA,	     /* binary, repeated: file contents in order */
	NLPROTO_A_LOG_LEVEL, /* string: err, warn, info, debug */

	NLPROTO_A_RULE_ID,	    /* u32 */
	NLPROTO_A_RULE_KEY_TYPE,    /* string: domain, subdomains, host, addr, default */
	NLPROTO_A_RULE_PORT,	    /* u16: [host]:port, 0 = any */
	NLPROTO_A_RULE_LEVEL,	    /* string: none, may, encrypt, ... */
	NLPROTO_A_RULE_MIN_VERSION, /* u32: protocols= lower bound (TLS1_2_VERSION...), 0 none */
	NLPROTO_A_RULE_MAX_VERSION, /* u32 */
	NLPROTO_A_RULE_PROTOCOLS,   /* string: protocols= as written */
	NLPROTO_A_RULE_CIPHERS,	    /* string */
	NLPROTO_A_RULE_EXCLUDE,	    /* string */
	NLPROTO_A_RULE_MATCH,	    /* string, repeated */
	NLPROTO_A_RULE_SERVERNAME,  /* string */
	NLPROTO_A_RULE_FILE,	    /* string */
	NLPROTO_A_RULE_LINE,	    /* u32 */

	NLPROTO_A_SESS_ID,	    /* u64 */
	NLPROTO_A_SESS_ROLE,	    /* u8: enum nlproto_dir (outbound: we are the client) */
	NLPROTO_A_SESS_CLIENT_ADDR, /* string: "192.0.2.10", "2001:db8::10" */
	NLPROTO_A_SESS_CLIENT_PORT, /* u16 */
	NLPROTO_A_SESS_DEST_NAME,   /* string: MX host name when known */
	NLPROTO_A_SESS_DEST_ADDR,   /* string */
	NLPROTO_A_SESS_DEST_PORT,   /* u16 */
	NLPROTO_A_SESS_STATE,	    /* string: connecting, banner, starttls, handshake, relay... */
	NLPROTO_A_SESS_TLS_VERSION, /* string: TLSv1.3 */
	NLPROTO_A_SESS_CIPHER,	    /* string: TLS_AES_256_GCM_SHA384 */
	NLPROTO_A_SESS_KTLS_TX,	    /* string: sw, hw, user, off, ... */
	NLPROTO_A_SESS_KTLS_RX,	    /* string */
	NLPROTO_A_SESS_BYTES_C2S,   /* u64: client -> destination */
	NLPROTO_A_SESS_BYTES_S2C,   /* u64: destination -> client */
	NLPROTO_A_SESS_START,	    /* u64: unix time in ms */

	NLPROTO_A_ST_VERSION,	     /* string: tlsgated's version */
	NLPROTO_A_ST_PID,	     /* u32 */
	NLPROTO_A_ST_START,	     /* u64: unix time in s */
	NLPROTO_A_ST_UPTIME,	     /* u64: s */
	NLPROTO_A_ST_KTLS,	     /* u8: the tls ULP works */
	NLPROTO_A_ST_KTLS_REASON,    /* string: why not */
	NLPROTO_A_ST_KTLS_CIPHER,    /* nested nlproto_cipher_attr, repeated */
	NLPROTO_A_ST_NIC,	     /* nested nlproto_nic_attr, repeated */
	NLPROTO_A_ST_LISTENER,	     /* nested nlproto_listener_attr, repeated */
	NLPROTO_A_ST_SESSIONS,	     /* u32: active */
	NLPROTO_A_ST_SESSIONS_TOTAL, /* u64: since start */
	NLPROTO_A_ST_RULES_OUT,	     /* u32 */
	NLPROTO_A_ST_RULES_IN,	     /* u32 */

	NLPROTO_A_EV_TYPE,    /* u8: enum nlproto_event_type */
	NLPROTO_A_EV_TIME,    /* u64: unix time in ms */
	NLPROTO_A_EV_SUBJECT, /* string: what was decided about / dropped */
	NLPROTO_A_EV_DETAIL,  /* string: how, why */
	NLPROTO_A_EV_SRC,     /* string: addr:port */
	NLPROTO_A_EV_DST,     /* string */

	NLPROTO_A_STS_DOMAIN,	    /* string */
	NLPROTO_A_STS_ID,	    /* string: the policy's id (TXT id= when fetched) */
	NLPROTO_A_STS_MODE,	    /* string: enforce, testing, none */
	NLPROTO_A_STS_MX,	    /* string, repeated: mx patterns */
	NLPROTO_A_STS_MAX_AGE,	    /* u32: s */
	NLPROTO_A_STS_FETCHED,	    /* u64: unix time in s */
	NLPROTO_A_STS_EXPIRES,	    /* u64: unix time in s */
	NLPROTO_A_STS_PENDING,	    /* u8: a refresh is under way */
	NLPROTO_A_STS_ERROR,	    /* string: why the last refresh failed */
	NLPROTO_A_STS_LAST_ATTEMPT, /* u64: unix time in s */
	NLPROTO_A_STS_LAST_CHECK,   /* u64: unix time in s of the last successful check */
	NLPROTO_A_STS_FAILURES,	    /* u32: consecutive */
	NLPROTO_A_STS_FETCHES,	    /* u32: policies fetched since the daemon started */
	NLPROTO_A_STS_FORCE,	    /* u8: refresh: fetch even if the TXT id is unchanged */

	NLPROTO_A_METRIC, /* nested nlproto_metric_attr, repeated: one metric family */

	/* NIC TLS offload (issue 16) */
	NLPROTO_A_ST_TLS_DEVICE,	       /* u8: /proc/net/tls_stat was read */
	NLPROTO_A_ST_TLS_CURR_TX_DEVICE,   /* u64: TlsCurrTxDevice */
	NLPROTO_A_ST_TLS_CURR_RX_DEVICE,   /* u64: TlsCurrRxDevice */
	NLPROTO_A_ST_TLS_RX_DEVICE_RESYNC, /* u64: TlsRxDeviceResync */
	NLPROTO_A_SESS_KTLS_CONF, /* string: the kernel's report (sock_diag): "tx=sw rx=sw" */
	/* end NIC TLS offload */
	NLPROTO_A_TLSRPT_MODE,		 /* string: "daily" (built-in reports) or "fleet" */
	NLPROTO_A_TLSRPT_DAY_START,	 /* u64: unix time in s the counts run from */
	NLPROTO_A_TLSRPT_DOMAINS,	 /* u64: policy domains counted so far */
	NLPROTO_A_TLSRPT_SESSIONS,	 /* u64 */
	NLPROTO_A_TLSRPT_FAILURES,	 /* u64 */
	NLPROTO_A_TLSRPT_SPOOLED,	 /* u64: reports waiting for delivery */
	NLPROTO_A_TLSRPT_DELIVERED,	 /* u64: reports delivered since the daemon started */
	NLPROTO_A_TLSRPT_GIVEN_UP,	 /* u64 */
	NLPROTO_A_TLSRPT_FAILED_ATTEMPTS, /* u64 */
	NLPROTO_A_TLSRPT_DATAGRAMS,	 /* u64: fleet: results sent to tlsrpt-collectd */
	NLPROTO_A_TLSRPT_DATAGRAM_ERRORS, /* u64 */
	NLPROTO_A_TLSRPT_ERROR,		 /* string: the last delivery error */
	NLPROTO_A_RULE_MODE, /* string: monitor, enforce (the mode in force: the rule's own
			      * mode= or its table's *_policy_mode); absent: enforce */
	NLPROTO_A_SESS_CONN_USES, /* u32: sessions the up connection served, this one included
				   * (2 and more: reused, outbound_connection_reuse); absent: 1 */
	NLPROTO_A_SESS_TLS_RESUMED, /* u8: 1 when the policed leg's TLS session was resumed */
	__NLPROTO_A_END,
};
#define NLPROTO_A_MAX (__NLPROTO_A_END - 1)

enum nlproto_cipher_attr {
	NLPROTO_CIPHER_UNSPEC,
	NLPROTO_CIPHER_TLS_VERSION, /* string: TLSv1.2 */
	NLPROTO_CIPHER_NAME,	    /* string: aes-128-gcm */
	NLPROTO_CIPHER_TX,	    /* u8 */
	NLPROTO_CIPHER_RX,	    /* u8 */
	__NLPROTO_CIPHER_END,
};
#define NLPROTO_CIPHER_MAX (__NLPROTO_CIPHER_END - 1)

enum nlproto_nic_attr {
	NLPROTO_NIC_UNSPEC,
	NLPROTO_NIC_IFNAME, /* string */
	NLPROTO_NIC_TX,	    /* u8: enum nlproto_offload */
	NLPROTO_NIC_RX,	    /* u8 */
	NLPROTO_NIC_DRIVER,	 /* string */
	NLPROTO_NIC_MODE,	 /* string: nic_offload auto, on, off */
	NLPROTO_NIC_ERROR,	 /* string: why a probe or a set failed */
	NLPROTO_NIC_RECORD,	 /* u8: tls-hw-record, enum nlproto_offload */
	NLPROTO_NIC_TX_CSUM,	 /* u8: TX checksum offload (TLS TX needs it) */
	NLPROTO_NIC_TX_SESSIONS, /* u32: our sessions whose TX the NIC does now */
	NLPROTO_NIC_RX_SESSIONS, /* u32 */
	NLPROTO_NIC_STAT,	 /* nested nlproto_nic_stat_attr, repeated: ethtool -S TLS */
	__NLPROTO_NIC_END,
};
#define NLPROTO_NIC_MAX (__NLPROTO_NIC_END - 1)

enum nlproto_nic_stat_attr {
	NLPROTO_NIC_STAT_UNSPEC,
	NLPROTO_NIC_STAT_NAME,	/* string: tx_tls_encrypted_packets */
	NLPROTO_NIC_STAT_VALUE, /* u64 */
	__NLPROTO_NIC_STAT_END,
};
#define NLPROTO_NIC_STAT_MAX (__NLPROTO_NIC_STAT_END - 1)

enum nlproto_listener_attr {
	NLPROTO_LISTENER_UNSPEC,
	NLPROTO_LISTENER_ADDR, /* string: 127.0.0.1:10025 */
	NLPROTO_LISTENER_ROLE, /* string: outbound-transparent, inbound */
	__NLPROTO_LISTENER_END,
};
#define NLPROTO_LISTENER_MAX (__NLPROTO_LISTENER_END - 1)

/*
 * The daemon's counters travel as metric families in Prometheus' data model, named and
 * labelled by the daemon: a counter it adds needs no wire change, and an older CLI prints it.
 * A family's samples come grouped by their label values in label order (all samples of
 * policy="sts" together, ...), so the CLI can nest them as it reads.
 */
enum nlproto_metric_attr {
	NLPROTO_METRIC_UNSPEC,
	NLPROTO_METRIC_NAME,   /* string: [a-zA-Z_][a-zA-Z0-9_]*, no prefix, no _total */
	NLPROTO_METRIC_TYPE,   /* string: counter, gauge */
	NLPROTO_METRIC_HELP,   /* string: one line */
	NLPROTO_METRIC_SAMPLE, /* nested nlproto_sample_attr, repeated */
	__NLPROTO_METRIC_END,
};
#define NLPROTO_METRIC_MAX (__NLPROTO_METRIC_END - 1)

enum nlproto_sample_attr {
	NLPROTO_SAMPLE_UNSPEC,
	NLPROTO_SAMPLE_VALUE, /* u64 */
	NLPROTO_SAMPLE_LABEL, /* nested nlproto_label_attr, repeated, the family's label order */
	__NLPROTO_SAMPLE_END,
};
#define NLPROTO_SAMPLE_MAX (__NLPROTO_SAMPLE_END - 1)

enum nlproto_label_attr {
	NLPROTO_LABEL_UNSPEC,
	NLPROTO_LABEL_NAME,  /* string: [a-zA-Z_][a-zA-Z0-9_]* */
	NLPROTO_LABEL_VALUE, /* string */
	__NLPROTO_LABEL_END,
};
#define NLPROTO_LABEL_MAX (__NLPROTO_LABEL_END - 1)

/* ethtool tls-hw-{tx,rx}-offload as the daemon found it. */
enum nlproto_offload {
	NLPROTO_OFFLOAD_UNSUPPORTED,
	NLPROTO_OFFLOAD_OFF,
	NLPROTO_OFFLOAD_ON,
};

enum nlproto_event_type {
	NLPROTO_EV_SESSION_START = 1, /* accepted / connected; session fields */
	NLPROTO_EV_SESSION_TLS,	      /* handshake done, kTLS state known */
	NLPROTO_EV_SESSION_END,	      /* detail: why */
	NLPROTO_EV_POLICY, /* a decision: rule, level, subject (the key asked), detail (how) */
	NLPROTO_EV_DROP,   /* the enforcer dropped: src, dst, rule, detail (reason) */
	__NLPROTO_EV_END,
};

/*
 * Objects.  Strings are borrowed: when encoding, they must live until the put returns; when
 * decoding, they point into the message and live as long as it does.  NULL = absent.
 */
struct nlproto_rule {
	uint32_t id;
	enum nlproto_dir dir;
	const char *key_type; /* "domain", "subdomains", "host", "addr", "default" */
	const char *key;      /* as written, normalised: example.org, [mx.example.net]:25 */
	uint16_t port;
	const char *level;		   /* policy_level_name() */
	uint32_t min_version, max_version; /* protocols=, 0 = not set */
	const char *protocols;		   /* protocols= as written, or NULL */
	const char *text; /* the rule as a table line (policy_rule_format), or NULL */
	const char *ciphers;
	const char *exclude;
	const char *const *match;
	size_t nmatch;
	const char *servername;
	const char *file;
	uint32_t line;
	const char *mode; /* "monitor", "enforce"; NULL from an older daemon (enforce) */
};

struct nlproto_session {
	uint64_t id;
	enum nlproto_dir role;
	const char *client_addr;
	uint16_t client_port;
	const char *dest_name; /* NULL when only the address is known */
	const char *dest_addr;
	uint16_t dest_port;
	const char *state;
	const char *tls_version; /* NULL before/without TLS */
	const char *cipher;
	const char *ktls_tx, *ktls_rx;
	const char *ktls_conf; /* the kernel's own report, or NULL */
	uint32_t conn_uses;    /* the up connection's use, this session's included; 0: unknown */
	bool tls_resumed;      /* an abbreviated handshake (session resumption) */
	uint32_t rule_id;
	const char *level;
	uint64_t bytes_c2s, bytes_s2c;
	uint64_t start_ms;
};

#define NLPROTO_STATUS_CIPHERS 8
#define NLPROTO_STATUS_NICS 16
#define NLPROTO_NIC_STATS 16
#define NLPROTO_STATUS_LISTENERS 16

/* Status is small and bounded: it is copied, not borrowed (the daemon fills it in one call). */
struct nlproto_status {
	char version[32];
	uint32_t pid;
	uint64_t start;	 /* unix time, s */
	uint64_t uptime; /* s */
	bool ktls;
	char ktls_reason[128];
	struct nlproto_status_cipher {
		char tls_version[16];
		char name[32];
		bool tx, rx;
	} cipher[NLPROTO_STATUS_CIPHERS];
	size_t ncipher;
	struct nlproto_status_nic {
		char ifname[16];
		uint8_t tx, rx;	      /* enum nlproto_offload */
		uint8_t record, tx_csum; /* tls-hw-record; TX checksum (off/on) */
		char driver[32];
		char mode[8];
		char error[256];
		uint32_t tx_sessions, rx_sessions;
		struct {
			char name[32];
			uint64_t value;
		} stat[NLPROTO_NIC_STATS];
		size_t nstat;
	} nic[NLPROTO_STATUS_NICS];
	size_t nnic;
	bool tls_device; /* the three below were read */
	uint64_t tls_curr_tx_device, tls_curr_rx_device, tls_rx_device_resync;
	struct nlproto_status_listener {
		char addr[64];
		char role[32];
	} listener[NLPROTO_STATUS_LISTENERS];
	size_t nlistener;
	uint32_t sessions;
	uint64_t sessions_total;
	uint32_t rules_out, rules_in;
	char log_level[16];
};

struct nlproto_event {
	enum nlproto_event_type type;
	uint64_t time_ms;
	const struct nlproto_session *session; /* session events; optional otherwise */
	uint32_t rule_id;		       /* 0 = none */
	const char *level;
	const char *subject;
	const char *detail;
	const char *src, *dst;
};

/* MTA-STS state of one domain; no policy cached when id is NULL. */
struct nlproto_sts {
	const char *domain;
	const char *id;
	const char *mode;
	const char *const *mx;
	size_t nmx;
	uint32_t max_age;
	uint64_t fetched, expires;
	bool pending;
	const char *error;
	uint64_t last_attempt, last_check;
	uint32_t failures, fetches;
};

/* The TLS reporter's state (borrowed strings). */
struct nlproto_tlsrpt {
	const char *mode;
	uint64_t day_start, domains, sessions, failures, spooled;
	uint64_t delivered, given_up, failed_attempts, datagrams, datagram_errors;
	const char *error;
};

/* One metric family (borrowed strings, as above). */
struct nlproto_label {
	const char *name, *value;
};

struct nlproto_sample {
	const struct nlproto_label *label;
	size_t nlabel;
	uint64_t value;
};

struct nlproto_metric {
	const char *name; /* "rcpt_tls_refused" */
	const char *type; /* "counter", "gauge" */
	const char *help; /* NULL = none */
	const struct nlproto_sample *sample;
	size_t nsample;
};

/* A METRICS message decoded: the families point into the message and into mem (one block). */
struct nlproto_metrics {
	struct nlproto_metric *metric;
	size_t nmetric;
	void *mem;
};

/* ---- framing (nlproto.c) ---- */

/*
 * A new message with NLPROTO_A_VERSION already in it; room for `payload` more bytes (0: the
 * default, enough for any object).  NULL when out of memory.
 */
struct nl_msg *nlproto_msg_new(uint16_t type, uint16_t flags, uint32_t seq, uint32_t port,
			       size_t payload);

/*
 * Check one received message and index its attributes (tb: NLPROTO_A_MAX + 1 slots): header
 * length, every attribute against the protocol's policy, NLPROTO_A_VERSION present and not
 * older than NLPROTO_MIN_VERSION.  0, or -EBADMSG / -EINVAL / -EPROTO with the reason in msg
 * (which attribute, at which offset; *bad_off gets that offset from the message start, or 0).
 */
int nlproto_parse(const struct nlmsghdr *nlh, struct nlattr **tb, char *msg, size_t msglen,
		  uint32_t *bad_off);

/* "policy add", "status", ... for logs and errors; "message 0x37" style for unknown types. */
const char *nlproto_msg_name(uint16_t type, char *buf, size_t len);
const char *nlproto_dir_name(enum nlproto_dir d);	    /* "outbound", "inbound" */
int nlproto_dir_parse(const char *s, enum nlproto_dir *out); /* exact words only */
const char *nlproto_event_name(enum nlproto_event_type t);  /* "session-start", ... */
const char *nlproto_offload_name(uint8_t o);		    /* "unsupported", "off", "on" */

/*
 * NLMSG_ERROR for request `req`: error 0 is an ack.  text (may be NULL) becomes
 * NLMSGERR_ATTR_MSG, bad_off (0 = none) NLMSGERR_ATTR_OFFS; the request header is echoed
 * without its payload (NLM_F_CAPPED), as the kernel does with extended acks.
 */
struct nl_msg *nlproto_error_new(const struct nlmsghdr *req, uint32_t port, int error,
				 const char *text, uint32_t bad_off);

/*
 * Read an NLMSG_ERROR, capped or not (a kernel-style full echo is skipped too): *error gets
 * 0 or -errno, *text the NLMSGERR_ATTR_MSG text or NULL (points into nlh).  -EBADMSG when
 * truncated.
 */
int nlproto_error_parse(const struct nlmsghdr *nlh, int *error, const char **text);

/* NLMSG_DONE ending a dump page; with more = true it carries the cursor to ask again with. */
struct nl_msg *nlproto_done_new(uint32_t seq, uint32_t port, bool more, uint64_t cursor);
int nlproto_done_parse(const struct nlmsghdr *nlh, int *error, bool *more, uint64_t *cursor);

/* File contents as NLPROTO_A_DATA chunks; and back, as one malloc'ed NUL-terminated copy. */
int nlproto_put_data(struct nl_msg *m, const char *data, size_t len);
int nlproto_get_data(const struct nlmsghdr *nlh, char **data, size_t *len);

/* Attribute accessors that tolerate absence. */
const char *nlproto_str(const struct nlattr *a);	     /* NULL if absent */
uint64_t nlproto_u64(const struct nlattr *a, uint64_t dflt); /* any unsigned width */

/* ---- objects (nlproto_obj.c): put = append to m; parse = from a whole message ---- */

int nlproto_put_rule(struct nl_msg *m, const struct nlproto_rule *r);
/* match[] (cap entries) receives the match= patterns; -E2BIG when there are more. */
int nlproto_parse_rule(const struct nlmsghdr *nlh, struct nlproto_rule *r, const char **match,
		       size_t cap, char *msg, size_t msglen);

int nlproto_put_session(struct nl_msg *m, const struct nlproto_session *s);
int nlproto_parse_session(const struct nlmsghdr *nlh, struct nlproto_session *s, char *msg,
			  size_t msglen);

int nlproto_put_status(struct nl_msg *m, const struct nlproto_status *st);
int nlproto_parse_status(const struct nlmsghdr *nlh, struct nlproto_status *st, char *msg,
			 size_t msglen);

int nlproto_put_sts(struct nl_msg *m, const struct nlproto_sts *s);
int nlproto_put_tlsrpt(struct nl_msg *m, const struct nlproto_tlsrpt *t);
int nlproto_parse_tlsrpt(const struct nlmsghdr *nlh, struct nlproto_tlsrpt *t, char *msg,
			 size_t msglen);
/* mx[] (cap entries) receives the patterns; -E2BIG when there are more. */
int nlproto_parse_sts(const struct nlmsghdr *nlh, struct nlproto_sts *s, const char **mx,
		      size_t cap, char *msg, size_t msglen);

/* ---- metrics (nlproto_metrics.c) ---- */

/* Append one family as an NLPROTO_A_METRIC: 0, -EINVAL (a bad name), -EMSGSIZE, -ENOMEM. */
int nlproto_put_metric(struct nl_msg *m, const struct nlproto_metric *mf);
/*
 * Every family of a METRICS message, names checked; free with nlproto_metrics_free (also after
 * a failure).  0, -EINVAL / -EBADMSG with the reason in msg, -ENOMEM.
 */
int nlproto_parse_metrics(const struct nlmsghdr *nlh, struct nlproto_metrics *out, char *msg,
			  size_t msglen);
void nlproto_metrics_free(struct nlproto_metrics *ms);
/* A Prometheus metric or label name: [a-zA-Z_][a-zA-Z0-9_]*. */
bool nlproto_metric_name_ok(const char *s);

int nlproto_put_event(struct nl_msg *m, const struct nlproto_event *ev);
/* sess receives the session fields when the event has any (ev->session then points to it). */
int nlproto_parse_event(const struct nlmsghdr *nlh, struct nlproto_event *ev,
			struct nlproto_session *sess, char *msg, size_t msglen);

#endif
