/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by the files of policy/ (not for other modules): the snapshot layout, the
 * Postfix table reader, the key parser, the indexes.
 *
 *   level.c      the vocabulary (levels, protocols, ciphers)   key.c    table keys
 *   table.c      the Postfix table reader (lines, continuations, comments)
 *   parse_outbound.c, parse_inbound.c  one line into a rule   rule.c   rules, precedence
 *   load.c       files into a snapshot; ids.c stable rule ids; strtab.c, lpm.c the indexes
 *   match.c      the questions the relay asks                store.c  in-place edits
 *   resolve.c, dns.c, addrmap.c  MX -> addresses, and the kernel's LPM entries
 *   dane.c, dane_rr.c, dane_ub.c  DANE lookups over libunbound (their own header: policy/dane.h)
 *   sts.c, sts_http.c, sts_cache.c  MTA-STS (their own header: policy/sts.h)
 *   destaddr.c   the kernel entries the destinations' DANE/MTA-STS add (policy/destaddr.h)
 * policy/ depends on lib/ and, for the kernel's layout only, bpf/policy_entry.h.
 */
#ifndef TLSGATE_POLICY_POLICY_INT_H
#define TLSGATE_POLICY_POLICY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>

#include "policy/policy.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Longest logical line accepted; bounds memory on hostile input (Postfix has no limit). */
#define POLICY_MAX_LINE (1u << 20)

