// SPDX-License-Identifier: GPL-2.0-only
/*
 * ethtool over generic netlink (the kernel's net/ethtool/, >= 5.6): the TLS offload feature
 * bits of one interface, read and set by name.  Bitsets are asked for verbose (no
 * ETHTOOL_FLAG_COMPACT_BITSETS): each bit comes with its name, so nothing here depends on the
 * kernel's feature numbering, which changes between versions.
 *
 * What the replies mean (net/ethtool/features.c):
 *   FEATURES_GET_REPLY  HW, WANTED, ACTIVE, NOCHANGE as lists: a bit is named only when set.
 *                       "[fixed]" in `ethtool -k` = not in HW, or in NOCHANGE.
 *   FEATURES_SET_REPLY  WANTED: value = what was asked, mask = the asked bits the device does
 *                       not have as asked; ACTIVE: the bits that changed, with their new value.
 *                       A bit outside the device's hw features is not an error: it is simply
 *                       not taken, and shows in WANTED.
 */
#include "hw/hw.h"
#include "lib/log.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

struct hw_ethtool {
	struct nl_sock *sk;
	int family;
};

static const char *const feat_names[HW_NFEAT] = {
	[HW_F_TLS_TX] = "tls-hw-tx-offload",
	[HW_F_TLS_RX] = "tls-hw-rx-offload",
	[HW_F_TLS_RECORD] = "tls-hw-record",
	[HW_F_CSUM_IPV4] = "tx-checksum-ipv4",
	[HW_F_CSUM_IPV6] = "tx-checksum-ipv6",
	[HW_F_CSUM_GENERIC] = "tx-checksum-ip-generic",
};

const char *hw_feat_name(enum hw_feat f)
{
	return (unsigned int)f < HW_NFEAT ? feat_names[f] : "?";
}

const char *hw_feat_state(const struct hw_feature *f)
{
	if (!f->known)
		return "unknown";
	if (f->changeable)
		return f->active ? "on" : "off";
	return f->active ? "on [fixed]" : "off [fixed]";
}

bool hw_tx_csum_active(const struct hw_features *ft)
{
	return ft->f[HW_F_CSUM_IPV4].active || ft->f[HW_F_CSUM_IPV6].active ||
	       ft->f[HW_F_CSUM_GENERIC].active;
}

static int feat_by_name(const char *name)
{
	for (int i = 0; i < HW_NFEAT; i++)
		if (!strcmp(name, feat_names[i]))
			return i;
	return -1;
}

/* ---- parsers ---- */

/* The genl attributes of an ethtool message of command cmd: 0 or -EBADMSG. */
static int genl_attrs(const struct nlmsghdr *nlh, uint8_t cmd, struct nlattr **tb, int max)
{
	const struct genlmsghdr *gh;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EBADMSG;
	gh = nlmsg_data(nlh);
	if (gh->cmd != cmd)
		return -EBADMSG;
	if (genlmsg_parse((struct nlmsghdr *)nlh, 0, tb, max, NULL) < 0)
		return -EBADMSG;
	return 0;
}

/*
 * Walk a verbose bitset: fn(feature, value) for each bit we know by name.  A list (NOMASK)
 * names its set bits only; a value/mask set names the masked bits, VALUE flagging the set ones.
 */
static int bitset_walk(const struct nlattr *set, void (*fn)(int feat, bool value, void *arg),
		       void *arg)
{
	struct nlattr *tb[ETHTOOL_A_BITSET_MAX + 1];
	struct nlattr *bit;
	bool list;
	int rem;

	if (nla_parse_nested(tb, ETHTOOL_A_BITSET_MAX, (struct nlattr *)set, NULL) < 0)
		return -EBADMSG;
	list = tb[ETHTOOL_A_BITSET_NOMASK] != NULL;
	if (!tb[ETHTOOL_A_BITSET_BITS])
		/* compact (we never ask for it) or an empty list */
		return tb[ETHTOOL_A_BITSET_VALUE] ? -EBADMSG : 0;
	nla_for_each_nested(bit, tb[ETHTOOL_A_BITSET_BITS], rem) {
		struct nlattr *bt[ETHTOOL_A_BITSET_BIT_MAX + 1];
		const char *name;
		int f;

		if (nla_type(bit) != ETHTOOL_A_BITSET_BITS_BIT)
			continue;
		if (nla_parse_nested(bt, ETHTOOL_A_BITSET_BIT_MAX, bit, NULL) < 0 ||
		    !bt[ETHTOOL_A_BITSET_BIT_NAME])
			return -EBADMSG;
		name = nla_get_string(bt[ETHTOOL_A_BITSET_BIT_NAME]);
		if (!memchr(name, '\0', (size_t)nla_len(bt[ETHTOOL_A_BITSET_BIT_NAME])))
			return -EBADMSG;
		f = feat_by_name(name);
		if (f >= 0)
			fn(f, list || bt[ETHTOOL_A_BITSET_BIT_VALUE], arg);
	}
	return 0;
}

