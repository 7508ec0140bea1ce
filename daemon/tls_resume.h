/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The client TLS session cache toward destinations: OpenSSL sessions (TLS 1.2 tickets or ids,
 * TLS 1.3 tickets) by a key string the caller builds from everything that decided the handshake
 * (daemon/tls_client.c: destination, SNI, level, names, limits).  One cache shared by the
 * workers under a mutex (a lookup and a store per handshake, each well under a microsecond;
 * shared, every worker resumes what any of them learned).  Bounded: least recently used
 * entries go first past `max`; an entry expires at its ticket's lifetime hint or max_age after
 * its origin, whichever is sooner.  The origin is the full handshake that verified the peer:
 * sessions from resumed handshakes (TLS 1.3 issues new tickets on every one) inherit it, so a
 * chain of resumptions never stretches a verification past max_age (RFC 8446 4.6.1).
 */
#ifndef TLSGATE_DAEMON_TLS_RESUME_H
#define TLSGATE_DAEMON_TLS_RESUME_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <time.h>

struct tls_resume;

/* max entries (> 0), max_age seconds (> 0); NULL when out of memory. */
struct tls_resume *tls_resume_new(size_t max, unsigned int max_age);
void tls_resume_free(struct tls_resume *c);

/*
 * A copy of the session kept under key (SSL_SESSION_free it), or NULL; drops it if expired.
 * Copies both ways: OpenSSL marks the session of an SSL freed without a clean end
 * unresumable, and that must never reach the one kept here.
 */
SSL_SESSION *tls_resume_get(struct tls_resume *c, const char *key, time_t now, time_t *origin);

/*
 * Keep a copy of sess under key, replacing what was there; origin: when the full handshake it
 * descends from was made (now for a full one, what tls_resume_get said for a resumed one).
 * Past origin + max_age it is not kept.  0 or -ENOMEM.
 */
int tls_resume_put(struct tls_resume *c, const char *key, SSL_SESSION *sess, time_t now,
		   time_t origin);

/* Forget the entry under key, if any. */
void tls_resume_del(struct tls_resume *c, const char *key);

size_t tls_resume_count(struct tls_resume *c);

#endif
