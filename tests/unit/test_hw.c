// SPDX-License-Identifier: GPL-2.0-only
/*
 * hw/: the parsers on messages no machine here produces, built from the kernel's uapi
 * (linux/ethtool_netlink.h, linux/inet_diag.h, linux/tls.h) the way net/ethtool/features.c and
 * net/tls/tls_main.c lay them out: a NIC with the TLS bits on (mlx5-like), a session the NIC
 * does (TLS_CONF_HW, with TLS_INFO_ZC_RO_TX), a FEATURES_SET the device partly refused; and
 * the driver counters, /proc/net/tls_stat.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tls.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <string.h>

#include "hw/hw.h"

#define FAMILY 0x20 /* any generic netlink family id */

static struct nl_msg *genl_new(uint8_t cmd)
{
	struct nl_msg *m = nlmsg_alloc();

	assert_non_null(m);
	assert_non_null(genlmsg_put(m, 1, 1, FAMILY, 0, 0, cmd, ETHTOOL_GENL_VERSION));
	return m;
}

/* A verbose bitset: a list (NOMASK: names of set bits) or value/mask (names, VALUE flags). */
static void put_bitset(struct nl_msg *m, int type, bool list, const char *const *names,
		       const bool *values, size_t n)
{
	struct nlattr *set = nla_nest_start(m, type), *bits;

	if (list)
		nla_put_flag(m, ETHTOOL_A_BITSET_NOMASK);
	nla_put_u32(m, ETHTOOL_A_BITSET_SIZE, 128);
	bits = nla_nest_start(m, ETHTOOL_A_BITSET_BITS);
	for (size_t i = 0; i < n; i++) {
		struct nlattr *bit = nla_nest_start(m, ETHTOOL_A_BITSET_BITS_BIT);

		nla_put_u32(m, ETHTOOL_A_BITSET_BIT_INDEX, (uint32_t)(40 + i));
		nla_put_string(m, ETHTOOL_A_BITSET_BIT_NAME, names[i]);
		if (!list && values[i])
			nla_put_flag(m, ETHTOOL_A_BITSET_BIT_VALUE);
		nla_nest_end(m, bit);
	}
	nla_nest_end(m, bits);
	nla_nest_end(m, set);
}

static void put_header(struct nl_msg *m, int type, const char *ifname)
{
	struct nlattr *h = nla_nest_start(m, type);

	nla_put_u32(m, ETHTOOL_A_HEADER_DEV_INDEX, 4);
	nla_put_string(m, ETHTOOL_A_HEADER_DEV_NAME, ifname);
	nla_nest_end(m, h);
}

/* mlx5 ConnectX-6 Dx after `ethtool -K tls-hw-tx-offload on`: TX and RX offered, TX on. */
static void test_features_nic_with_tls(void **state)
{
	static const char *const hw[] = {"tx-checksum-ipv4", "tx-checksum-ipv6",
					 "tls-hw-tx-offload", "tls-hw-rx-offload"};
	static const char *const active[] = {"tx-checksum-ipv4", "tx-checksum-ipv6",
					     "tls-hw-tx-offload"};
	static const char *const nochange[] = {"tls-hw-record"};
	struct nl_msg *m = genl_new(ETHTOOL_MSG_FEATURES_GET_REPLY);
	struct hw_features ft;

	(void)state;
	memset(&ft, 0, sizeof(ft));
	for (int i = 0; i < HW_NFEAT; i++)
		ft.f[i].known = true;
	put_header(m, ETHTOOL_A_FEATURES_HEADER, "enp1s0f0np0");
	put_bitset(m, ETHTOOL_A_FEATURES_HW, true, hw, NULL, 4);
	put_bitset(m, ETHTOOL_A_FEATURES_WANTED, true, active, NULL, 3);
	put_bitset(m, ETHTOOL_A_FEATURES_ACTIVE, true, active, NULL, 3);
	put_bitset(m, ETHTOOL_A_FEATURES_NOCHANGE, true, nochange, NULL, 1);
	assert_int_equal(hw_features_parse(nlmsg_hdr(m), &ft), 0);
	assert_string_equal(hw_feat_state(&ft.f[HW_F_TLS_TX]), "on");
	assert_string_equal(hw_feat_state(&ft.f[HW_F_TLS_RX]), "off");
	assert_string_equal(hw_feat_state(&ft.f[HW_F_TLS_RECORD]), "off [fixed]");
	assert_true(hw_tx_csum_active(&ft));
	nlmsg_free(m);
}