struct walk_into {
	struct hw_features *ft;
	int which; /* ETHTOOL_A_FEATURES_* */
	bool *a, *b;
};

static void set_bit_state(int feat, bool value, void *arg)
{
	struct walk_into *w = arg;
	struct hw_feature *f = &w->ft->f[feat];

	switch (w->which) {
	case ETHTOOL_A_FEATURES_HW:
		f->changeable = value;
		break;
	case ETHTOOL_A_FEATURES_WANTED:
		f->wanted = value;
		break;
	case ETHTOOL_A_FEATURES_ACTIVE:
		f->active = value;
		break;
	case ETHTOOL_A_FEATURES_NOCHANGE:
		if (value)
			f->changeable = false;
		break;
	}
}

int hw_features_parse(const struct nlmsghdr *nlh, struct hw_features *ft)
{
	struct nlattr *tb[ETHTOOL_A_FEATURES_MAX + 1];
	static const int order[] = {ETHTOOL_A_FEATURES_HW, ETHTOOL_A_FEATURES_WANTED,
				    ETHTOOL_A_FEATURES_ACTIVE, ETHTOOL_A_FEATURES_NOCHANGE};
	const struct genlmsghdr *gh;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EBADMSG;
	gh = nlmsg_data(nlh);
	if (genl_attrs(nlh, gh->cmd == ETHTOOL_MSG_FEATURES_NTF ? ETHTOOL_MSG_FEATURES_NTF
								: ETHTOOL_MSG_FEATURES_GET_REPLY,
		       tb, ETHTOOL_A_FEATURES_MAX))
		return -EBADMSG;
	if (!tb[ETHTOOL_A_FEATURES_HW] || !tb[ETHTOOL_A_FEATURES_ACTIVE])
		return -EBADMSG;
	for (int i = 0; i < HW_NFEAT; i++)
		ft->f[i].changeable = ft->f[i].wanted = ft->f[i].active = false;
	/* NOCHANGE last: it only takes changeability away */
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct walk_into w = {.ft = ft, .which = order[i]};

		if (tb[order[i]] && bitset_walk(tb[order[i]], set_bit_state, &w))
			return -EBADMSG;
	}
	return 0;
}

static void mark_known(int feat, bool value, void *arg)
{
	(void)value;
	((struct hw_features *)arg)->f[feat].known = true;
}

