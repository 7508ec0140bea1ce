// SPDX-License-Identifier: GPL-2.0-only
/* TLS reporting (RFC 8460), the pure part: see report/tlsrpt.h. */
#include "report/tlsrpt.h"
#include "lib/jsonw.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#define DAY_MAGIC "tlsrpt-day v1"

/* ---- the TXT record (§3) ------------------------------------------------------------------ */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int rua_add(struct tlsrpt_record *r, const char *u, size_t n, char *why, size_t whylen)
{
	if (!n) {
		snprintf(why, whylen, "empty rua URI");
		return -EINVAL;
	}
	/* §3: "mailto:" or "https:"; anything else is not a place we can send to */
	if (!(n > 7 && !strncasecmp(u, "mailto:", 7)) && !(n > 8 && !strncasecmp(u, "https://", 8))) {
		snprintf(why, whylen, "rua URI \"%.*s\" is neither mailto: nor https:",
			 (int)(n < 80 ? n : 80), u);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f) {
			snprintf(why, whylen, "rua URI with a space or control character");
			return -EINVAL;
		}
	}
	if (n >= TLSRPT_URI_MAX) {
		snprintf(why, whylen, "rua URI longer than %d", TLSRPT_URI_MAX - 1);
		return -EINVAL;
	}
	if (r->nrua == TLSRPT_RUA_MAX)
		return 0; /* kept the first ones; the caller logs nothing for a long list */
	memcpy(r->rua[r->nrua], u, n);
	r->rua[r->nrua][n] = '\0';
	r->nrua++;
	return 0;
}

int tlsrpt_record_parse(const char *txt, size_t len, struct tlsrpt_record *r, char *why,
			size_t whylen)
{
	static const char ver[] = "v=TLSRPTv1";
	bool have_rua = false;
	size_t i = sizeof(ver) - 1;
	int rc;

	memset(r, 0, sizeof(*r));
	/* Records not beginning with the version are discarded (§3), case-sensitive (%s) */
	if (len < i || memcmp(txt, ver, i) || (len > i && txt[i] != ';' && !is_wsp(txt[i]))) {
		snprintf(why, whylen, "not a v=TLSRPTv1 record");
		return -ENOENT;
	}
	for (;;) {
		size_t name, nlen, val, vlen;

		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break;
		if (txt[i] != ';') {
			snprintf(why, whylen, "expected ';' at offset %zu", i);
			return -EINVAL;
		}
		i++;
		while (i < len && is_wsp(txt[i]))
			i++;
		if (i == len)
			break; /* a trailing delimiter is allowed */
		name = i;
		while (i < len && (isalnum((unsigned char)txt[i]) || txt[i] == '_' || txt[i] == '-' ||
				   txt[i] == '.'))
			i++;
		nlen = i - name;
		if (!nlen || i == len || txt[i] != '=') {
			snprintf(why, whylen, "malformed field at offset %zu", name);
			return -EINVAL;
		}
		val = ++i;
		while (i < len && txt[i] != ';')
			i++;
		vlen = i - val;
		while (vlen && is_wsp(txt[val + vlen - 1]))
			vlen--;
		if (nlen != 3 || memcmp(txt + name, "rua", 3))
			continue; /* an extension: ignored */
		if (have_rua) {
			snprintf(why, whylen, "more than one rua field");
			return -EINVAL;
		}
		have_rua = true;
		/* rua = uri *(*WSP "," *WSP uri) */
		for (size_t p = val, end = val + vlen; p <= end;) {
			size_t q = p, n;

			while (q < end && txt[q] != ',')
				q++;
			n = q - p;
			while (n && is_wsp(txt[p]))
				p++, n--;
			while (n && is_wsp(txt[p + n - 1]))
				n--;
			rc = rua_add(r, txt + p, n, why, whylen);
			if (rc)
				return rc;
			p = q + 1;
		}
	}
	if (!have_rua) {
		snprintf(why, whylen, "no rua field");
		return -EINVAL;
	}
	return 0;
}

