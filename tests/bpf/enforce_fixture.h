/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fixtures for the enforcer, in the manner of Katran's: a flow is a list of steps, each an input
 * segment (direction, TCP flags, stream offset, payload) with the expected verdict and the drop
 * counter that must move.  The runner builds the frames (tests/lib/pkt.h) for any address family
 * and VLAN tag, feeds them to enforce_egress (client->server) or enforce_ingress (server->client)
 * with BPF_PROG_TEST_RUN, and checks verdicts, per-reason counter deltas and, for a segment the
 * program rewrites, the segment that comes out.
 */
#ifndef TLSGATE_TESTS_BPF_ENFORCE_FIXTURE_H
#define TLSGATE_TESTS_BPF_ENFORCE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#define V_PASS (-1)	/* TC_ACT_UNSPEC */
#define V_DROP 2	/* TC_ACT_SHOT */
/* Passed (TC_ACT_UNSPEC) but rewritten, checksums correct, no payload: */
#define V_RST 100	/* ... a RST|ACK at the client's next unjudged sequence number */
#define V_EMPTY 101	/* ... a bare ACK at the segment's own sequence number */
#define OFF_NEXT (-1)	/* continue where this direction's stream ended */

struct pkt_spec;

struct step {
	char dir;		/* 'c' client->server, 's' server->client; 'x': client->server,
				 * but on the server's side (a spoofer there) */
	uint8_t flags;		/* TH_*; 0 means TH_ACK|TH_PUSH for data, TH_ACK otherwise */
	int32_t off;		/* stream offset of the payload (0 = first byte after SYN); for
				 * a SYN, added to the ISN */
	const char *data;	/* payload or NULL */
	size_t len;		/* 0: strlen(data) */
	int verdict;
	int reason;		/* enum tg_drop_reason whose counter must move by one; 0: none */
	void (*shape)(struct pkt_spec *p);	/* an attack's changes to the packet, or NULL */
};

#define END_STEPS { 0 }

/* Steps shared by most flows: handshake and the server's greeting. */
#define HANDSHAKE                                                                   \
	{ 'c', TH_SYN, 0, NULL, 0, V_PASS, 0 }, { 's', TH_SYN | TH_ACK, 0, NULL, 0, V_PASS, 0 }, \
		{ 'c', TH_ACK, 0, NULL, 0, V_PASS, 0 },                                     \
		{ 's', 0, OFF_NEXT, "220 mx.example.net ESMTP\r\n", 0, V_PASS, 0 }

struct flow_env {
	int family;		/* AF_INET / AF_INET6 */
	uint16_t vlan;
	const char *client, *server;
	uint16_t cport, sport;
	uint32_t mark;		/* skb->mark of client->server segments */
	int inbound;		/* client outside: its segments on ingress, the server's on egress */
};

#endif
