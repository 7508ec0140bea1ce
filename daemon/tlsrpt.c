// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TLS reporter's main-loop side (daemon/tlsrpt.h): the day's aggregate, its file, rollover
 * into the spool, the exemptions of 5.3.1, status.
 *
 * Files in STATE_DIR/tlsrpt/:
 *   day                  the aggregate so far (report/tlsrpt.h's text), saved every minute when
 *                        it changed and at exit: a restart loses at most a minute of counts
 *   spool/B.json.gz      one finished report, B = START-DOMAIN
 *   spool/B.job          its delivery state (domain, ids, created, attempts, next, done URIs);
 *                        written after the report, by rename, so a .job always has its report
 * A day is closed into the spool before the day file is cleared: a crash in between reports
 * those counts twice rather than never.
 */
#include "daemon/tlsrpt_int.h"
#include "daemon/sts_fetch.h"
#include "lib/log.h"
#include "policy/policy.h"
#include "policy/sts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/dkim.h"

#define TICK_MS 10000
#define SAVE_EVERY_MS 60000
#define EXEMPT_LIFE_S (26 * 3600)	/* the retry window and the inside MTA's queue */

int64_t tlsrpt_now(const struct tlsrpt *t)
{
	return t->o.now ? t->o.now(t->o.now_arg) : (int64_t)time(NULL);
}

void tlsrpt_set_error(struct tlsrpt *t, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t->lock);
	va_start(ap, fmt);
	vsnprintf(t->st.last_error, sizeof(t->st.last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&t->lock);
}


static void day_save(struct tlsrpt *t)
{
	char path[4096], *buf = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/day", t->dir);
	rc = tlsrpt_day_save(&t->day, &buf, &len);
	if (!rc)
		rc = policy_write_atomic_mode(path, buf, len, 0640);
	free(buf);
	if (rc) {
		log_warn("tlsrpt: cannot save the day's counts to %s: %s", path, strerror(-rc));
		return;
	}
	t->dirty = false;
	t->saved_ms = loop_now_ms();
}

/* One domain's report into the spool.  0 or -errno. */
static int spool_report(struct tlsrpt *t, const struct tlsrpt_domain *dom, int64_t start,
			int64_t end)
{
	struct tlsrpt_meta m = { .org = t->org, .contact = t->contact, .submitter = t->submitter,
				 .start = start, .end = end };
	char base[4096], path[4200], id[600], fn[700], *json = NULL, *job = NULL;
	unsigned char *gz = NULL;
	size_t jlen, gzlen, joblen;
	int rc;

	rc = tlsrpt_json(&m, dom, &json, &jlen);
	if (rc)
		goto out;
	rc = tlsrpt_gzip(json, jlen, &gz, &gzlen);
	if (rc)
		goto out;
	snprintf(base, sizeof(base), "%s/%" PRId64 "-%s", t->spool, start, dom->name);
	snprintf(path, sizeof(path), "%s.json.gz", base);
	rc = policy_write_atomic_mode(path, gz, gzlen, 0640);
	if (rc)
		goto out;
	tlsrpt_report_id(&m, dom->name, id, sizeof(id));
	tlsrpt_filename(&m, dom->name, fn, sizeof(fn));
	rc = asprintf(&job, "domain %s\nreport-id %s\nfilename %s\ncreated %" PRId64
		      "\nattempts 0\nnext 0\n", dom->name, id, fn, tlsrpt_now(t));
	if (rc < 0) {
		job = NULL;
		rc = -ENOMEM;
		goto out;
	}
	joblen = (size_t)rc;
	snprintf(path, sizeof(path), "%s.job", base);
	rc = policy_write_atomic_mode(path, job, joblen, 0640);
	if (!rc)
		log_info("tlsrpt: report spooled domain=%s report_id=%s bytes=%zu", dom->name, id,
			 gzlen);
out:
	if (rc)
		log_err("tlsrpt: cannot spool the report of %s: %s", dom->name, strerror(-rc));
	free(json);
	free(gz);
	free(job);
	return rc;
}

static void kick(struct tlsrpt *t, bool all)
{
	pthread_mutex_lock(&t->lock);
	t->kick = true;
	t->flush_all |= all;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* The aggregate [day.start, end) into reports; the next one starts at end. */
static void close_day(struct tlsrpt *t, int64_t end)
{
	size_t n = t->day.ndom;

	for (size_t i = 0; i < t->day.ndom; i++)
		spool_report(t, &t->day.dom[i], t->day.start, end);
	log_info("tlsrpt: closed the period from %" PRId64 " to %" PRId64 ": %zu reports", t->day.start,
		 end, n);
	tlsrpt_day_clear(&t->day);
	t->day.start = end;
	day_save(t);
	if (n)
		kick(t, false);
}

void tlsrpt_tick(struct tlsrpt *t)
{
	int64_t now = tlsrpt_now(t);

	if (t->fleet_socket)
		return;
	/* the day in the aggregate is over: report it up to midnight (UTC) */
	if (tlsrpt_day_start(now) > tlsrpt_day_start(t->day.start))
		close_day(t, tlsrpt_day_start(t->day.start) + TLSRPT_DAY_S);
	/* a clock that went more than a day past: the next period starts today */
	if (tlsrpt_day_start(now) > tlsrpt_day_start(t->day.start))
		t->day.start = tlsrpt_day_start(now);
	if (t->dirty && loop_now_ms() - t->saved_ms >= SAVE_EVERY_MS)
		day_save(t);
}

static void on_tick(struct loop_timer *lt)
{
	struct tlsrpt *t = (struct tlsrpt *)((char *)lt - offsetof(struct tlsrpt, tick));

	tlsrpt_tick(t);
	loop_timer_arm(t->loop, &t->tick, TICK_MS);
}

int tlsrpt_flush(struct tlsrpt *t)
{
	int64_t now = tlsrpt_now(t);

	if (!t->fleet_socket && t->day.ndom && now > t->day.start)
		close_day(t, now);
	kick(t, true);
	return 0;
}

/* MTA-STS's policy as RFC 8460 4.4 wants the policy-string: its lines. */
static char *sts_policy_string(struct tlsrpt *t, const char *domain)
{
	struct policy_sts_entry *e = NULL;
	char *s = NULL;
	size_t len = 0;
	FILE *f;

	if (!t->o.sts || policy_sts_cache_get(sts_fetch_cache(t->o.sts), domain, &e, NULL) || !e)
		return NULL;
	f = open_memstream(&s, &len);
	if (f) {
		fprintf(f, "version: STSv1\nmode: %s\n", policy_sts_mode_name(e->pol.mode));
		for (size_t i = 0; i < e->pol.nmx; i++)
			fprintf(f, "mx: %s\n", e->pol.mx[i]);
		fprintf(f, "max_age: %u", e->pol.max_age);
		if (fclose(f)) {
			free(s);
			s = NULL;
		}
	}
	policy_sts_entry_put(e);
	return s;
}

void tlsrpt_sink(const struct report_outcome *o, void *ctx)
{
	struct tlsrpt *t = ctx;
	char *ps = NULL;
	int rc;

	if (o->dir != REPORT_OUTBOUND || !o->domain[0])
		return;
	if (t->fleet_socket) {
		pthread_mutex_lock(&t->lock);
		if (t->fleet_n < TLSRPT_FLEET_QUEUE) {
			t->fleet_q[t->fleet_n++] = *o;
			t->kick = true;
			pthread_cond_signal(&t->cond);
		} else {
			t->st.datagram_errors++;
		}
		pthread_mutex_unlock(&t->lock);
		return;
	}
	tlsrpt_tick(t);
	if (o->policy == REPORT_POLICY_STS)
		ps = sts_policy_string(t, o->domain);
	else if (o->policy == REPORT_POLICY_DANE && o->policy_detail[0])
		ps = strdup(o->policy_detail); /* the TLSA records as the verdict named them */
	rc = tlsrpt_day_add(&t->day, o, ps);
	free(ps);
	if (rc == -ENOSPC)
		log_debug("tlsrpt: %zu domains today: %s not counted", t->day.ndom, o->domain);
	else if (rc)
		log_warn("tlsrpt: cannot count a session to %s: %s", o->domain, strerror(-rc));
	else
		t->dirty = true;
}

/* ---- 5.3.1 exemptions ---------------------------------------------------------------------- */

int tlsrpt_exempt_add(struct tlsrpt *t, const char *rcpt, char token[TLSRPT_TOKEN_LEN + 1])
{
	unsigned char r[TLSRPT_TOKEN_LEN / 2];
	int64_t now = tlsrpt_now(t);
	size_t j = 0;
	int rc = -ENOSPC;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -EIO;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(token + 2 * i, 3, "%02x", r[i]);
	pthread_mutex_lock(&t->lock);
	/* drop the expired first */
	for (size_t i = 0; i < t->nexempt; i++)
		if (t->exempt[i].expires > now)
			t->exempt[j++] = t->exempt[i];
	t->nexempt = j;
	if (t->nexempt < TLSRPT_EXEMPT_MAX) {
		struct tlsrpt_exemption *x = &t->exempt[t->nexempt++];

		snprintf(x->token, sizeof(x->token), "%s", token);
		snprintf(x->rcpt, sizeof(x->rcpt), "%s", rcpt);
		x->expires = now + EXEMPT_LIFE_S;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

bool tlsrpt_exempt(struct tlsrpt *t, const char *mail_from, const char *rcpt)
{
	const char *at, *fat = strrchr(mail_from, '@');
	size_t llen, flen = strlen(mail_from);
	char token[TLSRPT_TOKEN_LEN + 1];
	int64_t now;
	bool ok = false;

	if (!t || !t->sender[0])
		return false;
	at = strrchr(t->sender, '@');
	if (!at || !fat)
		return false;
	llen = (size_t)(at - t->sender);
	/* SENDER_LOCAL "+" TOKEN "@" SENDER_DOMAIN, exactly */
	if (flen != llen + 1 + TLSRPT_TOKEN_LEN + strlen(at) ||
	    strncasecmp(mail_from, t->sender, llen) || mail_from[llen] != '+' ||
	    strcasecmp(fat, at) || fat != mail_from + llen + 1 + TLSRPT_TOKEN_LEN)
		return false;
	memcpy(token, mail_from + llen + 1, TLSRPT_TOKEN_LEN);
	token[TLSRPT_TOKEN_LEN] = '\0';
	now = tlsrpt_now(t);
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nexempt && !ok; i++) {
		const struct tlsrpt_exemption *x = &t->exempt[i];

		ok = x->expires > now && !CRYPTO_memcmp(x->token, token, TLSRPT_TOKEN_LEN) &&
		     !strcasecmp(x->rcpt, rcpt);
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

/* ---- life ----------------------------------------------------------------------------------- */

void tlsrpt_status_get(struct tlsrpt *t, struct tlsrpt_status *st)
{
	DIR *d;
	struct dirent *de;

	pthread_mutex_lock(&t->lock);
	*st = t->st;
	pthread_mutex_unlock(&t->lock);
	st->fleet = t->fleet_socket != NULL;
	st->day_start = t->day.start;
	st->domains = t->day.ndom;
	st->sessions = st->failures = 0;
	for (size_t i = 0; i < t->day.ndom; i++)
		for (size_t j = 0; j < t->day.dom[i].npol; j++) {
			st->sessions += t->day.dom[i].pol[j].ok + t->day.dom[i].pol[j].failed;
			st->failures += t->day.dom[i].pol[j].failed;
		}
	st->spooled = 0;
	d = opendir(t->spool);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 4 && !strcmp(de->d_name + n - 4, ".job"))
			st->spooled++;
	}
	if (d)
		closedir(d);
}

static char *dup_opt(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

void tlsrpt_free(struct tlsrpt *t)
{
	if (!t)
		return;
	if (t->thread_started) {
		pthread_mutex_lock(&t->lock);
		t->stop = true;
		pthread_cond_signal(&t->cond);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
	}
	if (t->loop)
		loop_timer_disarm(t->loop, &t->tick);
	if (t->dir && !t->fleet_socket && (t->dirty || t->day.ndom))
		day_save(t);
	tlsrpt_day_clear(&t->day);
	EVP_PKEY_free(t->dkim);
	SSL_CTX_free(t->ssl);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t->fleet_q);
	free(t->fleet_cache);
	free(t->dir);
	free(t->spool);
	free(t->org);
	free(t->contact);
	free(t->submitter);
	free(t->sender);
	free(t->submission);
	free(t->dkim_selector);
	free(t->dkim_domain);
	free(t->nameserver);
	free(t->ca_file);
	free(t->fleet_socket);
	free(t);
}

static int day_load(struct tlsrpt *t)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/day", t->dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap ? 2 * cap : 65536);

			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = cap ? 2 * cap : 65536;
		}
		size_t n = fread(buf + len, 1, cap - len, f);

		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	rc = tlsrpt_day_load(&t->day, buf, len);
	if (rc == -EINVAL) {
		/* keep the broken file for a look; start afresh */
		char bad[4200];

		snprintf(bad, sizeof(bad), "%s.bad", path);
		log_err("tlsrpt: %s is malformed: kept as %s, counting starts afresh", path, bad);
		if (rename(path, bad))
			log_warn("tlsrpt: rename %s: %s", path, strerror(errno));
		rc = 0;
	} else if (!rc) {
		log_info("tlsrpt: day counts restored from %s: %zu domains since %" PRId64, path,
			 t->day.ndom, t->day.start);
	}
out:
	fclose(f);
	free(buf);
	return rc;
}

int tlsrpt_new(struct loop *l, const struct tlsrpt_opts *o, struct tlsrpt **out)
{
	struct tlsrpt *t = calloc(1, sizeof(*t));
	char why[256];
	int rc;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	t->o = *o;
	t->loop = l;
	loop_timer_init(&t->tick, on_tick);
	t->dir = strdup(o->dir);
	t->org = strdup(o->org && *o->org ? o->org : o->submitter);
	t->contact = strdup(o->contact && *o->contact ? o->contact : "postmaster");
	t->submitter = strdup(o->submitter);
	t->sender = strdup(o->sender && *o->sender ? o->sender : "");
	t->submission = dup_opt(o->submission);
	t->dkim_selector = dup_opt(o->dkim_selector);
	t->nameserver = dup_opt(o->nameserver);
	t->ca_file = dup_opt(o->ca_file);
	t->fleet_socket = dup_opt(o->fleet_socket);
	if (o->dkim_domain && *o->dkim_domain)
		t->dkim_domain = strdup(o->dkim_domain);
	else if (strchr(t->sender ? t->sender : "", '@'))
		t->dkim_domain = strdup(strchr(t->sender, '@') + 1);
	if (asprintf(&t->spool, "%s/spool", o->dir) < 0)
		t->spool = NULL;
	if (!t->dir || !t->org || !t->contact || !t->submitter || !t->sender || !t->spool) {
		rc = -ENOMEM;
		goto fail;
	}
	if (!t->o.timeout_s)
		t->o.timeout_s = 30;
	if (!t->o.retry_min_s)
		t->o.retry_min_s = 300;
	if (!t->o.give_up_s)
		t->o.give_up_s = 24 * 3600;
	if (t->fleet_socket) {
		t->fleet_q = calloc(TLSRPT_FLEET_QUEUE, sizeof(*t->fleet_q));
		if (!t->fleet_q) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	if ((mkdir(t->dir, 0750) && errno != EEXIST) || (mkdir(t->spool, 0750) && errno != EEXIST)) {
		rc = -errno;
		log_err("tlsrpt: cannot create %s: %s", t->spool, strerror(errno));
		goto fail;
	}
	tlsrpt_day_init(&t->day, tlsrpt_day_start(tlsrpt_now(t)));
	t->day.max_domains = o->max_domains;
	rc = day_load(t);
	if (rc) {
		log_err("tlsrpt: cannot read %s/day: %s", t->dir, strerror(-rc));
		goto fail;
	}
	t->day.max_domains = o->max_domains;
	if (t->dkim_selector && o->dkim_key && *o->dkim_key) {
		rc = dkim_key_load(o->dkim_key, &t->dkim, why, sizeof(why));
		if (rc)
			log_err("tlsrpt: DKIM key: %s: mailto: reports are not sent", why);
	} else if (!t->fleet_socket) {
		log_warn("tlsrpt: no tlsrpt_dkim_key/tlsrpt_dkim_selector: mailto: reports are "
			 "not sent (RFC 8460 5.3 asks for DKIM-signed reports)");
	}
	t->ssl = SSL_CTX_new(TLS_client_method());
	if (!t->ssl) {
		rc = -ENOMEM;
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ssl, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
	if (t->ca_file ? SSL_CTX_load_verify_locations(t->ssl, t->ca_file, NULL) != 1
		       : SSL_CTX_set_default_verify_paths(t->ssl) != 1)
		log_warn("tlsrpt: cannot load CA roots %s: https: reports will fail",
			 t->ca_file ? t->ca_file : "(default)");
	/* a day left over from before the restart is closed now (tlsrpt_tick) */
	tlsrpt_tick(t);
	rc = pthread_create(&t->thread, NULL, tlsrpt_send_main, t);
	if (rc) {
		rc = -rc;
		goto fail;
	}
	t->thread_started = true;
	t->saved_ms = loop_now_ms();
	loop_timer_arm(l, &t->tick, TICK_MS);
	log_info("tlsrpt: %s dir=%s submitter=%s sender=%s submission=%s dkim=%s",
		 t->fleet_socket ? "fleet mode" : "reporting", t->dir, t->submitter,
		 t->sender[0] ? t->sender : "-", t->submission ? t->submission : "-",
		 t->dkim ? "yes" : "no");
	*out = t;
	return 0;
fail:
	tlsrpt_free(t);
	return rc;
}