struct answer_walk {
	unsigned int n;			/* TLSRPTv1 records seen */
	struct tlsrpt_record *r;
	char *txt;
	size_t txtlen;
	int rc;
	char *why;
	size_t whylen;
};

static int answer_txt(const char *txt, size_t len, void *arg)
{
	struct answer_walk *w = arg;
	struct tlsrpt_record r;
	char why[160];
	int rc = tlsrpt_record_parse(txt, len, &r, why, sizeof(why));

	if (rc == -ENOENT)
		return 0; /* another TXT record (SPF...) at the name */
	if (w->n++)
		return 0;
	w->rc = rc;
	if (rc) {
		snprintf(w->why, w->whylen, "%s", why);
		return 0;
	}
	*w->r = r;
	if (w->txt)
		snprintf(w->txt, w->txtlen, "%.*s", (int)len, txt);
	return 0;
}

int tlsrpt_record_answer(const unsigned char *msg, size_t len, struct tlsrpt_record *r,
			 char *txt, size_t txtlen, char *why, size_t whylen)
{
	struct answer_walk w = { .r = r, .txt = txt, .txtlen = txtlen, .why = why, .whylen = whylen };
	int rc;

	memset(r, 0, sizeof(*r));
	if (txt && txtlen)
		txt[0] = '\0';
	rc = policy_rpt_txt_answer(msg, len, answer_txt, &w);
	if (rc == -ENOENT) {
		snprintf(why, whylen, "no TXT record");
		return -ENOENT;
	}
	if (rc == -EAGAIN) {
		snprintf(why, whylen, "TXT lookup: SERVFAIL");
		return -EAGAIN;
	}
	if (rc) {
		snprintf(why, whylen, "TXT lookup: malformed or refused answer");
		return -EINVAL;
	}
	if (!w.n) {
		snprintf(why, whylen, "no v=TLSRPTv1 TXT record");
		return -ENOENT;
	}
	if (w.n > 1) {
		/* §3: "If the number of resulting records is not one, senders MUST assume the
		 * recipient domain does not implement TLSRPT." */
		snprintf(why, whylen, "%u v=TLSRPTv1 TXT records (exactly one allowed)", w.n);
		memset(r, 0, sizeof(*r));
		return -ENOENT;
	}
	return w.rc;
}

/* ---- the day ------------------------------------------------------------------------------ */

int64_t tlsrpt_day_start(int64_t t)
{
	int64_t d = t / TLSRPT_DAY_S;

	if (t < 0 && t % TLSRPT_DAY_S)
		d--;
	return d * TLSRPT_DAY_S;
}

void tlsrpt_day_init(struct tlsrpt_day *d, int64_t start)
{
	memset(d, 0, sizeof(*d));
	d->start = start;
}

void tlsrpt_domain_free(struct tlsrpt_domain *dom)
{
	for (size_t i = 0; i < dom->npol; i++) {
		free(dom->pol[i].string);
		free(dom->pol[i].fail);
	}
	free(dom->pol);
	dom->pol = NULL;
	dom->npol = 0;
}

void tlsrpt_day_clear(struct tlsrpt_day *d)
{
	for (size_t i = 0; i < d->ndom; i++)
		tlsrpt_domain_free(&d->dom[i]);
	free(d->dom);
	d->dom = NULL;
	d->ndom = 0;
}