/* veth / virtio as the kernel reports them: no TLS bit anywhere, so all read "off [fixed]". */
static void test_features_without_tls(void **state)
{
	static const char *const hw[] = {"tx-checksum-ip-generic"};
	static const char *const names[] = {"tx-checksum-ip-generic", "tls-hw-tx-offload",
					    "tls-hw-rx-offload", "tls-hw-record"};
	struct nl_msg *m = genl_new(ETHTOOL_MSG_FEATURES_GET_REPLY);
	struct nl_msg *s = genl_new(ETHTOOL_MSG_STRSET_GET_REPLY);
	struct nlattr *sets, *set, *strs;
	struct hw_features ft;
	char why[256];

	(void)state;
	memset(&ft, 0, sizeof(ft));
	put_header(s, ETHTOOL_A_STRSET_HEADER, "veth0");
	sets = nla_nest_start(s, ETHTOOL_A_STRSET_STRINGSETS);
	set = nla_nest_start(s, ETHTOOL_A_STRINGSETS_STRINGSET);
	nla_put_u32(s, ETHTOOL_A_STRINGSET_ID, ETH_SS_FEATURES);
	nla_put_u32(s, ETHTOOL_A_STRINGSET_COUNT, 4);
	strs = nla_nest_start(s, ETHTOOL_A_STRINGSET_STRINGS);
	for (uint32_t i = 0; i < 4; i++) {
		struct nlattr *one = nla_nest_start(s, ETHTOOL_A_STRINGS_STRING);

		nla_put_u32(s, ETHTOOL_A_STRING_INDEX, i);
		nla_put_string(s, ETHTOOL_A_STRING_VALUE, names[i]);
		nla_nest_end(s, one);
	}
	nla_nest_end(s, strs);
	nla_nest_end(s, set);
	nla_nest_end(s, sets);
	assert_int_equal(hw_strset_parse(nlmsg_hdr(s), &ft), 0);
	assert_true(ft.f[HW_F_TLS_TX].known);
	assert_false(ft.f[HW_F_CSUM_IPV4].known);

	put_header(m, ETHTOOL_A_FEATURES_HEADER, "veth0");
	put_bitset(m, ETHTOOL_A_FEATURES_HW, true, hw, NULL, 1);
	put_bitset(m, ETHTOOL_A_FEATURES_WANTED, true, hw, NULL, 1);
	put_bitset(m, ETHTOOL_A_FEATURES_ACTIVE, true, hw, NULL, 1);
	put_bitset(m, ETHTOOL_A_FEATURES_NOCHANGE, true, NULL, NULL, 0);
	assert_int_equal(hw_features_parse(nlmsg_hdr(m), &ft), 0);
	assert_string_equal(hw_feat_state(&ft.f[HW_F_TLS_TX]), "off [fixed]");
	assert_string_equal(hw_feat_state(&ft.f[HW_F_TLS_RX]), "off [fixed]");
	hw_refusal_reason(HW_F_TLS_TX, &ft, "veth", why, sizeof(why));
	assert_non_null(strstr(why, "driver veth does not offer it"));
	/* a message of another command is not a features reply */
	assert_int_equal(hw_features_parse(nlmsg_hdr(s), &ft), -EBADMSG);
	nlmsg_free(m);
	nlmsg_free(s);
}

/* FEATURES_SET asked TX and RX on; the device took TX, kept RX off (wanted diff), TX changed. */
static void test_features_set_refused(void **state)
{
	static const char *const wanted[] = {"tls-hw-rx-offload"};
	static const bool wv[] = {true};
	static const char *const active[] = {"tls-hw-tx-offload"};
	static const bool av[] = {true};
	struct nl_msg *m = genl_new(ETHTOOL_MSG_FEATURES_SET_REPLY);
	bool refused[HW_NFEAT], changed[HW_NFEAT];
	struct hw_features ft;
	char why[256];

	(void)state;
	put_header(m, ETHTOOL_A_FEATURES_HEADER, "enp1s0f0np0");
	put_bitset(m, ETHTOOL_A_FEATURES_WANTED, false, wanted, wv, 1);
	put_bitset(m, ETHTOOL_A_FEATURES_ACTIVE, false, active, av, 1);
	assert_int_equal(hw_features_set_parse(nlmsg_hdr(m), refused, changed), 0);
	assert_true(refused[HW_F_TLS_RX]);
	assert_false(refused[HW_F_TLS_TX]);
	assert_true(changed[HW_F_TLS_TX]);
	assert_false(changed[HW_F_TLS_RX]);
	/* the reason: changeable, so the driver's own fix-up */
	memset(&ft, 0, sizeof(ft));
	ft.f[HW_F_TLS_RX].known = ft.f[HW_F_TLS_RX].changeable = true;
	hw_refusal_reason(HW_F_TLS_RX, &ft, "mlx5_core", why, sizeof(why));
	assert_non_null(strstr(why, "driver mlx5_core kept tls-hw-rx-offload"));
	/* TX needs checksum offload */
	ft.f[HW_F_TLS_TX].known = ft.f[HW_F_TLS_TX].changeable = true;
	hw_refusal_reason(HW_F_TLS_TX, &ft, "mlx5_core", why, sizeof(why));
	assert_non_null(strstr(why, "needs TX checksum offload"));
	nlmsg_free(m);
}

