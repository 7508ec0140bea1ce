// SPDX-License-Identifier: GPL-2.0-only
/*
 * The driver behind an interface and its private TLS counters (`ethtool -i`, `ethtool -S`).
 * Private statistics have no netlink form (ETHTOOL_MSG_STATS_GET carries the standard IEEE and
 * RMON groups only), so this is the SIOCETHTOOL ioctl, which needs no privilege for these
 * three commands.  Driver names for the counters: mlx5 tx_tls_encrypted_packets,
 * tx_tls_encrypted_bytes, tx_tls_ctx, tx_tls_ooo, tx_tls_dump_packets, tx_tls_resync_bytes,
 * tx_tls_skip_no_sync_data, tx_tls_drop_no_sync_data, tx_tls_drop_bypass_req, rx_tls_decrypted_*,
 * rx_tls_ctx, rx_tls_del, rx_tls_resync_*; nfp and Chelsio name theirs alike.
 */
#include "hw/hw.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int ethtool_ioctl(const char *ifname, void *data)
{
	struct ifreq ifr;
	int fd, err = 0;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENAMETOOLONG;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_data = data;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	return err;
}

int hw_driver_name(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo di;
	int err;

	memset(&di, 0, sizeof(di));
	di.cmd = ETHTOOL_GDRVINFO;
	err = ethtool_ioctl(ifname, &di);
	if (err)
		return err;
	snprintf(buf, len, "%.*s", (int)sizeof(di.driver), di.driver);
	return 0;
}

/* Counters whose name has "tls" as a word: tx_tls_ctx, rx_tls_decrypted_packets, tls_drop. */
static bool is_tls_counter(const char *name)
{
	for (const char *p = name; (p = strstr(p, "tls")); p += 3) {
		bool start = p == name || p[-1] == '_' || p[-1] == ' ';
		bool end = p[3] == '\0' || p[3] == '_' || p[3] == ' ';

		if (start && end)
			return true;
	}
	return false;
}

size_t hw_tls_counters_pick(const char *names, const uint64_t *values, size_t count,
			    struct hw_nic_stat *st, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < count && n < cap; i++) {
		char name[ETH_GSTRING_LEN + 1];

		memcpy(name, names + i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (!is_tls_counter(name))
			continue;
		snprintf(st[n].name, sizeof(st[n].name), "%.31s", name);
		st[n].value = values[i];
		n++;
	}
	return n;
}

int hw_tls_counters(const char *ifname, struct hw_nic_stat *st, size_t *n)
{
	/* struct ethtool_sset_info ends in a flexible array: room for the one length asked */
	union {
		struct ethtool_sset_info hdr;
		unsigned char raw[sizeof(struct ethtool_sset_info) + sizeof(uint32_t)];
	} ss;
	struct ethtool_gstrings *gs = NULL;
	struct ethtool_stats *gv = NULL;
	uint32_t count;
	int err;

	*n = 0;
	memset(&ss, 0, sizeof(ss));
	ss.hdr.cmd = ETHTOOL_GSSET_INFO;
	ss.hdr.sset_mask = 1ULL << ETH_SS_STATS;
	err = ethtool_ioctl(ifname, &ss);
	if (err == -EOPNOTSUPP)
		return 0; /* no private counters at all (lo) */
	if (err)
		return err;
	count = ss.hdr.sset_mask ? ss.hdr.data[0] : 0;
	if (!count)
		return 0;
	if (count > 65536)
		return -E2BIG;
	gs = calloc(1, sizeof(*gs) + (size_t)count * ETH_GSTRING_LEN);
	gv = calloc(1, sizeof(*gv) + (size_t)count * sizeof(uint64_t));
	if (!gs || !gv) {
		err = -ENOMEM;
		goto out;
	}
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_STATS;
	gs->len = count;
	err = ethtool_ioctl(ifname, gs);
	if (err)
		goto out;
	gv->cmd = ETHTOOL_GSTATS;
	gv->n_stats = count;
	err = ethtool_ioctl(ifname, gv);
	if (err)
		goto out;
	/* the driver may have fewer now than it said a moment ago */
	count = gs->len < gv->n_stats ? gs->len : gv->n_stats;
	*n = hw_tls_counters_pick((const char *)gs->data, (const uint64_t *)gv->data, count, st, HW_NIC_STATS);
out:
	free(gs);
	free(gv);
	return err;
}
