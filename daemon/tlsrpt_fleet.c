// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fleet mode (daemon/tlsrpt.h): each outcome as one libtlsrpt datagram to tlsrpt-collectd's
 * unix socket, on the sender thread.  The collector needs the domain's TLSRPT record in the
 * datagram ("pr") and counts nothing for a domain without one, so the record is looked up here
 * (kept an hour, an absent one too) and outcomes of domains without one are not sent.
 * A datagram that cannot be sent (collector down, its queue full) is counted and dropped: the
 * same promise libtlsrpt makes (MSG_DONTWAIT), so that a dead collector never holds mail up.
 */
#include "daemon/tlsrpt_int.h"
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FLEET_CACHE 1024
#define FLEET_TTL_S 3600

struct tlsrpt_fleet_rec {
	char domain[REPORT_NAME_MAX];
	char txt[1024];		/* "" none */
	int64_t expires;
};

static const char *record_of(struct tlsrpt *t, const char *domain)
{
	int64_t now = tlsrpt_now(t);
	struct tlsrpt_record r;
	struct tlsrpt_fleet_rec *slot = NULL;
	char why[256];
	struct tlsrpt_fleet_rec *fleet_cache = t->fleet_cache;
	int rc;

	if (!fleet_cache) {
		fleet_cache = t->fleet_cache = calloc(FLEET_CACHE, sizeof(*fleet_cache));
		if (!fleet_cache)
			return NULL;
	}
	for (size_t i = 0; i < t->fleet_ncache; i++) {
		if (!strcmp(fleet_cache[i].domain, domain)) {
			if (fleet_cache[i].expires > now)
				return fleet_cache[i].txt;
			slot = &fleet_cache[i];
			break;
		}
	}
	if (!slot) {
		if (t->fleet_ncache < FLEET_CACHE) {
			slot = &fleet_cache[t->fleet_ncache++];
		} else {
			slot = &fleet_cache[0]; /* the oldest expiry goes */
			for (size_t i = 1; i < FLEET_CACHE; i++)
				if (fleet_cache[i].expires < slot->expires)
					slot = &fleet_cache[i];
		}
	}
	rc = tlsrpt_send_lookup(t, domain, &r, slot->txt, sizeof(slot->txt), why, sizeof(why));
	if (rc == -EAGAIN) {
		log_info("tlsrpt fleet: domain=%s: %s: result not sent", domain, why);
		slot->domain[0] = '\0';
		return NULL;
	}
	snprintf(slot->domain, sizeof(slot->domain), "%s", domain);
	if (rc)
		slot->txt[0] = '\0';
	slot->expires = now + FLEET_TTL_S;
	return slot->txt;
}

void tlsrpt_fleet_run(struct tlsrpt *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->fleet_socket);
	for (;;) {
		struct report_outcome o;
		const char *pr;
		char *buf = NULL;
		size_t len;
		bool sent = false;

		pthread_mutex_lock(&t->lock);
		if (!t->fleet_n || t->stop) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		o = t->fleet_q[0];
		memmove(&t->fleet_q[0], &t->fleet_q[1], --t->fleet_n * sizeof(o));
		pthread_mutex_unlock(&t->lock);
		pr = record_of(t, o.domain);
		if (!pr || !pr[0])
			continue;
		if (fd >= 0 && !tlsrpt_datagram(&o, pr, o.policy_detail[0] ? o.policy_detail : NULL,
						&buf, &len)) {
			sent = sendto(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&sa,
				      sizeof(sa)) == (ssize_t)len;
			if (!sent)
				tlsrpt_set_error(t, "fleet: sendto %s: %s", t->fleet_socket,
						 strerror(errno));
		}
		free(buf);
		pthread_mutex_lock(&t->lock);
		if (sent)
			t->st.datagrams++;
		else
			t->st.datagram_errors++;
		pthread_mutex_unlock(&t->lock);
	}
	if (fd >= 0)
		close(fd);
}