static struct nl_msg *diag_msg(bool ulp, uint16_t ver, uint16_t tx, uint16_t rx, bool zc,
			       bool nopad)
{
	struct nl_msg *m = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, 0);
	struct inet_diag_msg r;
	struct nlattr *u, *t;

	memset(&r, 0, sizeof(r));
	r.idiag_family = AF_INET;
	r.idiag_state = 1; /* TCP_ESTABLISHED */
	r.idiag_uid = 992;
	assert_int_equal(nlmsg_append(m, &r, sizeof(r), NLMSG_ALIGNTO), 0);
	nla_put(m, INET_DIAG_INFO, 16, "0123456789abcdef");
	if (!ulp)
		return m;
	u = nla_nest_start(m, INET_DIAG_ULP_INFO);
	nla_put_string(m, INET_ULP_INFO_NAME, "tls");
	t = nla_nest_start(m, INET_ULP_INFO_TLS);
	nla_put_u16(m, TLS_INFO_VERSION, ver);
	nla_put_u16(m, TLS_INFO_CIPHER, TLS_CIPHER_AES_GCM_128);
	nla_put_u16(m, TLS_INFO_TXCONF, tx);
	nla_put_u16(m, TLS_INFO_RXCONF, rx);
	if (zc)
		nla_put_flag(m, 5 /* TLS_INFO_ZC_RO_TX */);
	if (nopad)
		nla_put_flag(m, 6 /* TLS_INFO_RX_NO_PAD */);
	nla_nest_end(m, t);
	nla_nest_end(m, u);
	return m;
}

static void test_diag(void **state)
{
	struct hw_tls_diag d;
	struct nl_msg *m;
	char buf[128];

	(void)state;
	/* a TLS 1.2 session the NIC does both ways, zero-copy sendfile on */
	m = diag_msg(true, TLS_1_2_VERSION, TLS_CONF_HW, TLS_CONF_HW, true, false);
	assert_int_equal(hw_diag_parse(nlmsg_hdr(m), &d), 0);
	assert_true(d.ulp_info && d.tls);
	assert_int_equal(d.tx, HW_CONF_HW);
	assert_int_equal(d.rx, HW_CONF_HW);
	assert_true(hw_tls_conf_device(d.tx));
	assert_int_equal(d.version, TLS_1_2_VERSION);
	assert_int_equal(d.uid, 992); /* the diag helper answers for its user's sockets only */
	assert_string_equal(hw_diag_format(&d, buf, sizeof(buf)), "tx=hw rx=hw zc_ro_tx");
	nlmsg_free(m);
	/* TLS 1.3 in software, RX expecting no padding */
	m = diag_msg(true, TLS_1_3_VERSION, TLS_CONF_SW, TLS_CONF_SW, false, true);
	assert_int_equal(hw_diag_parse(nlmsg_hdr(m), &d), 0);
	assert_string_equal(hw_diag_format(&d, buf, sizeof(buf)), "tx=sw rx=sw rx_no_pad");
	assert_false(hw_tls_conf_device(d.tx));
	nlmsg_free(m);
	/* record offload (Chelsio inline), one way */
	m = diag_msg(true, TLS_1_2_VERSION, TLS_CONF_HW_RECORD, TLS_CONF_BASE, false, false);
	assert_int_equal(hw_diag_parse(nlmsg_hdr(m), &d), 0);
	assert_string_equal(hw_diag_format(&d, buf, sizeof(buf)), "tx=hw-record rx=base");
	nlmsg_free(m);
	/* without CAP_NET_ADMIN the kernel leaves the ULP nest out */
	m = diag_msg(false, 0, 0, 0, false, false);
	assert_int_equal(hw_diag_parse(nlmsg_hdr(m), &d), 0);
	assert_true(d.found);
	assert_false(d.ulp_info);
	assert_non_null(strstr(hw_diag_format(&d, buf, sizeof(buf)), "CAP_NET_ADMIN"));
	nlmsg_free(m);
}

