// SPDX-License-Identifier: GPL-2.0-only
/*
 * The session cache itself: a chained hash table of key strings, and a recency list through
 * the same entries for the LRU bound.  What a key means is tls_client.c's.
 */
#include "daemon/tls_resume.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;		/* bucket chain */
	struct entry *newer, *older;	/* recency list */
	char *key;
	SSL_SESSION *sess;
	time_t origin, expires;
};

struct tls_resume {
	pthread_mutex_t lock;
	size_t max, n, nbuckets;	/* nbuckets: a power of two */
	unsigned int max_age;
	struct entry **bucket;
	struct entry *newest, *oldest;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

struct tls_resume *tls_resume_new(size_t max, unsigned int max_age)
{
	struct tls_resume *c;
	size_t nb = 16;

	if (!max || !max_age)
		return NULL;
	while (nb < max && nb < ((size_t)1 << 24))
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->bucket = calloc(nb, sizeof(*c->bucket));
	if (!c->bucket || pthread_mutex_init(&c->lock, NULL)) {
		free(c->bucket);
		free(c);
		return NULL;
	}
	c->max = max;
	c->max_age = max_age;
	c->nbuckets = nb;
	return c;
}

static void list_unlink(struct tls_resume *c, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void list_push(struct tls_resume *c, struct entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

/* The link that points at key's entry (or the chain's end). */
static struct entry **find(struct tls_resume *c, const char *key)
{
	struct entry **pp = &c->bucket[hash(key) & (c->nbuckets - 1)];

	while (*pp && strcmp((*pp)->key, key))
		pp = &(*pp)->next;
	return pp;
}

static void drop(struct tls_resume *c, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->next;
	list_unlink(c, e);
	SSL_SESSION_free(e->sess);
	free(e->key);
	free(e);
	c->n--;
}

void tls_resume_free(struct tls_resume *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nbuckets; i++)
		while (c->bucket[i])
			drop(c, &c->bucket[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->bucket);
	free(c);
}

SSL_SESSION *tls_resume_get(struct tls_resume *c, const char *key, time_t now, time_t *origin)
{
	SSL_SESSION *s = NULL;
	struct entry **pp;

	pthread_mutex_lock(&c->lock);
	pp = find(c, key);
	if (*pp && now >= (*pp)->expires) {
		drop(c, pp);
	} else if (*pp) {
		/* a copy: an SSL freed without a clean end marks its session unresumable, which
		 * must not reach the one kept here */
		s = SSL_SESSION_dup((*pp)->sess);
		*origin = (*pp)->origin;
		list_unlink(c, *pp);
		list_push(c, *pp);
	}
	pthread_mutex_unlock(&c->lock);
	return s;
}

int tls_resume_put(struct tls_resume *c, const char *key, SSL_SESSION *sess, time_t now,
		   time_t origin)
{
	unsigned long hint = SSL_SESSION_get_ticket_lifetime_hint(sess);
	time_t expires = origin + c->max_age;
	struct entry **pp, *e;
	int rc = 0;

	if (expires <= now)
		return 0; /* its verification is too old already: not kept */
	/* the server's word on how long its ticket is good for, within ours */
	if (hint && (unsigned long)(expires - now) > hint)
		expires = now + (time_t)hint;
	/* a copy, for the reason in tls_resume_get (made before the lock: it allocates) */
	sess = SSL_SESSION_dup(sess);
	if (!sess)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	pp = find(c, key);
	if (*pp) {
		e = *pp;
		SSL_SESSION_free(e->sess);
		list_unlink(c, e);
	} else {
		e = calloc(1, sizeof(*e));
		if (e)
			e->key = strdup(key);
		if (!e || !e->key) {
			free(e);
			SSL_SESSION_free(sess);
			rc = -ENOMEM;
			goto out;
		}
		e->next = c->bucket[hash(key) & (c->nbuckets - 1)];
		c->bucket[hash(key) & (c->nbuckets - 1)] = e;
		c->n++;
	}
	e->sess = sess;
	e->origin = origin;
	e->expires = expires;
	list_push(c, e);
	while (c->n > c->max)
		drop(c, find(c, c->oldest->key));
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void tls_resume_del(struct tls_resume *c, const char *key)
{
	struct entry **pp;

	pthread_mutex_lock(&c->lock);
	pp = find(c, key);
	if (*pp)
		drop(c, pp);
	pthread_mutex_unlock(&c->lock);
}

size_t tls_resume_count(struct tls_resume *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}