/* Index of domain in the sorted array, or where it would go (*found false). */
static size_t dom_index(const struct tlsrpt_day *d, const char *name, bool *found)
{
	size_t lo = 0, hi = d->ndom;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(d->dom[mid].name, name);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct tlsrpt_domain *tlsrpt_day_find(struct tlsrpt_day *d, const char *domain)
{
	bool found;
	size_t i = dom_index(d, domain, &found);

	return found ? &d->dom[i] : NULL;
}

static struct tlsrpt_domain *dom_get(struct tlsrpt_day *d, const char *name, int *err)
{
	size_t max = d->max_domains ? d->max_domains : 100000;
	struct tlsrpt_domain *nd;
	bool found;
	size_t i = dom_index(d, name, &found);

	if (found)
		return &d->dom[i];
	if (d->ndom >= max) {
		*err = -ENOSPC;
		return NULL;
	}
	nd = realloc(d->dom, (d->ndom + 1) * sizeof(*nd));
	if (!nd) {
		*err = -ENOMEM;
		return NULL;
	}
	d->dom = nd;
	memmove(&nd[i + 1], &nd[i], (d->ndom - i) * sizeof(*nd));
	memset(&nd[i], 0, sizeof(*nd));
	snprintf(nd[i].name, sizeof(nd[i].name), "%s", name);
	d->ndom++;
	return &nd[i];
}

static struct tlsrpt_policy *pol_get(struct tlsrpt_domain *dom, uint8_t type, const char *string)
{
	struct tlsrpt_policy *np;

	for (size_t i = 0; i < dom->npol; i++)
		if (dom->pol[i].type == type && !strcmp(dom->pol[i].string, string))
			return &dom->pol[i];
	np = realloc(dom->pol, (dom->npol + 1) * sizeof(*np));
	if (!np)
		return NULL;
	dom->pol = np;
	np = &dom->pol[dom->npol];
	memset(np, 0, sizeof(*np));
	np->type = type;
	np->string = strdup(string);
	if (!np->string)
		return NULL;
	dom->npol++;
	return np;
}

static struct tlsrpt_fail *fail_get(struct tlsrpt_policy *p, uint8_t result, const char *sip,
				    const char *rip, const char *mx)
{
	struct tlsrpt_fail *nf;

	for (size_t i = 0; i < p->nfail; i++) {
		nf = &p->fail[i];
		if (nf->result == result && !strcmp(nf->sending_ip, sip) &&
		    !strcmp(nf->receiving_ip, rip) && !strcmp(nf->mx, mx))
			return nf;
	}
	nf = realloc(p->fail, (p->nfail + 1) * sizeof(*nf));
	if (!nf)
		return NULL;
	p->fail = nf;
	nf = &p->fail[p->nfail++];
	memset(nf, 0, sizeof(*nf));
	nf->result = result;
	snprintf(nf->sending_ip, sizeof(nf->sending_ip), "%s", sip);
	snprintf(nf->receiving_ip, sizeof(nf->receiving_ip), "%s", rip);
	snprintf(nf->mx, sizeof(nf->mx), "%s", mx);
	return nf;
}

static uint8_t policy_type_of(const struct report_outcome *o)
{
	switch (o->policy) {
	case REPORT_POLICY_DANE:
		return POLICY_RPT_TLSA;
	case REPORT_POLICY_STS:
		return POLICY_RPT_STS;
	default:
		return POLICY_RPT_NPOLICY;
	}
}

int tlsrpt_day_add(struct tlsrpt_day *d, const struct report_outcome *o,
		   const char *policy_string)
{
	bool failed = o->rpt_result >= 0 && o->rpt_result < POLICY_RPT_NRESULT;
	struct tlsrpt_domain *dom;
	struct tlsrpt_policy *p;
	struct tlsrpt_fail *x;
	int err = 0;

	if (o->dir != REPORT_OUTBOUND || !o->domain[0] || o->result >= REPORT_RESULT_N)
		return 0;
	/* Refused by the admin's own table without a destination policy failing: the sending
	 * side's choice, nothing the domain's policy said (no result type describes it). */
	if (o->result == REPORT_POLICY_REFUSED && !failed)
		return 0;
	dom = dom_get(d, o->domain, &err);
	if (!dom)
		return err;
	p = pol_get(dom, policy_type_of(o), policy_string ? policy_string : "");
	if (!p)
		return -ENOMEM;
	if (!failed) {
		p->ok++;
		return 0;
	}
	x = fail_get(p, (uint8_t)o->rpt_result, o->local_ip, o->peer_ip, o->mx);
	if (!x)
		return -ENOMEM;
	x->count++;
	p->failed++;
	return 0;
}

int tlsrpt_day_take(struct tlsrpt_day *d, size_t i, struct tlsrpt_domain *out)
{
	if (i >= d->ndom)
		return -ENOENT;
	*out = d->dom[i];
	memmove(&d->dom[i], &d->dom[i + 1], (d->ndom - i - 1) * sizeof(*d->dom));
	d->ndom--;
	return 0;
}

/* ---- the day file ------------------------------------------------------------------------- */

/* A field on one line: '%', tab, newline and other controls as %XX. */
static void put_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c == '%' || c == 0x7f)
			fprintf(f, "%%%02X", c);
		else
			fputc(c, f);
	}
}

