/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hw/: TLS offload to the NIC, as the kernel sees it.  What the outside interfaces can do and do
 * (ethtool's feature bits, the driver's TLS counters), what one kTLS socket really runs on (the
 * tls ULP's own report through sock_diag: sw, hw or hw-record per direction), and the kernel's
 * device-offload gauges.  Nothing here decides; the daemon does (daemon/nic.c,
 * daemon/session_nic.c).  Uses lib/ only.
 *
 *   ethtool.c  ethtool generic netlink: the family, FEATURES_GET / FEATURES_SET (bitsets by
 *              name), STRSET_GET for the kernel's feature names; their message parsers
 *   nicinfo.c  driver name and the driver's private `ethtool -S` counters (ETHTOOL_GDRVINFO,
 *              ETHTOOL_GSTRINGS, ETHTOOL_GSTATS: private statistics exist only as the ioctl;
 *              ETHTOOL_MSG_STATS_GET carries the standard groups, none of them TLS)
 *   diag.c     NETLINK_SOCK_DIAG: one TCP socket's (exact tuple + cookie) INET_DIAG_ULP_INFO (TLS_INFO_TXCONF/RXCONF,
 *              TLS_INFO_ZC_RO_TX, TLS_INFO_RX_NO_PAD); its parser
 *   route.c    the egress interface of a connected socket: RTM_GETROUTE for its destination
 *              from its source, with its mark and bound device (`ip route get`)
 *   tlsstat.c  /proc/net/tls_stat (TlsCurrTxDevice, TlsCurrRxDevice, TlsRxDeviceResync, ...)
 *
 * Parsers take whole netlink messages so that the unit tests can feed them messages built from
 * the kernel's uapi for hardware no machine here has (tests/unit/test_hw.c).
 */
#ifndef TLSGATE_HW_HW_H
#define TLSGATE_HW_HW_H

#include <linux/netlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- ethtool features (ethtool.c) ---- */

/* The features that matter for TLS offload, by their kernel names (netdev_features_strings). */
enum hw_feat {
	HW_F_TLS_TX,	  /* tls-hw-tx-offload */
	HW_F_TLS_RX,	  /* tls-hw-rx-offload */
	HW_F_TLS_RECORD,  /* tls-hw-record (the NIC terminates records: not enabled by us) */
	HW_F_CSUM_IPV4,	  /* tx-checksum-ipv4 */
	HW_F_CSUM_IPV6,	  /* tx-checksum-ipv6 */
	HW_F_CSUM_GENERIC, /* tx-checksum-ip-generic */
	HW_NFEAT,
};

struct hw_feature {
	bool known;	 /* the kernel has the bit (its name is in ETH_SS_FEATURES) */
	bool changeable; /* in the device's hw features and not NETIF_F_NEVER_CHANGE */
	bool wanted, active;
};

struct hw_features {
	struct hw_feature f[HW_NFEAT];
};

const char *hw_feat_name(enum hw_feat f);
/* "on", "off", "off [fixed]", "on [fixed]", "unknown" as `ethtool -k` prints it. */
const char *hw_feat_state(const struct hw_feature *f);
/* TX checksum offload on (any of ipv4, ipv6, ip-generic): TLS TX offload needs it. */
bool hw_tx_csum_active(const struct hw_features *ft);

struct hw_ethtool; /* a generic netlink socket bound to the "ethtool" family */

/* -ENOENT: the kernel has no ethtool netlink (< 5.6); -errno otherwise. */
int hw_ethtool_open(struct hw_ethtool **out);
void hw_ethtool_close(struct hw_ethtool *et);

/* Feature bits of ifname (and which names the kernel knows).  0 or -errno, err says why. */
int hw_features_get(struct hw_ethtool *et, const char *ifname, struct hw_features *ft, char *err,
		    size_t errlen);

/*
 * Ask for the TLS TX and RX offload bits on or off (never tls-hw-record) and read the kernel's
 * reply: *ft is re-read afterwards.  0 when every bit asked for is now as asked; -EOPNOTSUPP when
 * the device kept one (why: which, and the reason as far as the kernel tells it: not a
 * changeable feature of this driver, the checksum offload it needs is off, or the driver's
 * ndo_fix_features said no); -errno when the request failed (why: the extended ack).
 */
int hw_features_set_tls(struct hw_ethtool *et, const char *ifname, const char *driver, bool on,
			struct hw_features *ft, char *why, size_t whylen);

/*
 * Parsers.  A FEATURES_GET_REPLY (or _NTF) into ft's changeable/wanted/active (known is left
 * alone); a STRSET_GET_REPLY marking known the features it names; a FEATURES_SET_REPLY into
 * the bits the device did not take (refused[]: asked for, not so) and the ones it changed.
 * 0 or -EBADMSG.
 */
int hw_features_parse(const struct nlmsghdr *nlh, struct hw_features *ft);
int hw_strset_parse(const struct nlmsghdr *nlh, struct hw_features *ft);
int hw_features_set_parse(const struct nlmsghdr *nlh, bool refused[HW_NFEAT],
			  bool changed[HW_NFEAT]);
/* The reason a refused bit gives, from what the features say: "" when none is visible. */
void hw_refusal_reason(enum hw_feat f, const struct hw_features *ft, const char *driver,
		       char *buf, size_t len);