/* RTM_NEWROUTE answers to RTM_GETROUTE (what `ip route get` prints as "dev"). */
static void test_route_parse(void **state)
{
	struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_dst_len = 32, .rtm_table = RT_TABLE_MAIN};
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWROUTE, 0);
	struct nlmsghdr *nlh;
	int ifindex = 0;

	(void)state;
	assert_int_equal(nlmsg_append(m, &rtm, sizeof(rtm), NLMSG_ALIGNTO), 0);
	nla_put_u32(m, RTA_TABLE, RT_TABLE_MAIN);
	nla_put(m, RTA_DST, 4, "\xcb\x00\x71\x05");
	nla_put_u32(m, RTA_OIF, 7);
	nla_put(m, RTA_PREFSRC, 4, "\xc6\x33\x64\x01");
	assert_int_equal(hw_route_parse(nlmsg_hdr(m), &ifindex), 0);
	assert_int_equal(ifindex, 7);
	/* an attribute claiming more than the message holds */
	nlh = nlmsg_hdr(m);
	((struct rtattr *)((char *)nlh + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(rtm)))))->rta_len = 4096;
	assert_int_equal(hw_route_parse(nlh, &ifindex), -EBADMSG);
	nlmsg_free(m);
	/* no RTA_OIF (a blackhole route), and not a route at all */
	m = nlmsg_alloc_simple(RTM_NEWROUTE, 0);
	assert_int_equal(nlmsg_append(m, &rtm, sizeof(rtm), NLMSG_ALIGNTO), 0);
	nla_put_u32(m, RTA_TABLE, RT_TABLE_MAIN);
	assert_int_equal(hw_route_parse(nlmsg_hdr(m), &ifindex), -ENOENT);
	nlmsg_hdr(m)->nlmsg_type = RTM_NEWLINK;
	assert_int_equal(hw_route_parse(nlmsg_hdr(m), &ifindex), -EBADMSG);
	nlmsg_free(m);
}

static void test_counters_and_tls_stat(void **state)
{
	char names[5][ETH_GSTRING_LEN];
	const uint64_t values[5] = {1, 2, 3, 4, 5};
	struct hw_nic_stat st[HW_NIC_STATS];
	struct hw_tls_stat ts;

	(void)state;
	memset(names, 0, sizeof(names));
	strcpy(names[0], "rx_packets");
	strcpy(names[1], "tx_tls_encrypted_packets");
	strcpy(names[2], "rx_tls_ctx");
	strcpy(names[3], "tx_tlsx_bogus");
	strcpy(names[4], "tx_tls_drop_no_sync_data");
	assert_int_equal(hw_tls_counters_pick(&names[0][0], values, 5, st, HW_NIC_STATS), 3);
	assert_string_equal(st[0].name, "tx_tls_encrypted_packets");
	assert_int_equal(st[0].value, 2);
	assert_string_equal(st[2].name, "tx_tls_drop_no_sync_data");

	hw_tls_stat_parse("TlsCurrTxSw                     \t1\nTlsCurrRxSw\t2\n"
			  "TlsCurrTxDevice\t7\nTlsCurrRxDevice\t3\nTlsRxDeviceResync\t9\n"
			  "TlsDecryptError\t0\n",
			  &ts);
	assert_true(ts.present);
	assert_int_equal(ts.curr_tx_sw, 1);
	assert_int_equal(ts.curr_tx_device, 7);
	assert_int_equal(ts.curr_rx_device, 3);
	assert_int_equal(ts.rx_device_resync, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_nic_with_tls),
		cmocka_unit_test(test_features_without_tls),
		cmocka_unit_test(test_features_set_refused),
		cmocka_unit_test(test_diag),
		cmocka_unit_test(test_route_parse),
		cmocka_unit_test(test_counters_and_tls_stat),
	};

	return cmocka_run_group_tests_name("hw", tests, NULL, NULL);
}