void policy_errorf(struct policy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Replace bytes outside printable ASCII in err->msg with '?'. */
void policy_error_sanitize(struct policy_error *err);

/* ---- level.c: the vocabulary ------------------------------------------------------------- */

extern const char policy_levels_expected[];	/* "none, may, encrypt, fingerprint, ..." */
/* "SSLv2", ..., "TLSv1.3" -> 0x0002 ... 0x0304; -EINVAL when unknown. */
int policy_tls_version_parse(const char *s, size_t len);
const char *policy_tls_version_name(int version);
/* Cipher grade names as Postfix: export, low, medium, high, null; NULL when unknown. */
const char *policy_cipher_grade(const char *s, size_t len);
/* policy_protocols_parse, but a set with a gap ("!TLSv1.1") is narrowed to its newest
 * contiguous run instead of refused, and note (when not NULL) says so; "" otherwise. */
int policy_protocols_range(const char *s, int *min_version, int *max_version, size_t *bad,
			   char *why, size_t whylen, char *note, size_t notelen);

/* Append a diagnostic: kept up to POLICY_DIAG_MAX (and while memory lasts), counted always. */
void policy_diag_push(struct policy_diags *d, bool error, const char *msg);

/* ---- table.c: Postfix table source reader ---------------------------------------------------
 * Logical lines as postmap reads them: blank lines and lines whose first non-blank is '#' are
 * skipped; a line starting with whitespace continues the previous logical line (and skipped
 * lines in between do not end it).  Positions of every byte are kept for error messages.
 */
struct policy_tbl_seg {
	size_t off;		/* offset in the logical line where this physical line starts */
	unsigned int line;	/* its line number (1-based); its first byte is column 1 */
};

struct policy_tbl_reader {
	const char *name;
	const char *text;
	size_t len, pos;
	unsigned int line;	/* number of the next physical line */
	char *buf;		/* the current logical line, NUL-terminated */
	size_t blen, bcap;
	struct policy_tbl_seg *segs;
	size_t nseg, segcap;
	/* Table mode (policy_parse_table): what Postfix skips or defers is a warning here, not
	 * an error.  NULL: one rule from the CLI, where every problem is an error. */
	struct policy_diags *diags;
};

void policy_tbl_init(struct policy_tbl_reader *r, const char *name, const char *text, size_t len);
void policy_tbl_free(struct policy_tbl_reader *r);
/* 1: a logical line is in r->buf; 0: end of input; -EINVAL (err filled) or -ENOMEM. */
int policy_tbl_next(struct policy_tbl_reader *r, struct policy_error *err);
/* First physical line of the current logical line. */
unsigned int policy_tbl_first_line(const struct policy_tbl_reader *r);
/* "name:line:col: " + message, for the byte at offset off of the current logical line. */
void policy_tbl_error(struct policy_error *err, const struct policy_tbl_reader *r, size_t off, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));
/* The same as a warning into r->diags (nothing without diags). */
void policy_tbl_warn(const struct policy_tbl_reader *r, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A token of the logical line: [start, start + len).  Brace groups "{ name = value }" come
 * back with brace = true and start/len covering the inside. */
struct policy_tbl_tok {
	size_t start, len;
	bool brace;
};
/* Next token separated by seps (", \t\r\n" for Postfix policies); 1, 0 at end, -EINVAL. */
int policy_tbl_token(const struct policy_tbl_reader *r, size_t *pos, const char *seps, struct policy_tbl_tok *t,
	      struct policy_error *err);

/* ---- key.c: table keys ------------------------------------------------------------------ */

/* Parse and normalise s[0..len) as a key of table dir into r (key, key_type, host, port,
 * family/addr/prefix_len).  On error returns -EINVAL with *bad = offset in s and why filled. */
int policy_key_parse(enum policy_dir dir, const char *s, size_t len, struct policy_rule *r,
		     size_t *bad, char *why, size_t whylen);
/* Validate a domain name s[0..len) (no leading dot); lowercased copy into out (>= 254 bytes).
 * -EINVAL with *bad and why. */
int policy_domain_norm(const char *s, size_t len, char *out, size_t *bad, char *why,
		       size_t whylen);
/* Lowercase, strip one trailing dot; false when it does not fit or is empty. */
bool policy_name_fold(const char *in, char *out, size_t outlen);

/* ---- strtab.c: string -> rule index (open addressing) ----------------------------------- */

struct policy_strtab_ent {
	uint32_t slot;		/* rule index + 1; 0 = empty */
	uint32_t hash;
	const char *key;	/* the rule's key: a probe touches one cache line, not the rule */
};

struct strtab {
	struct policy_strtab_ent *e;
	size_t mask;
};

uint64_t policy_hash64(const void *data, size_t len, uint64_t seed);
int policy_strtab_init(struct strtab *t, size_t n);
void policy_strtab_free(struct strtab *t);
/* Insert key of rules[idx]; returns the existing index when the key is already there. */
long policy_strtab_insert(struct strtab *t, const struct policy_rule *rules, uint32_t idx);
/* Index of the rule whose key equals s[0..len), or -1. */
long policy_strtab_find(const struct strtab *t, const char *s, size_t len);

/* ---- lpm.c: longest-prefix match over disjoint intervals --------------------------------- */

typedef unsigned __int128 u128;

struct policy_lpm_fam {
	u128 *start;		/* sorted; start[0] == 0: the intervals cover the whole space */
	int32_t *idx;		/* rule index for [start[i], start[i + 1]), -1 = none */
	size_t n;
};

struct lpm {
	struct policy_lpm_fam v4, v6;
};

u128 policy_lpm_addr(int family, const uint8_t addr[16]);
int policy_lpm_build(struct lpm *l, const struct policy_rule *rules, size_t n);
void policy_lpm_free(struct lpm *l);
int32_t policy_lpm_lookup(const struct lpm *l, int family, const uint8_t addr[16]);

/* ---- ids.c ------------------------------------------------------------------------------- */

uint32_t policy_id_hash(enum policy_dir dir, const char *key);
/* Assign ids to every rule of both arrays; fills the sorted id index. */
struct id_ent {
	uint32_t id;
	const struct policy_rule *rule;
};
void policy_ids_place(struct id_ent *e, size_t n);
int policy_ids_assign(struct policy_rule *out, size_t nout, struct policy_rule *in, size_t nin,
		      struct id_ent **index);

/* ---- the snapshot (load.c) --------------------------------------------------------------- */

struct addrmap;

/* The resolved address map attached to a snapshot: replaced by refreshes, read by matchers. */
struct res_slot {
	pthread_mutex_t lock;
	struct addrmap *map;	/* refcounted; NULL before the first refresh */
};

struct policy_table {
	struct policy_rule *rules;
	size_t n;
	struct strtab keys;	/* every rule by normalised key */
	struct lpm lpm;		/* POLICY_KEY_ADDR rules */
	struct policy_rule deflt;
	char *path;		/* NULL: no table file */
	uint64_t content_hash;	/* of the file as loaded, to detect edits behind our back */
};

struct policy {
	atomic_uint refs;
	struct policy_table t[2];	/* [POLICY_OUTBOUND], [POLICY_INBOUND] */
	struct id_ent *ids;	/* sorted by id */
	size_t nids;
	struct res_slot *res;
	char **warnings;	/* of the parse this snapshot was built from */
	size_t nwarnings;
};

/* Build a snapshot from parsed rules (takes ownership of both arrays, also on error). */
int policy_build(struct policy_rule *out, size_t nout, struct policy_rule *in, size_t nin,
		 struct policy **pp, struct policy_error *err);
/* Read a whole file (NUL-terminated copy); 0 or -errno with err filled. */
int policy_read_file(const char *path, char **text, size_t *len, struct policy_error *err);
/* Parse a file into a rule array, recording its path and content hash; warnings into d (may be
 * NULL), the first error into err. */
int policy_load_table(enum policy_dir dir, const char *path, struct policy_rule **rules,
		      size_t *n, uint64_t *hash, struct policy_diags *d, struct policy_error *err);
/* Keep the warnings of d in p (policy_warning_at). */
int policy_keep_warnings(struct policy *p, const struct policy_diags *d);
int policy_rule_copy(struct policy_rule *dst, const struct policy_rule *src);

/* ---- resolve.c / addrmap ----------------------------------------------------------------- */

struct policy_addrmap_ent {
	u128 addr;
	int family;
	uint32_t rule;		/* outbound rule index */
	const char *mx;		/* MX host name (owned by the map) */
};

struct addrmap {
	atomic_uint refs;
	struct policy_addrmap_ent *e;	/* sorted by (family, addr) */
	size_t n;
	char *pool;		/* the names */
};

struct addrmap *policy_addrmap_get_current(const struct policy *p);
void policy_addrmap_put(struct addrmap *m);
/* Replace p's map with m (taking the caller's reference). */
void policy_addrmap_attach(struct policy *p, struct addrmap *m);
/* First entry for (family, addr) and how many there are. */
size_t policy_addrmap_find(const struct addrmap *m, int family, u128 a, size_t *count);

/* ---- match.c ----------------------------------------------------------------------------- */

/* True when a should win over b by the documented precedence. */
bool policy_rule_beats(const struct policy_rule *a, const struct policy_rule *b);
/* Extract family and 16-byte address (IPv4-mapped IPv6 becomes IPv4); false if not IP. */
bool policy_sockaddr(const struct sockaddr *sa, int *family, uint8_t addr[16], uint16_t *port);

/* ---- dns.c ------------------------------------------------------------------------------- */

enum policy_dns_status {
	DNS_OK = 0,		/* NOERROR with records of the type */
	DNS_NODATA,		/* NOERROR, no records of the type */
	DNS_NXDOMAIN,
	DNS_TEMPFAIL,		/* SERVFAIL, timeout, no server answered */
	DNS_FAIL,		/* REFUSED, FORMERR, malformed answer, ... */
};

struct policy_dns_rr {
	uint16_t type;
	uint32_t ttl;
	uint16_t pref;		/* MX */
	char name[256];		/* MX exchange, lower case, no trailing dot ("" = null MX) */
	uint8_t addr[16];	/* A (4 bytes) / AAAA */
	const unsigned char *rdata;	/* the raw RDATA (TXT: character-strings), in the message */
	uint16_t rdlen;
};

typedef int (*policy_dns_rr_fn)(const struct policy_dns_rr *rr, void *arg);

/* Walk the answer section of a response for records of qtype; returns the policy_dns_status from the
 * header and calls fn per record (fn returning non-zero stops with that value). */
int policy_dns_parse_answer(const unsigned char *msg, size_t len, uint16_t qtype, policy_dns_rr_fn fn,
		     void *arg);
/* A TXT record's character-strings joined into out (NUL-terminated; RDATA is < 64 KiB, so cap
 * 65536 always fits): 0, or -EINVAL when a string runs past the RDATA (the record is malformed)
 * or out is too small. */
int policy_dns_txt_join(const struct policy_dns_rr *rr, char *out, size_t cap, size_t *len);

struct policy_dns_ctx;
/* "a.b.c.d" or "a.b.c.d:port": 0, -EINVAL, or -EAFNOSUPPORT for IPv6. */
int policy_dns_nameserver_check(const char *s);
int policy_dns_ctx_new(const struct policy_resolver_opts *o, struct policy_dns_ctx **out);
void policy_dns_ctx_free(struct policy_dns_ctx *c);
/* Query name/type and walk the answer (fn as for policy_dns_parse_answer, returning 0 or -errno);
 * returns a policy_dns_status, why says what failed. */
int policy_dns_lookup(struct policy_dns_ctx *c, const char *name, uint16_t type, policy_dns_rr_fn fn, void *arg,
	       char *why, size_t whylen);

#endif