int tlsrpt_day_save(const struct tlsrpt_day *d, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "%s %" PRId64 "\n", DAY_MAGIC, d->start);
	for (size_t i = 0; i < d->ndom; i++) {
		const struct tlsrpt_domain *dom = &d->dom[i];

		fputs("D\t", f);
		put_esc(f, dom->name);
		fputc('\n', f);
		for (size_t j = 0; j < dom->npol; j++) {
			const struct tlsrpt_policy *p = &dom->pol[j];

			fprintf(f, "P\t%u\t%" PRIu64 "\t%" PRIu64 "\t", p->type, p->ok, p->failed);
			put_esc(f, p->string);
			fputc('\n', f);
			for (size_t k = 0; k < p->nfail; k++) {
				const struct tlsrpt_fail *x = &p->fail[k];

				fprintf(f, "F\t%u\t%" PRIu64 "\t", x->result, x->count);
				put_esc(f, x->sending_ip);
				fputc('\t', f);
				put_esc(f, x->receiving_ip);
				fputc('\t', f);
				put_esc(f, x->mx);
				fputc('\n', f);
			}
		}
	}
	if (ferror(f)) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescape field [s, s+n) into out (size cap). 0 or -EINVAL. */
static int get_esc(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int h, l;

			if (i + 2 >= n)
				return -EINVAL;
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0 || !(h * 16 + l))
				return -EINVAL;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= cap)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static int get_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (!n || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (x > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

#define LOAD_FIELDS 6

/* Split line into tab-separated fields. Number of fields, or -EINVAL for too many. */
static int split(const char *line, size_t n, const char *f[LOAD_FIELDS], size_t fl[LOAD_FIELDS])
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || line[i] == '\t') {
			if (k == LOAD_FIELDS)
				return -EINVAL;
			f[k] = line + start;
			fl[k++] = i - start;
			start = i + 1;
		}
	}
	return k;
}

static int load_line(struct tlsrpt_day *d, const char *line, size_t n,
		     struct tlsrpt_domain **dom, struct tlsrpt_policy **pol)
{
	const char *f[LOAD_FIELDS];
	size_t fl[LOAD_FIELDS];
	int nf = split(line, n, f, fl), err = 0;
	uint64_t a, b, c;
	char *s;