int hw_strset_parse(const struct nlmsghdr *nlh, struct hw_features *ft)
{
	struct nlattr *tb[ETHTOOL_A_STRSET_MAX + 1];
	struct nlattr *set;
	int rem;

	if (genl_attrs(nlh, ETHTOOL_MSG_STRSET_GET_REPLY, tb, ETHTOOL_A_STRSET_MAX) ||
	    !tb[ETHTOOL_A_STRSET_STRINGSETS])
		return -EBADMSG;
	nla_for_each_nested(set, tb[ETHTOOL_A_STRSET_STRINGSETS], rem) {
		struct nlattr *st[ETHTOOL_A_STRINGSET_MAX + 1];
		struct nlattr *s;
		int srem;

		if (nla_parse_nested(st, ETHTOOL_A_STRINGSET_MAX, set, NULL) < 0 ||
		    !st[ETHTOOL_A_STRINGSET_ID])
			return -EBADMSG;
		if (nla_get_u32(st[ETHTOOL_A_STRINGSET_ID]) != ETH_SS_FEATURES ||
		    !st[ETHTOOL_A_STRINGSET_STRINGS])
			continue;
		nla_for_each_nested(s, st[ETHTOOL_A_STRINGSET_STRINGS], srem) {
			struct nlattr *v[ETHTOOL_A_STRING_MAX + 1];
			int f;

			if (nla_parse_nested(v, ETHTOOL_A_STRING_MAX, s, NULL) < 0 ||
			    !v[ETHTOOL_A_STRING_VALUE] ||
			    !memchr(nla_data(v[ETHTOOL_A_STRING_VALUE]), '\0',
				    (size_t)nla_len(v[ETHTOOL_A_STRING_VALUE])))
				return -EBADMSG;
			f = feat_by_name(nla_get_string(v[ETHTOOL_A_STRING_VALUE]));
			if (f >= 0)
				mark_known(f, true, ft);
		}
	}
	return 0;
}

static void mark_bool(int feat, bool value, void *arg)
{
	(void)value;
	((bool *)arg)[feat] = true;
}

int hw_features_set_parse(const struct nlmsghdr *nlh, bool refused[HW_NFEAT],
			  bool changed[HW_NFEAT])
{
	struct nlattr *tb[ETHTOOL_A_FEATURES_MAX + 1];

	memset(refused, 0, HW_NFEAT * sizeof(bool));
	memset(changed, 0, HW_NFEAT * sizeof(bool));
	if (genl_attrs(nlh, ETHTOOL_MSG_FEATURES_SET_REPLY, tb, ETHTOOL_A_FEATURES_MAX))
		return -EBADMSG;
	/* every bit named in either set is in its mask: WANTED's are refused, ACTIVE's changed */
	if (tb[ETHTOOL_A_FEATURES_WANTED] &&
	    bitset_walk(tb[ETHTOOL_A_FEATURES_WANTED], mark_bool, refused))
		return -EBADMSG;
	if (tb[ETHTOOL_A_FEATURES_ACTIVE] &&
	    bitset_walk(tb[ETHTOOL_A_FEATURES_ACTIVE], mark_bool, changed))
		return -EBADMSG;
	return 0;
}

void hw_refusal_reason(enum hw_feat f, const struct hw_features *ft, const char *driver,
		       char *buf, size_t len)
{
	const char *drv = driver && *driver ? driver : "?";

	if (!ft->f[f].known)
		snprintf(buf, len, "this kernel has no %s feature", hw_feat_name(f));
	else if (!ft->f[f].changeable)
		snprintf(buf, len, "%s is \"%s\" on this device: driver %s does not offer it",
			 hw_feat_name(f), hw_feat_state(&ft->f[f]), drv);
	else if (f == HW_F_TLS_TX && !hw_tx_csum_active(ft))
		snprintf(buf, len, "%s needs TX checksum offload, which is off (driver %s)",
			 hw_feat_name(f), drv);
	else
		snprintf(buf, len, "driver %s kept %s as it was (its ndo_fix_features; see the kernel log)",
			 drv, hw_feat_name(f));
}

/* ---- transport ---- */

int hw_ethtool_open(struct hw_ethtool **out)
{
	struct hw_ethtool *et = calloc(1, sizeof(*et));
	int one = 1, err;

	if (!et)
		return -ENOMEM;
	et->sk = nl_socket_alloc();
	if (!et->sk) {
		err = -ENOMEM;
		goto fail;
	}
	if (genl_connect(et->sk) < 0) {
		err = -EPROTONOSUPPORT;
		goto fail;
	}
	/* the kernel's reasons come as extended acks; nothing breaks without them */
	(void)setsockopt(nl_socket_get_fd(et->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	nl_socket_disable_auto_ack(et->sk);
	et->family = genl_ctrl_resolve(et->sk, ETHTOOL_GENL_NAME);
	if (et->family < 0) {
		err = -ENOENT;
		goto fail;
	}
	*out = et;
	return 0;
fail:
	hw_ethtool_close(et);
	return err;
}

void hw_ethtool_close(struct hw_ethtool *et)
{
	if (!et)
		return;
	if (et->sk)
		nl_socket_free(et->sk);
	free(et);
}

/* The NLMSGERR_ATTR_MSG text of an NLMSG_ERROR, or NULL. */
static const char *ext_ack_text(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = nlmsg_data(nlh);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	if (off >= nlh->nlmsg_len)
		return NULL;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off),
		      (int)(nlh->nlmsg_len - off), NULL) < 0 ||
	    !tb[NLMSGERR_ATTR_MSG])
		return NULL;
	return memchr(nla_data(tb[NLMSGERR_ATTR_MSG]), '\0', (size_t)nla_len(tb[NLMSGERR_ATTR_MSG]))
		       ? nla_get_string(tb[NLMSGERR_ATTR_MSG])
		       : NULL;
}

