// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test helper: attach the pktcount program to an interface's tc ingress inside a named network
 * namespace, pin its map, and read the pinned map back later (after this process has exited, as
 * `tlsgatectl stats` will).
 *
 *   helper_pktcount attach NETNS IFNAME PINDIR    load, attach, pin PINDIR/pktcount, exit
 *   helper_pktcount read PINDIR SLOT             print "packets bytes" summed over CPUs
 *   helper_pktcount detach NETNS IFNAME
 *
 * setns(CLONE_NEWNET) only, unlike `ip netns exec`, so /sys/fs/bpf stays this mount namespace's.
 */
#include "bpf/pktcount.h"
#include "bpf/tc.h"
#include "pktcount.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "helper_pktcount: netns %s: %s\n", name, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int ifindex_of(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);

	if (!ifindex)
		fprintf(stderr, "helper_pktcount: no interface %s\n", ifname);
	return ifindex;
}

static int do_attach(const char *ns, const char *ifname, const char *pindir)
{
	struct pktcount_bpf *skel = NULL;
	char pin[512];
	int ifindex, err = 1;

	if (enter_netns(ns) || !(ifindex = ifindex_of(ifname)))
		return 1;
	skel = pktcount_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "helper_pktcount: load failed\n");
		return 1;
	}
	snprintf(pin, sizeof(pin), "%s/pktcount", pindir);
	if (mkdir(pindir, 0700) && errno != EEXIST) {
		perror(pindir);
		goto out;
	}
	if (bpf_map__pin(skel->maps.pktcount, pin)) {
		fprintf(stderr, "helper_pktcount: pin %s: %s\n", pin, strerror(errno));
		goto out;
	}
	if (tg_tc_attach(ifindex, true, bpf_program__fd(skel->progs.pktcount_tc), 1)) {
		fprintf(stderr, "helper_pktcount: tc attach %s: %s\n", ifname, strerror(errno));
		goto out;
	}
	printf("attached %s ifindex=%d map=%s\n", ifname, ifindex, pin);
	err = 0;
out:
	pktcount_bpf__destroy(skel); /* the tc filter and the pin keep program and map alive */
	return err;
}

static int do_read(const char *pindir, const char *slot_s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pktcount_val *v = calloc((size_t)ncpu, sizeof(*v));
	unsigned long long packets = 0, bytes = 0;
	__u32 slot = (__u32)atoi(slot_s);
	char pin[512];
	int fd;

	snprintf(pin, sizeof(pin), "%s/pktcount", pindir);
	fd = bpf_obj_get(pin);
	if (!v || fd < 0 || bpf_map_lookup_elem(fd, &slot, v)) {
		fprintf(stderr, "helper_pktcount: read %s: %s\n", pin, strerror(errno));
		return 1;
	}
	for (int i = 0; i < ncpu; i++) {
		packets += v[i].packets;
		bytes += v[i].bytes;
	}
	printf("%llu %llu\n", packets, bytes);
	free(v);
	close(fd);
	return 0;
}

static int do_detach(const char *ns, const char *ifname)
{
	int ifindex;

	if (enter_netns(ns) || !(ifindex = ifindex_of(ifname)))
		return 1;
	return tg_tc_detach(ifindex, true, 1) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "attach"))
		return do_attach(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "read"))
		return do_read(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "detach"))
		return do_detach(argv[2], argv[3]);
	fprintf(stderr, "usage: helper_pktcount attach NETNS IFNAME PINDIR | read PINDIR SLOT | "
			"detach NETNS IFNAME\n");
	return 2;
}