	if (nf < 1 || fl[0] != 1)
		return -EINVAL;
	switch (f[0][0]) {
	case 'D': {
		char name[REPORT_NAME_MAX];

		if (nf != 2 || get_esc(f[1], fl[1], name, sizeof(name)) || !name[0])
			return -EINVAL;
		if (tlsrpt_day_find(d, name))
			return -EINVAL; /* a domain twice */
		*dom = dom_get(d, name, &err);
		*pol = NULL;
		return *dom ? 0 : err;
	}
	case 'P':
		if (nf != 5 || !*dom || get_u64(f[1], fl[1], POLICY_RPT_NPOLICY, &a) ||
		    get_u64(f[2], fl[2], UINT64_MAX, &b) || get_u64(f[3], fl[3], UINT64_MAX, &c))
			return -EINVAL;
		s = malloc(fl[4] + 1);
		if (!s)
			return -ENOMEM;
		if (get_esc(f[4], fl[4], s, fl[4] + 1)) {
			free(s);
			return -EINVAL;
		}
		*pol = pol_get(*dom, (uint8_t)a, s);
		free(s);
		if (!*pol)
			return -ENOMEM;
		if ((*pol)->ok || (*pol)->failed || (*pol)->nfail)
			return -EINVAL; /* the same policy twice */
		(*pol)->ok = b;
		(*pol)->failed = c;
		return 0;
	case 'F': {
		char sip[64], rip[64], mx[REPORT_NAME_MAX];
		struct tlsrpt_fail *x;

		if (nf != 6 || !*pol || get_u64(f[1], fl[1], POLICY_RPT_NRESULT - 1, &a) ||
		    get_u64(f[2], fl[2], UINT64_MAX, &b) || get_esc(f[3], fl[3], sip, sizeof(sip)) ||
		    get_esc(f[4], fl[4], rip, sizeof(rip)) || get_esc(f[5], fl[5], mx, sizeof(mx)))
			return -EINVAL;
		x = fail_get(*pol, (uint8_t)a, sip, rip, mx);
		if (!x)
			return -ENOMEM;
		if (x->count)
			return -EINVAL;
		x->count = b;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

int tlsrpt_day_load(struct tlsrpt_day *d, const char *buf, size_t len)
{
	struct tlsrpt_day nd;
	struct tlsrpt_domain *dom = NULL;
	struct tlsrpt_policy *pol = NULL;
	const char *nl = memchr(buf, '\n', len);
	size_t off;
	int64_t start = 0;
	int rc = -EINVAL;
	char head[64];
	uint64_t v;

	if (!nl || (size_t)(nl - buf) >= sizeof(head) || (size_t)(nl - buf) <= sizeof(DAY_MAGIC))
		return -EINVAL;
	memcpy(head, buf, (size_t)(nl - buf));
	head[nl - buf] = '\0';
	if (strncmp(head, DAY_MAGIC " ", sizeof(DAY_MAGIC)) ||
	    get_u64(head + sizeof(DAY_MAGIC), strlen(head + sizeof(DAY_MAGIC)), INT64_MAX, &v) ||
	    v % TLSRPT_DAY_S)
		return -EINVAL;
	start = (int64_t)v;
	tlsrpt_day_init(&nd, start);
	nd.max_domains = d->max_domains;
	for (off = (size_t)(nl - buf) + 1; off < len;) {
		const char *e = memchr(buf + off, '\n', len - off);

		if (!e)
			goto fail; /* a cut last line: the file is not whole */
		rc = load_line(&nd, buf + off, (size_t)(e - (buf + off)), &dom, &pol);
		if (rc)
			goto fail;
		off = (size_t)(e - buf) + 1;
	}
	/* the counts must add up: failed equals the failure rows' sum */
	for (size_t i = 0; i < nd.ndom; i++) {
		for (size_t j = 0; j < nd.dom[i].npol; j++) {
			const struct tlsrpt_policy *p = &nd.dom[i].pol[j];
			uint64_t sum = 0;

			for (size_t k = 0; k < p->nfail; k++)
				sum += p->fail[k].count;
			if (sum != p->failed) {
				rc = -EINVAL;
				goto fail;
			}
		}
	}
	tlsrpt_day_clear(d);
	nd.max_domains = d->max_domains;
	*d = nd;
	return 0;
fail:
	tlsrpt_day_clear(&nd);
	return rc ? rc : -EINVAL;
}

/* ---- the report --------------------------------------------------------------------------- */

void tlsrpt_time_rfc3339(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void tlsrpt_report_id(const struct tlsrpt_meta *m, const char *domain, char *buf, size_t len)
{
	char t[32];

	tlsrpt_time_rfc3339(m->start, t, sizeof(t));
	snprintf(buf, len, "%s_%s@%s", t, domain, m->submitter);
}

void tlsrpt_filename(const struct tlsrpt_meta *m, const char *domain, char *buf, size_t len)
{
	snprintf(buf, len, "%s!%s!%" PRId64 "!%" PRId64 ".json.gz", m->submitter, domain, m->start,
		 m->end - 1);
}

/* The policy string's lines as a JSON array. */
static void json_lines(struct jsonw *w, const char *s)
{
	jsonw_start_array(w);
	while (*s) {
		size_t n = strcspn(s, "\n");
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1),
			 s);
		if (n)
			jsonw_string(w, line);
		s += n;
		if (*s)
			s++;
	}
	jsonw_end_array(w);
}

/* MTA-STS: the policy's "mx:" patterns are the mx-host list (§4.4). */
static void json_sts_mx(struct jsonw *w, const char *s)
{
	jsonw_start_array(w);
	while (*s) {
		size_t n = strcspn(s, "\n");

		if (n > 3 && !strncmp(s, "mx:", 3)) {
			char v[REPORT_NAME_MAX];
			size_t b = 3;

			while (b < n && is_wsp(s[b]))
				b++;
			snprintf(v, sizeof(v), "%.*s", (int)(n - b), s + b);
			for (size_t k = strlen(v); k && (is_wsp(v[k - 1]) || v[k - 1] == '\r'); k--)
				v[k - 1] = '\0';
			if (v[0])
				jsonw_string(w, v);
		}
		s += n;
		if (*s)
			s++;
	}
	jsonw_end_array(w);
}

static const char *type_name(uint8_t t)
{
	return t == POLICY_RPT_NPOLICY ? "no-policy-found"
				       : policy_rpt_policy_name((enum policy_rpt_policy)t);
}

int tlsrpt_json(const struct tlsrpt_meta *m, const struct tlsrpt_domain *dom, char **json,
		size_t *len)
{
	FILE *f = open_memstream(json, len);
	struct jsonw *w;
	char t[32], id[600];

	if (!f)
		return -ENOMEM;
	w = jsonw_new(f);
	if (!w) {
		fclose(f);
		free(*json);
		*json = NULL;
		return -ENOMEM;
	}
	jsonw_start_object(w);
	jsonw_string_field(w, "organization-name", m->org);
	jsonw_name(w, "date-range");
	jsonw_start_object(w);
	tlsrpt_time_rfc3339(m->start, t, sizeof(t));
	jsonw_string_field(w, "start-datetime", t);
	tlsrpt_time_rfc3339(m->end - 1, t, sizeof(t));
	jsonw_string_field(w, "end-datetime", t);
	jsonw_end_object(w);
	jsonw_string_field(w, "contact-info", m->contact);
	tlsrpt_report_id(m, dom->name, id, sizeof(id));
	jsonw_string_field(w, "report-id", id);
	jsonw_name(w, "policies");
	jsonw_start_array(w);
	for (size_t i = 0; i < dom->npol; i++) {
		const struct tlsrpt_policy *p = &dom->pol[i];

		jsonw_start_object(w);
		jsonw_name(w, "policy");
		jsonw_start_object(w);
		jsonw_string_field(w, "policy-type", type_name(p->type));
		if (p->type != POLICY_RPT_NPOLICY) {
			jsonw_name(w, "policy-string");
			json_lines(w, p->string);
		}
		jsonw_string_field(w, "policy-domain", dom->name);
		if (p->type == POLICY_RPT_STS) {
			jsonw_name(w, "mx-host");
			json_sts_mx(w, p->string);
		}
		jsonw_end_object(w);
		jsonw_name(w, "summary");
		jsonw_start_object(w);
		jsonw_u64_field(w, "total-successful-session-count", p->ok);
		jsonw_u64_field(w, "total-failure-session-count", p->failed);
		jsonw_end_object(w);
		if (p->nfail) {
			jsonw_name(w, "failure-details");
			jsonw_start_array(w);
			for (size_t k = 0; k < p->nfail; k++) {
				const struct tlsrpt_fail *x = &p->fail[k];

				jsonw_start_object(w);
				jsonw_string_field(w, "result-type", policy_rpt_result_name(
					(enum policy_rpt_result)x->result));
				if (x->sending_ip[0])
					jsonw_string_field(w, "sending-mta-ip", x->sending_ip);
				if (x->mx[0])
					jsonw_string_field(w, "receiving-mx-hostname", x->mx);
				if (x->receiving_ip[0])
					jsonw_string_field(w, "receiving-ip", x->receiving_ip);
				jsonw_u64_field(w, "failed-session-count", x->count);
				jsonw_end_object(w);
			}
			jsonw_end_array(w);
		}
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	if (ferror(f) | fclose(f)) {
		free(*json);
		*json = NULL;
		return -ENOMEM;
	}
	return 0;
}

int tlsrpt_gzip(const void *buf, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream z = { 0 };
	unsigned char *o;
	uLong cap;
	int rc;

	*out = NULL;
	/* windowBits 15 + 16: a gzip wrapper (RFC 1952), which is what §5.3 asks for */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)len) + 32;
	o = malloc(cap);
	if (!o) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)buf;
	z.avail_in = (uInt)len;
	z.next_out = o;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(o);
		return -EIO;
	}
	*out = o;
	return 0;
}