/*
 * Send msg (NLM_F_ACK) and read until its ack: fn for each reply of command reply_cmd.
 * 0, or the kernel's -errno with the extended ack in err.
 */
static int transact(struct hw_ethtool *et, struct nl_msg *msg, uint8_t reply_cmd,
		    int (*fn)(const struct nlmsghdr *nlh, void *arg), void *arg, char *err,
		    size_t errlen)
{
	uint32_t seq;
	int rc, n;

	rc = nl_send_auto(et->sk, msg);
	if (rc < 0) {
		snprintf(err, errlen, "ethtool netlink send: %s", nl_geterror(rc));
		return -EIO;
	}
	seq = nlmsg_hdr(msg)->nlmsg_seq;
	for (;;) {
		struct sockaddr_nl peer;
		unsigned char *buf = NULL;
		struct nlmsghdr *nlh;

		n = nl_recv(et->sk, &peer, &buf, NULL);
		if (n <= 0) {
			free(buf);
			snprintf(err, errlen, "ethtool netlink receive: %s", nl_geterror(n));
			return -EIO;
		}
		for (nlh = (struct nlmsghdr *)buf; nlmsg_ok(nlh, n); nlh = nlmsg_next(nlh, &n)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = nlmsg_data(nlh);
				const char *t;

				if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e)) {
					rc = -EBADMSG;
				} else {
					rc = e->error;
					t = rc ? ext_ack_text(nlh) : NULL;
					if (rc)
						snprintf(err, errlen, "%s%s%s", strerror(-rc),
							 t ? ": " : "", t ? t : "");
				}
				free(buf);
				return rc;
			}
			if (nlh->nlmsg_type == (uint16_t)et->family &&
			    nlh->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN &&
			    ((struct genlmsghdr *)nlmsg_data(nlh))->cmd == reply_cmd && fn) {
				rc = fn(nlh, arg);
				if (rc) {
					snprintf(err, errlen, "malformed ethtool reply");
					free(buf);
					return rc;
				}
			}
		}
		free(buf);
	}
}

/* A request with the header nest (attribute hdr_type) naming ifname, verbose bitsets. */
static struct nl_msg *request(struct hw_ethtool *et, uint8_t cmd, int hdr_type,
			      const char *ifname)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *hdr;

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, et->family, 0, NLM_F_REQUEST | NLM_F_ACK,
			 cmd, ETHTOOL_GENL_VERSION))
		goto fail;
	hdr = nla_nest_start(msg, hdr_type);
	if (!hdr || (ifname && nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, ifname) < 0) ||
	    nla_put_u32(msg, ETHTOOL_A_HEADER_FLAGS, 0) < 0)
		goto fail;
	nla_nest_end(msg, hdr);
	return msg;
fail:
	nlmsg_free(msg);
	return NULL;
}

static int on_features(const struct nlmsghdr *nlh, void *arg)
{
	return hw_features_parse(nlh, arg);
}

static int on_strset(const struct nlmsghdr *nlh, void *arg)
{
	return hw_strset_parse(nlh, arg);
}

