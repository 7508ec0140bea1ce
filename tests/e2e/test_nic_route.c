// SPDX-License-Identifier: GPL-2.0-only
/*
 * nic_offload_prefer's egress interface is the route's, not the local address's.  In a private
 * network namespace (unshare: nothing to name, nothing left behind) with two veth pairs:
 *
 *   tga0 198.51.100.1/24   the address the socket is bound to
 *   tgb0 192.0.2.1/24      the route to 203.0.113.0/24 goes out here
 *   a policy rule: mark 0x77 -> table 77, whose route to 203.0.113.0/24 goes out of tga0
 *
 * A socket bound to 198.51.100.1 and connected to 203.0.113.5 (UDP: connect routes it and sends
 * nothing) leaves by tgb0: hw_route_egress and nic_for_socket say tgb0 (the code before asked
 * which interface holds the local address: tga0).  The same socket with SO_MARK 0x77 leaves by
 * tga0 (the mark is part of the lookup), and one bound to tgb0's address says tgb0.  Needs root
 * and `ip`; skipped otherwise.
 */
#include "daemon/config.h"
#include "daemon/nic.h"
#include "hw/hw.h"
#include "tests/lib/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		tap_diag("%s: exit %d", cmd, rc);
	return rc;
}

static int udp_to(const char *src, const char *dst, uint32_t mark)
{
	struct sockaddr_in l = {.sin_family = AF_INET}, p = {.sin_family = AF_INET,
							     .sin_port = htons(25)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		tap_bail("socket: %s", strerror(errno));
	inet_pton(AF_INET, src, &l.sin_addr);
	inet_pton(AF_INET, dst, &p.sin_addr);
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		tap_bail("SO_MARK: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&l, sizeof(l)) ||
	    connect(fd, (struct sockaddr *)&p, sizeof(p)))
		tap_bail("bind %s / connect %s: %s", src, dst, strerror(errno));
	return fd;
}

static const char *egress(int fd, char *buf)
{
	int ifindex = 0, rc = hw_route_egress(fd, &ifindex);

	if (rc) {
		snprintf(buf, IF_NAMESIZE, "error %d", rc);
		return buf;
	}
	return if_indextoname((unsigned int)ifindex, buf) ? buf : "?";
}

int main(void)
{
	struct config c;
	struct nic_table *t = NULL;
	char b1[IF_NAMESIZE], err[256];
	int fd;

	if (geteuid()) {
		tap_skip("not root", "route lookup in a private namespace");
		return tap_done();
	}
	if (unshare(CLONE_NEWNET))
		tap_bail("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (sh("ip link set lo up && ip link add tga0 type veth peer name tga1 && "
	       "ip link add tgb0 type veth peer name tgb1 && "
	       "for l in tga0 tga1 tgb0 tgb1; do ip link set $l up; done && "
	       "ip addr add 198.51.100.1/24 dev tga0 && ip addr add 192.0.2.1/24 dev tgb0 && "
	       "ip route add 203.0.113.0/24 via 192.0.2.2 dev tgb0 && "
	       "ip route add 203.0.113.0/24 via 198.51.100.2 dev tga0 table 77 && "
	       "ip rule add fwmark 0x77 table 77"))
		tap_bail("cannot build the namespace's interfaces (ip missing?)");

	fd = udp_to("198.51.100.1", "203.0.113.5", 0);
	tap_ok(!strcmp(egress(fd, b1), "tgb0"),
	       "bound to tga0's address, routed via tgb0: hw_route_egress says %s", b1);

	config_defaults(&c);
	c.outside_ifs.n = 2;
	snprintf(c.outside_ifs.name[0], sizeof(c.outside_ifs.name[0]), "tga0");
	snprintf(c.outside_ifs.name[1], sizeof(c.outside_ifs.name[1]), "tgb0");
	if (nic_config_check(&c, err, sizeof(err)) || nic_setup(&c, &t))
		tap_bail("nic_setup: %s", err);
	tap_ok(nic_entry_ifname(nic_for_socket(t, fd)) &&
		       !strcmp(nic_entry_ifname(nic_for_socket(t, fd)), "tgb0"),
	       "nic_for_socket: the outside interface is tgb0 (the route's), not tga0 (the "
	       "address's): %s",
	       nic_entry_ifname(nic_for_socket(t, fd)) ?: "none");
	close(fd);

	fd = udp_to("198.51.100.1", "203.0.113.5", 0x77);
	tap_ok(!strcmp(egress(fd, b1), "tga0"),
	       "the same with SO_MARK 0x77 (rule -> table 77): %s", b1);
	tap_ok(nic_entry_ifname(nic_for_socket(t, fd)) &&
		       !strcmp(nic_entry_ifname(nic_for_socket(t, fd)), "tga0"),
	       "nic_for_socket follows the mark: %s",
	       nic_entry_ifname(nic_for_socket(t, fd)) ?: "none");
	close(fd);

	fd = udp_to("192.0.2.1", "203.0.113.5", 0);
	tap_ok(!strcmp(egress(fd, b1), "tgb0"), "bound to tgb0's own address: %s", b1);
	close(fd);

	fd = udp_to("198.51.100.1", "198.51.100.9", 0);
	tap_ok(!strcmp(egress(fd, b1), "tga0"), "toward tga0's own subnet: %s", b1);
	close(fd);

	nic_free(t);
	return tap_done();
}