/* ---- fleet datagram ----------------------------------------------------------------------- */

int tlsrpt_datagram_code(enum policy_rpt_result r)
{
	static const int code[POLICY_RPT_NRESULT] = {
		[POLICY_RPT_STARTTLS_NOT_SUPPORTED] = 201,
		[POLICY_RPT_CERTIFICATE_HOST_MISMATCH] = 202,
		[POLICY_RPT_CERTIFICATE_NOT_TRUSTED] = 203,
		[POLICY_RPT_CERTIFICATE_EXPIRED] = 204,
		[POLICY_RPT_VALIDATION_FAILURE] = 205,
		[POLICY_RPT_STS_POLICY_FETCH_ERROR] = 301,
		[POLICY_RPT_STS_POLICY_INVALID] = 302,
		[POLICY_RPT_STS_WEBPKI_INVALID] = 303,
		[POLICY_RPT_TLSA_INVALID] = 304,
		[POLICY_RPT_DNSSEC_INVALID] = 305,
		[POLICY_RPT_DANE_REQUIRED] = 306,
	};

	return (unsigned int)r < POLICY_RPT_NRESULT ? code[r] : 205;
}

int tlsrpt_datagram(const struct report_outcome *o, const char *record, const char *policy_string,
		    char **buf, size_t *len)
{
	bool failed = o->rpt_result >= 0 && o->rpt_result < POLICY_RPT_NRESULT;
	uint8_t type = policy_type_of(o);
	FILE *f;
	struct jsonw *w;

	if (o->dir != REPORT_OUTBOUND || !o->domain[0])
		return -EINVAL;
	f = open_memstream(buf, len);
	if (!f)
		return -ENOMEM;
	w = jsonw_new(f);
	if (!w) {
		fclose(f);
		free(*buf);
		return -ENOMEM;
	}
	jsonw_start_object(w);
	jsonw_string_field(w, "d", o->domain);
	jsonw_string_field(w, "pr", record ? record : "");
	jsonw_name(w, "policies");
	jsonw_start_array(w);
	jsonw_start_object(w);
	jsonw_u64_field(w, "policy-type",
			type == POLICY_RPT_TLSA ? 1 : type == POLICY_RPT_STS ? 2 : 9);
	jsonw_string_field(w, "policy-domain", o->domain);
	if (policy_string && *policy_string) {
		jsonw_name(w, "policy-string");
		json_lines(w, policy_string);
		if (type == POLICY_RPT_STS) {
			jsonw_name(w, "mx-host");
			json_sts_mx(w, policy_string);
		}
	}
	if (failed) {
		jsonw_name(w, "failure-details");
		jsonw_start_array(w);
		jsonw_start_object(w);
		jsonw_u64_field(w, "c", (uint64_t)tlsrpt_datagram_code(
				(enum policy_rpt_result)o->rpt_result));
		if (o->local_ip[0])
			jsonw_string_field(w, "s", o->local_ip);
		if (o->mx[0])
			jsonw_string_field(w, "n", o->mx);
		if (o->peer_ip[0])
			jsonw_string_field(w, "r", o->peer_ip);
		if (o->policy_detail[0])
			jsonw_string_field(w, "a", o->policy_detail);
		jsonw_end_object(w);
		jsonw_end_array(w);
	}
	jsonw_u64_field(w, "t", failed ? 1 : 0);
	jsonw_u64_field(w, "f", failed ? 1 : 0);
	jsonw_end_object(w);
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	if (ferror(f) | fclose(f)) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}
