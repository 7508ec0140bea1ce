/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the TLS reporter (contract and file map in daemon/tlsrpt.h).  The main thread owns the
 * day; the sender thread owns deliveries; they share the spool directory (the main thread only
 * adds complete files, by rename), the exemption table and the fleet queue, each under lock.
 */
#ifndef TLSGATE_DAEMON_TLSRPT_INT_H
#define TLSGATE_DAEMON_TLSRPT_INT_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "daemon/tlsrpt.h"
#include "report/tlsrpt.h"

#define TLSRPT_EXEMPT_MAX 1024
#define TLSRPT_TOKEN_LEN 32		/* hex of 128 random bits */
#define TLSRPT_FLEET_QUEUE 4096

struct tlsrpt_exemption {
	char token[TLSRPT_TOKEN_LEN + 1];
	char rcpt[320];
	int64_t expires;
};

struct tlsrpt {
	struct tlsrpt_opts o;		/* strings below are copies */
	char *dir, *spool, *org, *contact, *submitter, *sender, *submission, *dkim_selector;
	char *dkim_domain, *nameserver, *ca_file, *fleet_socket;
	struct loop *loop;
	struct loop_timer tick;
	struct tlsrpt_day day;
	bool dirty;			/* day changed since it was saved */
	uint64_t saved_ms;
	EVP_PKEY *dkim;			/* NULL: no mailto: delivery */
	SSL_CTX *ssl;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;		/* what follows */
	pthread_cond_t cond;
	bool stop, kick;		/* kick: look at the spool now (new report, flush) */
	bool flush_all;			/* flush: every report due now */
	struct tlsrpt_exemption exempt[TLSRPT_EXEMPT_MAX];
	size_t nexempt;
	struct report_outcome *fleet_q;	/* fleet: outcomes waiting for their record */
	size_t fleet_n;
	struct tlsrpt_fleet_rec *fleet_cache;	/* sender thread: domains' records (tlsrpt_fleet.c) */
	size_t fleet_ncache;
	struct tlsrpt_status st;	/* counters and last error (day fields filled on get) */
};

int64_t tlsrpt_now(const struct tlsrpt *t);

/* tlsrpt_send.c */
void *tlsrpt_send_main(void *arg);
/* The domain's TLSRPT record: 0, -ENOENT (none), -EAGAIN (try later).  txt may be NULL. */
int tlsrpt_send_lookup(struct tlsrpt *t, const char *domain, struct tlsrpt_record *r, char *txt,
		       size_t txtlen, char *why, size_t whylen);
void tlsrpt_set_error(struct tlsrpt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* tlsrpt.c: register an exemption for one submission; fills token. 0 or -ENOSPC. */
int tlsrpt_exempt_add(struct tlsrpt *t, const char *rcpt, char token[TLSRPT_TOKEN_LEN + 1]);

/* tlsrpt_fleet.c: on the sender thread, send what is queued. */
void tlsrpt_fleet_run(struct tlsrpt *t);

#endif