/* ---- the driver (nicinfo.c) ---- */

#define HW_NIC_STATS 16
#define HW_STAT_NAME 32 /* ETH_GSTRING_LEN */

struct hw_nic_stat {
	char name[HW_STAT_NAME];
	uint64_t value;
};

/* Driver name (ETHTOOL_GDRVINFO): 0 or -errno. */
int hw_driver_name(const char *ifname, char *buf, size_t len);
/*
 * The driver's private counters whose names say TLS (tx_tls_encrypted_packets, rx_tls_ctx,
 * tx_tls_ooo, ...), up to HW_NIC_STATS: 0 and *n (0 for a driver without), or -errno.
 */
int hw_tls_counters(const char *ifname, struct hw_nic_stat *st, size_t *n);
/* From ETH_SS_STATS names (ETH_GSTRING_LEN each) and their values: the TLS ones. */
size_t hw_tls_counters_pick(const char *names, const uint64_t *values, size_t count,
			    struct hw_nic_stat *st, size_t cap);

/* ---- one socket's kTLS (diag.c) ---- */

/* TLS_CONF_* of linux/tls.h, in our words. */
enum hw_tls_conf {
	HW_CONF_NONE,	   /* direction not configured */
	HW_CONF_BASE,	   /* ULP attached, no keys */
	HW_CONF_SW,	   /* kernel software crypto */
	HW_CONF_HW,	   /* the NIC does the crypto (device offload) */
	HW_CONF_HW_RECORD, /* the NIC terminates records (TLS_HW_RECORD) */
	HW_CONF_UNKNOWN,   /* a value this build does not know */
};

struct hw_tls_diag {
	bool found;	/* the kernel found the socket */
	uint32_t uid;	/* its owner (idiag_uid), when found */
	bool ulp_info;	/* INET_DIAG_ULP_INFO came (it needs CAP_NET_ADMIN) */
	bool tls;	/* the ULP is "tls" */
	uint16_t version, cipher; /* TLS_1_2_VERSION..., TLS_CIPHER_* */
	enum hw_tls_conf tx, rx;
	bool zc_ro_tx;	/* TLS_INFO_ZC_RO_TX: zero-copy sendfile, device TX only */
	bool rx_no_pad; /* TLS_INFO_RX_NO_PAD */
};

const char *hw_tls_conf_name(enum hw_tls_conf c); /* "none", "base", "sw", "hw", "hw-record" */
static inline bool hw_tls_conf_device(enum hw_tls_conf c)
{
	return c == HW_CONF_HW || c == HW_CONF_HW_RECORD;
}

/*
 * Which socket: what sock_diag needs to find exactly one (family, both addresses and ports in
 * network order, the socket cookie).  A fixed layout: the diag helper's request carries it.
 */
struct hw_diag_id {
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t pad[3];
	uint16_t sport, dport; /* network order */
	uint8_t src[16], dst[16]; /* IPv4: the first 4 bytes */
	uint64_t cookie;	  /* SO_COOKIE */
};

/* A NETLINK_SOCK_DIAG socket (close(2) it): fd or -errno. */
int hw_diag_open(void);
/* The id of connected TCP socket fd (getsockname, getpeername, SO_COOKIE): 0 or -errno. */
int hw_diag_id_of(int fd, struct hw_diag_id *id);
/*
 * The kernel's view of the one socket id names (tuple and cookie must both match: a socket
 * that reused the tuple is not it), asked on nlfd: 0, -ENOENT (-ESTALE on older kernels for a
 * cookie that does not match), or -errno.
 */
int hw_diag_query(int nlfd, const struct hw_diag_id *id, struct hw_tls_diag *out);
/* hw_diag_id_of and hw_diag_query. */
int hw_diag_socket(int nlfd, int fd, struct hw_tls_diag *out);
/* One SOCK_DIAG_BY_FAMILY answer (an inet_diag_msg and its attributes): 0 or -EBADMSG. */
int hw_diag_parse(const struct nlmsghdr *nlh, struct hw_tls_diag *out);
/* "tx=sw rx=sw", "tx=hw rx=sw zc_ro_tx", "no ulp info (needs CAP_NET_ADMIN)" */
const char *hw_diag_format(const struct hw_tls_diag *d, char *buf, size_t len);

/* ---- the egress interface (route.c) ---- */

/* The ifindex the kernel routes connected socket fd's packets out of: 0 or -errno. */
int hw_route_egress(int fd, int *ifindex);
/* RTA_OIF of one RTM_NEWROUTE answer: 0, -ENOENT (none) or -EBADMSG. */
int hw_route_parse(const struct nlmsghdr *nlh, int *ifindex);

/* ---- /proc/net/tls_stat (tlsstat.c) ---- */

struct hw_tls_stat {
	bool present; /* the file exists (tls.ko loaded) */
	uint64_t curr_tx_sw, curr_rx_sw, curr_tx_device, curr_rx_device;
	uint64_t tx_device, rx_device, rx_device_resync, decrypt_error;
};

/* The calling thread's network namespace's: 0 (present false without tls.ko) or -errno. */
int hw_tls_stat_read(struct hw_tls_stat *st);
void hw_tls_stat_parse(const char *text, struct hw_tls_stat *st);

#endif