int hw_features_get(struct hw_ethtool *et, const char *ifname, struct hw_features *ft, char *err,
		    size_t errlen)
{
	struct nlattr *sets, *set;
	struct nl_msg *msg;
	int rc;

	memset(ft, 0, sizeof(*ft));
	/* which of our names this kernel has: the feature string set of the device */
	msg = request(et, ETHTOOL_MSG_STRSET_GET, ETHTOOL_A_STRSET_HEADER, ifname);
	if (!msg)
		return -ENOMEM;
	sets = nla_nest_start(msg, ETHTOOL_A_STRSET_STRINGSETS);
	set = sets ? nla_nest_start(msg, ETHTOOL_A_STRINGSETS_STRINGSET) : NULL;
	if (!set || nla_put_u32(msg, ETHTOOL_A_STRINGSET_ID, ETH_SS_FEATURES) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nla_nest_end(msg, set);
	nla_nest_end(msg, sets);
	rc = transact(et, msg, ETHTOOL_MSG_STRSET_GET_REPLY, on_strset, ft, err, errlen);
	nlmsg_free(msg);
	if (rc)
		return rc;
	msg = request(et, ETHTOOL_MSG_FEATURES_GET, ETHTOOL_A_FEATURES_HEADER, ifname);
	if (!msg)
		return -ENOMEM;
	rc = transact(et, msg, ETHTOOL_MSG_FEATURES_GET_REPLY, on_features, ft, err, errlen);
	nlmsg_free(msg);
	return rc;
}

struct set_result {
	bool got;
	bool refused[HW_NFEAT], changed[HW_NFEAT];
};

static int on_set(const struct nlmsghdr *nlh, void *arg)
{
	struct set_result *r = arg;

	r->got = true;
	return hw_features_set_parse(nlh, r->refused, r->changed);
}

static int put_bit(struct nl_msg *msg, enum hw_feat f, bool on)
{
	struct nlattr *bit = nla_nest_start(msg, ETHTOOL_A_BITSET_BITS_BIT);

	if (!bit || nla_put_string(msg, ETHTOOL_A_BITSET_BIT_NAME, hw_feat_name(f)) < 0 ||
	    (on && nla_put_flag(msg, ETHTOOL_A_BITSET_BIT_VALUE) < 0))
		return -ENOMEM;
	nla_nest_end(msg, bit);
	return 0;
}

int hw_features_set_tls(struct hw_ethtool *et, const char *ifname, const char *driver, bool on,
			struct hw_features *ft, char *why, size_t whylen)
{
	static const enum hw_feat bits[] = {HW_F_TLS_TX, HW_F_TLS_RX};
	struct set_result r = {0};
	struct nlattr *wanted, *list;
	struct hw_features before;
	struct nl_msg *msg;
	size_t used = 0;
	int rc;

	why[0] = '\0';
	rc = hw_features_get(et, ifname, &before, why, whylen);
	if (rc)
		return rc;
	msg = request(et, ETHTOOL_MSG_FEATURES_SET, ETHTOOL_A_FEATURES_HEADER, ifname);
	if (!msg)
		return -ENOMEM;
	wanted = nla_nest_start(msg, ETHTOOL_A_FEATURES_WANTED);
	list = wanted ? nla_nest_start(msg, ETHTOOL_A_BITSET_BITS) : NULL;
	if (!list || put_bit(msg, bits[0], on) || put_bit(msg, bits[1], on)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nla_nest_end(msg, list);
	nla_nest_end(msg, wanted);
	rc = transact(et, msg, ETHTOOL_MSG_FEATURES_SET_REPLY, on_set, &r, why, whylen);
	nlmsg_free(msg);
	if (rc)
		return rc;
	rc = hw_features_get(et, ifname, ft, why, whylen);
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		enum hw_feat f = bits[i];
		/* the reply says so; where a kernel sent none, the re-read state does */
		bool kept = r.got ? r.refused[f] : ft->f[f].active != on;
		char reason[160];
		int n;

		if (!kept)
			continue;
		hw_refusal_reason(f, &before, driver, reason, sizeof(reason));
		n = snprintf(why + used, whylen - used, "%s%s %s refused: %s", used ? "; " : "",
			     hw_feat_name(f), on ? "on" : "off", reason);
		if (n > 0 && (size_t)n < whylen - used)
			used += (size_t)n;
		rc = -EOPNOTSUPP;
	}
	return rc;
}
