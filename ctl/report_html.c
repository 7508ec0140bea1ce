// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlsgatectl report --html: the window report.c read, as one self-contained page -- inline CSS
 * and SVG, no script, nothing fetched (its Content-Security-Policy tells the browser so) -- for
 * an administrator deciding which rule to switch on.  Per direction: the share of mail encrypted
 * per day, the domains that are not encrypted, what a rule would change for each domain (and the
 * suggested line), refusals by RFC 8460 result type, monitor mode's would-be refusals, TLS
 * versions and ciphers.
 *
 * Every name on the page comes from the traffic -- a recipient domain is whatever a sender wrote
 * after the @, a host name, a cipher name -- and is written through put_text(), never as markup.
 * Every number says where it is in `report -j` (data-j: a JSON path, "*" summing over an array,
 * "#" an array's length, {"sub": [A, B]} a difference; data-js: a string; data-pct and data-bar:
 * the share A/B), so that a test compares the page with the JSON, number by number
 * (tests/lib/report_html_check.py).  Pure text generation: the caller owns the stream.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/report.h"
#include "lib/version.h"

#define HTML_DAY_H 140		/* the per-day chart: bar height for 100% */
#define HTML_DAY_W 22		/* ... one day's slot (HTML_DAY_W_FEW up to 16 days, each labelled) */
#define HTML_DAY_W_FEW 34
#define HTML_DAY_X 34		/* ... room for the axis labels */
#define HTML_HBAR_W 220		/* horizontal bars at 100% */
#define HTML_STACK_W 160	/* a domain's sessions, stacked */

static const char *const html_dir_key[2] = { "outbound", "inbound" };

/* A direction's domains and what the page sums over them. */
struct html_dir {
	bool shown;
	struct ctl_report_dom *dom;
	size_t n;
	uint64_t tot[POSTURE_NCTR];
	uint64_t *ver, *cip;		/* sessions per name index (POSTURE_NAMES) */
	uint64_t ver_other, cip_other;
};

struct html_ctx {
	FILE *f;
	const struct ctl_report_view *v;
	struct html_dir d[2];
};

/* ---- escaping -------------------------------------------------------------------------------- */

/* s as HTML text or as a double-quoted attribute's value: the characters that could end either
 * or start markup become references; control bytes (none in a posture file) become U+FFFD. */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				fputc(ch, f);
		}
	}
}

/* ---- paths into report -j ---------------------------------------------------------------- */

/* A place in report -j's JSON, kept as an open JSON array: `["outbound",3,"refused","total"`
 * (path_put closes it).  Names are JSON-escaped here and HTML-escaped when written. */
struct html_path {
	char s[1024];
	size_t n;
};

static void path_raw(struct html_path *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void path_raw(struct html_path *p, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (p->n >= sizeof(p->s))
		return;
	va_start(ap, fmt);
	k = vsnprintf(p->s + p->n, sizeof(p->s) - p->n, fmt, ap);
	va_end(ap);
	/* past the end: the path stays cut short (invalid JSON a checker refuses), never overflows */
	p->n = k < 0 ? sizeof(p->s) : p->n + (size_t)k;
	if (p->n > sizeof(p->s))
		p->n = sizeof(p->s);
}

static void path_key(struct html_path *p, const char *key)
{
	path_raw(p, ",\"");
	for (; *key; key++) {
		unsigned char ch = (unsigned char)*key;

		if (ch == '"' || ch == '\\')
			path_raw(p, "\\%c", ch);
		else if (ch < 0x20)
			path_raw(p, "\\u%04x", ch);
		else
			path_raw(p, "%c", ch);
	}
	path_raw(p, "\"");
}

/* [top: "days", "outbound", "inbound", "overflow"; then idx (-1: "*", -2: none)] */
static void path_init(struct html_path *p, const char *top, long idx)
{
	p->n = 0;
	path_raw(p, "[\"%s\"", top);
	if (idx >= 0)
		path_raw(p, ",%ld", idx);
	else if (idx == -1)
		path_raw(p, ",\"*\"");
}

/* A counter's keys: "cert", "self_signed" */
static void path_ctr(struct html_path *p, enum posture_ctr c)
{
	const struct posture_ctr_name *n = posture_ctr_name(c);

	if (n->group[0])
		path_key(p, n->group);
	path_key(p, n->key);
}

static void path_put(FILE *f, const struct html_path *p)
{
	put_text(f, p->s);
	fputc(']', f);
}

static void attr_path(FILE *f, const char *name, const struct html_path *p)
{
	fprintf(f, " %s=\"", name);
	path_put(f, p);
	fputc('"', f);
}

/* data-pct="[A,B]" (also data-bar) */
static void attr_pair(FILE *f, const char *name, const struct html_path *a,
		      const struct html_path *b)
{
	fprintf(f, " %s=\"[", name);
	path_put(f, a);
	fputc(',', f);
	path_put(f, b);
	fputs("]\"", f);
}

/* base + counter c */
static struct html_path path_plus(const struct html_path *base, enum posture_ctr c)
{
	struct html_path p = *base;

	path_ctr(&p, c);
	return p;
}

/* <TAG class="n" data-j="PATH">N</TAG> */
static void put_num(FILE *f, const char *tag, const struct html_path *p, uint64_t v)
{
	fprintf(f, "<%s class=\"n\"", tag);
	attr_path(f, "data-j", p);
	fprintf(f, ">%" PRIu64 "</%s>", v, tag);
}

static void td_ctr(FILE *f, const struct html_path *base, enum posture_ctr c, uint64_t v)
{
	struct html_path p = path_plus(base, c);

	put_num(f, "td", &p, v);
}

/* a - b, both counters of base */
static void td_sub(FILE *f, const struct html_path *base, enum posture_ctr a, enum posture_ctr b,
		   uint64_t va, uint64_t vb)
{
	struct html_path pa = path_plus(base, a), pb = path_plus(base, b);

	fputs("<td class=\"n\" data-j=\"{&quot;sub&quot;:[", f);
	path_put(f, &pa);
	fputc(',', f);
	path_put(f, &pb);
	fprintf(f, "]}\">%" PRIu64 "</td>", va >= vb ? va - vb : 0);
}

static double share(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* "71.4%" of a/b, or a dash when b is 0 */
static void put_pct(FILE *f, const char *tag, const struct html_path *a, const struct html_path *b,
		    uint64_t va, uint64_t vb)
{
	fprintf(f, "<%s class=\"n\"", tag);
	if (!vb) {
		fprintf(f, ">&#8211;</%s>", tag);
		return;
	}
	attr_pair(f, "data-pct", a, b);
	fprintf(f, ">%.1f%%</%s>", share(va, vb), tag);
}

/* <td data-js="PATH">text</td> (a dash, and class none, for a NULL or empty string) */
static void td_str(FILE *f, const char *cls, const struct html_path *p, const char *s)
{
	fprintf(f, "<td class=\"%s%s\"", cls, s && *s ? "" : " none");
	attr_path(f, "data-js", p);
	fputc('>', f);
	if (s && *s)
		put_text(f, s);
	else
		fputs("&#8212;", f);
	fputs("</td>", f);
}

/* ---- what the page sums ----------------------------------------------------------------- */

static int dir_collect(struct html_ctx *c, int d)
{
	struct html_dir *h = &c->d[d];

	h->shown = c->v->dir < 0 || c->v->dir == d;
	h->ver = calloc(POSTURE_NAMES, sizeof(*h->ver));
	h->cip = calloc(POSTURE_NAMES, sizeof(*h->cip));
	if (!h->ver || !h->cip)
		return -ENOMEM;
	if (!h->shown)
		return 0;
	h->dom = ctl_report_collect(c->v->win, (uint8_t)d, c->v->domain, &h->n);
	if (!h->dom)
		return -ENOMEM;
	for (size_t i = 0; i < h->n; i++) {
		const struct posture_domain *dom = h->dom[i].dom;

		for (int k = 0; k < POSTURE_NCTR; k++)
			h->tot[k] += h->dom[i].c[k];
		for (uint32_t j = 0; j < dom->nrow; j++) {
			const struct posture_row *r = &dom->row[j];

			for (uint8_t k = 0; k < r->nver; k++)
				h->ver[r->ver[k].name] += r->ver[k].n;
			for (uint8_t k = 0; k < r->ncip; k++)
				h->cip[r->cip[k].name] += r->cip[k].n;
			h->ver_other += r->ver_other;
			h->cip_other += r->cip_other;
		}
	}
	return 0;
}

static void dir_free(struct html_dir *h)
{
	free(h->dom);
	free(h->ver);
	free(h->cip);
}

/* ---- the page ------------------------------------------------------------------------------- */

static const char html_css[] =
	":root{--tls:#2e7d32;--weak:#f2a900;--plain:#c62828;--mute:#b0b0b0;--ink:#1d1d1d}\n"
	"body{font:14px/1.45 system-ui,'DejaVu Sans',sans-serif;color:var(--ink);"
	"max-width:1120px;margin:20px auto;padding:0 16px}\n"
	"h1{font-size:22px;margin:0 0 2px}h2{font-size:19px;margin:34px 0 8px;"
	"border-bottom:2px solid #ddd;padding-bottom:3px}h3{font-size:15px;margin:22px 0 4px}\n"
	"p{margin:4px 0}.sub,.note{color:#555}.note{font-size:12.5px;max-width:820px}\n"
	".tiles{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}\n"
	".tile{border:1px solid #ddd;border-radius:6px;padding:6px 12px;min-width:104px}\n"
	".tile .n{display:block;font-size:22px;font-weight:600;text-align:left}"
	".tile .k{color:#555;font-size:12px}\n"
	"table{border-collapse:collapse;margin:6px 0}\n"
	"th,td{border-bottom:1px solid #e6e6e6;padding:3px 8px;text-align:left;vertical-align:top}\n"
	"th{background:#f4f4f4;font-weight:600;font-size:12.5px}\n"
	".n{text-align:right;font-variant-numeric:tabular-nums}\n"
	".dom,.rule{font-family:'DejaVu Sans Mono',monospace;font-size:12.5px;word-break:break-all;"
	"min-width:18ch;max-width:300px;unicode-bidi:isolate}.rule{white-space:pre;tab-size:2;word-break:normal;max-width:none}\n"
	".none{color:#888}.good{color:var(--tls)}.bad{color:var(--plain)}\n"
	"svg text{font-size:10px;fill:#555}.axis{stroke:#ddd}\n"
	".tls{fill:var(--tls)}.weak{fill:var(--weak)}.plain{fill:var(--plain)}.mute{fill:var(--mute)}\n"
	".key span{margin-right:14px;font-size:12px}.key i{display:inline-block;width:10px;"
	"height:10px;margin-right:4px}\n"
	"details{margin:4px 0}summary{color:#555;font-size:12.5px}\n"
	"footer{margin:30px 0 10px;color:#777;font-size:12px}\n";

static void page_head(struct html_ctx *c)
{
	FILE *f = c->f;
	const struct ctl_report_view *v = c->v;
	char from[16], to[16];
	int with_data = 0;

	for (int i = 0; i < v->ndays; i++)
		with_data += v->days[i].data;
	posture_day_text(v->from, from, sizeof(from));
	posture_day_text(v->from + v->ndays - 1, to, sizeof(to));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      /* nothing to fetch, nothing to run: even a name that escaped its escaping could not */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", f);
	fprintf(f, "<title>tlsgate: TLS posture %s .. %s</title>\n<style>\n%s</style></head>\n",
		from, to, html_css);
	fprintf(f, "<body data-from=\"%s\" data-to=\"%s\">\n<header><h1>TLS posture</h1>\n", from,
		to);
	fprintf(f, "<p class=\"sub\">%s .. %s (UTC): <span data-j=\"[&quot;window&quot;,"
		   "&quot;days&quot;]\">%d</span> days, <span data-j=\"[&quot;window&quot;,"
		   "&quot;days_with_data&quot;]\">%d</span> with data",
		from, to, v->ndays, with_data);
	if (v->domain) {
		fputs("; only the domain <span class=\"dom\">", f);
		put_text(f, v->domain);
		fputs("</span>", f);
	}
	fputs(". Posture files: <span class=\"dom\">", f);
	put_text(f, v->posture_dir);
	fputs("</span></p>\n", f);
	if (v->win->overflow)
		fprintf(f, "<p class=\"bad\">Over posture_max_domains: <span data-j=\"[&quot;"
			   "overflow&quot;]\">%" PRIu64 "</span> outcomes counted under (other).</p>\n",
			v->win->overflow);
	fputs("</header>\n", f);
}

/* The direction's totals as tiles. */
static void dir_tiles(struct html_ctx *c, int d)
{
	FILE *f = c->f;
	const struct html_dir *h = &c->d[d];
	struct html_path all, pm, pt;

	path_init(&all, html_dir_key[d], -1);
	pm = path_plus(&all, POSTURE_MESSAGES);
	pt = path_plus(&all, POSTURE_TLS_MESSAGES);
	fputs("<div class=\"tiles\">", f);
	fputs("<div class=\"tile\"><span class=\"k\">domains</span>", f);
	path_init(&all, html_dir_key[d], -2);
	path_raw(&all, ",\"#\"");
	put_num(f, "span", &all, h->n);
	path_init(&all, html_dir_key[d], -1);
	fputs("</div><div class=\"tile\"><span class=\"k\">messages</span>", f);
	put_num(f, "span", &pm, h->tot[POSTURE_MESSAGES]);
	fputs("</div><div class=\"tile\"><span class=\"k\">over TLS</span>", f);
	put_num(f, "span", &pt, h->tot[POSTURE_TLS_MESSAGES]);
	fputs("</div><div class=\"tile\"><span class=\"k\">share encrypted</span>", f);
	put_pct(f, "span", &pt, &pm, h->tot[POSTURE_TLS_MESSAGES], h->tot[POSTURE_MESSAGES]);
	fputs("</div><div class=\"tile\"><span class=\"k\">refused by the gateway</span>", f);
	pm = path_plus(&all, POSTURE_REFUSED);
	put_num(f, "span", &pm, h->tot[POSTURE_REFUSED]);
	fputs("</div><div class=\"tile\"><span class=\"k\">monitor: would refuse</span>", f);
	pm = path_plus(&all, POSTURE_WOULD);
	put_num(f, "span", &pm, h->tot[POSTURE_WOULD]);
	fputs("</div></div>\n", f);
}

/* The share of mail encrypted per day: a bar per day, the table behind it. */
static void dir_days(struct html_ctx *c, int d)
{
	FILE *f = c->f;
	const struct ctl_report_view *v = c->v;
	int n = v->ndays, slot = n <= 16 ? HTML_DAY_W_FEW : HTML_DAY_W, top = 8;
	int w = HTML_DAY_X + n * slot + 4, label_every = n <= 16 ? 1 : 7;

	fputs("<h3>Share of mail encrypted, per day</h3>\n", f);
	fprintf(f, "<svg class=\"days\" width=\"%d\" height=\"%d\" role=\"img\" "
		   "aria-label=\"share of %s messages sent over TLS per day\">\n",
		w, top + HTML_DAY_H + 30, html_dir_key[d]);
	for (int p = 0; p <= 100; p += 25) {
		double y = top + HTML_DAY_H - HTML_DAY_H * p / 100.0;

		fprintf(f, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
			   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n",
			HTML_DAY_X - 2, w, y, y, HTML_DAY_X - 5, y + 3.5, p);
	}
	for (int i = 0; i < n; i++) {
		const uint32_t *dc = v->days[i].c[d];
		uint32_t msgs = dc[POSTURE_MESSAGES], tls = dc[POSTURE_TLS_MESSAGES];
		int x = HTML_DAY_X + i * slot + 3, bw = slot - 6;
		char date[16];

		posture_day_text(v->from + i, date, sizeof(date));
		fprintf(f, "<g data-date=\"%s\">", date);
		if (msgs) {
			struct html_path day, pm, pt;
			double hb = HTML_DAY_H * (double)tls / (double)msgs;

			path_init(&day, "days", i);
			path_key(&day, html_dir_key[d]);
			pm = path_plus(&day, POSTURE_MESSAGES);
			pt = path_plus(&day, POSTURE_TLS_MESSAGES);
			fprintf(f, "<title>%s: %u of %u messages over TLS (%.1f%%)</title>", date,
				tls, msgs, share(tls, msgs));
			fprintf(f, "<rect class=\"plain\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>",
				x, top, bw, HTML_DAY_H);
			fprintf(f, "<rect class=\"tls\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
				   "data-full=\"%d\"",
				x, top + HTML_DAY_H - hb, bw, hb, HTML_DAY_H);
			attr_pair(f, "data-bar", &pt, &pm);
			fputs("/>", f);
		} else {
			fprintf(f, "<title>%s: %s</title><rect class=\"mute\" x=\"%d\" y=\"%d\" "
				   "width=\"%d\" height=\"2\"/>",
				date, v->days[i].data ? "no mail" : "no posture file", x,
				top + HTML_DAY_H - 2, bw);
		}
		if ((n - 1 - i) % label_every == 0)
			fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>",
				x + bw / 2, top + HTML_DAY_H + 14, date + 5);
		fputs("</g>\n", f);
	}
	fputs("</svg>\n<p class=\"key\"><span><i class=\"tls\" style=\"background:var(--tls)\">"
	      "</i>over TLS</span><span><i style=\"background:var(--plain)\"></i>plaintext</span>"
	      "<span><i style=\"background:var(--mute)\"></i>no mail</span></p>\n", f);
	fputs("<details><summary>the numbers per day</summary><table class=\"days\"><tr><th>day</th>"
	      "<th>messages</th><th>over TLS</th><th>share</th><th>refused</th>"
	      "<th>would refuse</th></tr>\n", f);
	for (int i = 0; i < n; i++) {
		const uint32_t *dc = v->days[i].c[d];
		struct html_path day, pm, pt;
		char date[16];

		if (!v->days[i].data)
			continue;
		posture_day_text(v->from + i, date, sizeof(date));
		path_init(&day, "days", i);
		path_key(&day, html_dir_key[d]);
		pm = path_plus(&day, POSTURE_MESSAGES);
		pt = path_plus(&day, POSTURE_TLS_MESSAGES);
		fprintf(f, "<tr data-date=\"%s\"><td>%s</td>", date, date);
		td_ctr(f, &day, POSTURE_MESSAGES, dc[POSTURE_MESSAGES]);
		td_ctr(f, &day, POSTURE_TLS_MESSAGES, dc[POSTURE_TLS_MESSAGES]);
		put_pct(f, "td", &pt, &pm, dc[POSTURE_TLS_MESSAGES], dc[POSTURE_MESSAGES]);
		td_ctr(f, &day, POSTURE_REFUSED, dc[POSTURE_REFUSED]);
		td_ctr(f, &day, POSTURE_WOULD, dc[POSTURE_WOULD]);
		fputs("</tr>\n", f);
	}
	fputs("</table></details>\n", f);
}

static void tr_domain(FILE *f, const char *section, const struct html_path *dp, const char *name)
{
	struct html_path p = *dp;

	path_key(&p, "domain");
	fprintf(f, "<tr class=\"%s\" data-domain=\"", section);
	put_text(f, name);
	fputs("\">", f);
	td_str(f, "dom", &p, name);
}

/* The domains whose mail was not always encrypted: the ones no rule can be required for yet. */
static void dir_plain(struct html_ctx *c, int d)
{
	FILE *f = c->f;
	const struct html_dir *h = &c->d[d];
	bool any = false;

	fputs("<h3>Domains not encrypted</h3>\n", f);
	for (size_t i = 0; i < h->n; i++) {
		const struct ctl_report_dom *r = &h->dom[i];
		struct html_path dp;

		if (r->v.can != POSTURE_CAN_NONE)
			continue;
		if (!any)
			fputs("<p class=\"note\">Domains with a session without TLS or a refusal in the "
			      "window: a stricter rule for them would refuse mail.</p>\n"
			      "<table class=\"plain\"><tr><th>domain</th><th>messages</th>"
			      "<th>over TLS</th><th>sessions</th><th>STARTTLS offered</th>"
			      "<th>TLS sessions</th><th>refused</th><th>why not</th></tr>\n", f);
		any = true;
		path_init(&dp, html_dir_key[d], (long)i);
		tr_domain(f, "plain", &dp, r->dom->name);
		td_ctr(f, &dp, POSTURE_MESSAGES, r->c[POSTURE_MESSAGES]);
		td_ctr(f, &dp, POSTURE_TLS_MESSAGES, r->c[POSTURE_TLS_MESSAGES]);
		td_ctr(f, &dp, POSTURE_SESSIONS, r->c[POSTURE_SESSIONS]);
		td_ctr(f, &dp, POSTURE_STARTTLS, r->c[POSTURE_STARTTLS]);
		td_ctr(f, &dp, POSTURE_TLS, r->c[POSTURE_TLS]);
		td_ctr(f, &dp, POSTURE_REFUSED, r->c[POSTURE_REFUSED]);
		path_key(&dp, "verdict");
		path_key(&dp, "reason");
		td_str(f, "why", &dp, r->v.reason);
		fputs("</tr>\n", f);
	}
	if (any)
		fputs("</table>\n", f);
	else
		fputs("<p class=\"good\">None: every session of every domain in the window was "
		      "TLS.</p>\n", f);
}

/* A domain's sessions as one stacked bar: verified, TLS only, no TLS. */
static void stack_bar(FILE *f, const uint32_t *c, int d)
{
	uint32_t s = c[POSTURE_SESSIONS], tls = c[POSTURE_TLS];
	/* inbound has no verify level: its TLS sessions are as good as they get */
	uint32_t ver = d == REPORT_OUTBOUND ? c[POSTURE_CERT + REPORT_CERT_VERIFIED] : tls;
	uint32_t part[3] = { ver, tls > ver ? tls - ver : 0, s > tls ? s - tls : 0 };
	static const char *const cls[3] = { "tls", "weak", "plain" };
	double x = 0;

	fprintf(f, "<td><svg width=\"%d\" height=\"12\" role=\"img\"><title>%u sessions: ",
		HTML_STACK_W, s);
	if (d == REPORT_OUTBOUND)
		fprintf(f, "%u TLS with a verified certificate, %u TLS without, ", ver, part[1]);
	else
		fprintf(f, "%u TLS, ", tls);
	fprintf(f, "%u without TLS</title>", part[2]);
	if (!s)
		fprintf(f, "<rect class=\"mute\" width=\"%d\" height=\"12\"/>", HTML_STACK_W);
	for (int k = 0; s && k < 3; k++) {
		double w = HTML_STACK_W * (double)part[k] / (double)s;

		if (part[k])
			fprintf(f, "<rect class=\"%s\" x=\"%.1f\" width=\"%.1f\" height=\"12\"/>",
				cls[k], x, w);
		x += w;
	}
	fputs("</svg></td>", f);
}

/* For every domain: what `encrypt` (and outbound `verify`) would have refused in the window,
 * and the suggested line -- the strictest level that would have refused nothing. */
static void dir_rules(struct html_ctx *c, int d)
{
	FILE *f = c->f;
	const struct html_dir *h = &c->d[d];
	bool out = d == REPORT_OUTBOUND;

	fputs("<h3>What a rule would change</h3>\n<p class=\"note\">A rule <code>encrypt</code> "
	      "refuses a session without TLS", f);
	if (out)
		fputs("; <code>verify</code> also one whose certificate was not verified for the MX "
		      "name", f);
	fputs(". The counts are the window's sessions such a rule would have refused; the suggested "
	      "line (<code>tlsgatectl report --suggest</code>) is the strictest level that would "
	      "have refused none.</p>\n", f);
	if (!h->n) {
		fputs("<p class=\"none\">No domains in the window.</p>\n", f);
		return;
	}
	fputs("<table class=\"rules\"><tr><th>domain</th><th>messages</th><th>sessions</th>", f);
	fprintf(f, "<th>%s</th><th>encrypt would refuse</th>",
		out ? "verified / TLS / no TLS" : "TLS / no TLS");
	if (out)
		fputs("<th>verify would refuse</th>", f);
	fputs("<th>suggested line</th></tr>\n", f);
	for (size_t i = 0; i < h->n; i++) {
		const struct ctl_report_dom *r = &h->dom[i];
		struct html_path dp;
		char line[400];

		path_init(&dp, html_dir_key[d], (long)i);
		tr_domain(f, "rule", &dp, r->dom->name);
		td_ctr(f, &dp, POSTURE_MESSAGES, r->c[POSTURE_MESSAGES]);
		td_ctr(f, &dp, POSTURE_SESSIONS, r->c[POSTURE_SESSIONS]);
		stack_bar(f, r->c, d);
		td_sub(f, &dp, POSTURE_SESSIONS, POSTURE_TLS, r->c[POSTURE_SESSIONS],
		       r->c[POSTURE_TLS]);
		if (out)
			td_sub(f, &dp, POSTURE_SESSIONS, (enum posture_ctr)(POSTURE_CERT + REPORT_CERT_VERIFIED),
			       r->c[POSTURE_SESSIONS], r->c[POSTURE_CERT + REPORT_CERT_VERIFIED]);
		ctl_report_suggest_line(r, line, sizeof(line));
		path_key(&dp, "verdict");
		path_key(&dp, "suggest");
		td_str(f, "rule", &dp, line);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<p class=\"key\"><span><i style=\"background:var(--tls)\"></i>", f);
	fputs(out ? "TLS, certificate verified" : "TLS", f);
	if (out)
		fputs("</span><span><i style=\"background:var(--weak)\"></i>TLS, not verified", f);
	fputs("</span><span><i style=\"background:var(--plain)\"></i>no TLS</span></p>\n", f);
}

static void hbar(FILE *f, const char *cls, uint64_t n, uint64_t max)
{
	double w = max ? HTML_HBAR_W * (double)n / (double)max : 0;

	fprintf(f, "<td><svg width=\"%d\" height=\"12\"><rect class=\"%s\" width=\"%.1f\" "
		   "height=\"12\"/></svg></td>",
		HTML_HBAR_W, cls, w);
}

/* Refusals and monitor mode's would-be refusals by RFC 8460 result type. */
static void dir_failures(struct html_ctx *c, int d)
{
	FILE *f = c->f;
	const struct html_dir *h = &c->d[d];
	struct html_path all;
	uint64_t max = 0;

	fputs("<h3>Failures by reason (RFC 8460 result types)</h3>\n", f);
	if (!h->tot[POSTURE_REFUSED] && !h->tot[POSTURE_WOULD]) {
		fputs("<p class=\"good\">Nothing refused, nothing a monitor rule would have "
		      "refused.</p>\n", f);
		return;
	}
	for (int k = 0; k <= POLICY_RPT_NRESULT; k++) {
		if (h->tot[POSTURE_REFUSED_BY + k] > max)
			max = h->tot[POSTURE_REFUSED_BY + k];
		if (h->tot[POSTURE_WOULD_BY + k] > max)
			max = h->tot[POSTURE_WOULD_BY + k];
	}
	path_init(&all, html_dir_key[d], -1);
	fputs("<table class=\"failures\"><tr><th>result type</th><th>refused</th><th></th>"
	      "<th>monitor: would refuse</th><th></th></tr>\n", f);
	/* POSTURE_REFUSED_OTHER follows the result types (and WOULD_OTHER theirs) */
	for (int k = 0; k <= POLICY_RPT_NRESULT; k++) {
		enum posture_ctr rc = (enum posture_ctr)(POSTURE_REFUSED_BY + k);
		enum posture_ctr wc = (enum posture_ctr)(POSTURE_WOULD_BY + k);

		if (!h->tot[rc] && !h->tot[wc])
			continue;
		fprintf(f, "<tr class=\"failure\" data-result=\"%s\"><td>%s</td>",
			posture_ctr_name(rc)->key, posture_ctr_name(rc)->key);
		td_ctr(f, &all, rc, h->tot[rc]);
		hbar(f, "plain", h->tot[rc], max);
		td_ctr(f, &all, wc, h->tot[wc]);
		hbar(f, "weak", h->tot[wc], max);
		fputs("</tr>\n", f);
	}
	fputs("<tr><th>total</th>", f);
	td_ctr(f, &all, POSTURE_REFUSED, h->tot[POSTURE_REFUSED]);
	fputs("<td></td>", f);
	td_ctr(f, &all, POSTURE_WOULD, h->tot[POSTURE_WOULD]);
	fputs("<td></td></tr>\n</table>\n", f);
}

/* Monitor mode: per domain, what was delivered that an enforced rule would have refused. */
static void dir_monitor(struct html_ctx *c, int d)
{
	FILE *f = c->f;
	const struct html_dir *h = &c->d[d];
	bool any = false;

	fputs("<h3>Monitor mode: would have been refused</h3>\n", f);
	for (size_t i = 0; i < h->n; i++) {
		const struct ctl_report_dom *r = &h->dom[i];
		struct html_path dp;

		if (!r->c[POSTURE_WOULD])
			continue;
		if (!any)
			fputs("<p class=\"note\">Delivered, but a rule in monitor mode (or a domain's "
			      "MTA-STS policy in testing) would have refused it: what switching the "
			      "rule to enforce would refuse.</p>\n<table class=\"monitor\"><tr>"
			      "<th>domain</th><th>messages</th><th>would refuse</th>"
			      "<th>by result type</th></tr>\n", f);
		any = true;
		path_init(&dp, html_dir_key[d], (long)i);
		tr_domain(f, "monitor", &dp, r->dom->name);
		td_ctr(f, &dp, POSTURE_MESSAGES, r->c[POSTURE_MESSAGES]);
		td_ctr(f, &dp, POSTURE_WOULD, r->c[POSTURE_WOULD]);
		fputs("<td>", f);
		for (int k = 0; k <= POLICY_RPT_NRESULT; k++) {
			enum posture_ctr wc = (enum posture_ctr)(POSTURE_WOULD_BY + k);
			struct html_path p;

			if (!r->c[wc])
				continue;
			p = path_plus(&dp, wc);
			fprintf(f, "<span>%s ", posture_ctr_name(wc)->key);
			put_num(f, "b", &p, r->c[wc]);
			fputs("</span> ", f);
		}
		fputs("</td></tr>\n", f);
	}
	if (any)
		fputs("</table>\n", f);
	else
		fputs("<p class=\"none\">No monitor rule would have refused anything in the "
		      "window.</p>\n", f);
}

/* Sessions per TLS version (ver) or cipher, most first, (other) last. */
static void dir_named(struct html_ctx *c, int d, bool ver)
{
	FILE *f = c->f;
	const struct html_dir *h = &c->d[d];
	const uint64_t *sum = ver ? h->ver : h->cip;
	uint64_t other = ver ? h->ver_other : h->cip_other, max = other;
	unsigned int order[POSTURE_NAMES], n = 0;
	struct html_path p;

	for (unsigned int k = 0; k < c->v->win->nnames; k++) {
		if (!sum[k])
			continue;
		order[n++] = k;
		if (sum[k] > max)
			max = sum[k];
	}
	/* a few names: an insertion sort by sessions, then name */
	for (unsigned int i = 1; i < n; i++) {
		unsigned int k = order[i], j = i;

		while (j > 0 && (sum[order[j - 1]] < sum[k] ||
				 (sum[order[j - 1]] == sum[k] &&
				  strcmp(c->v->win->names[order[j - 1]], c->v->win->names[k]) > 0))) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = k;
	}
	fprintf(f, "<table class=\"%s\"><tr><th>%s</th><th>sessions</th><th></th></tr>\n",
		ver ? "versions" : "ciphers", ver ? "TLS version" : "cipher");
	for (unsigned int i = 0; i <= n; i++) {
		const char *name = i < n ? c->v->win->names[order[i]] : POSTURE_OTHER;
		uint64_t v = i < n ? sum[order[i]] : other;

		if (i == n && !other)
			break;
		path_init(&p, html_dir_key[d], -1);
		path_key(&p, ver ? "versions" : "ciphers");
		path_key(&p, name);
		fputs("<tr><td class=\"dom\">", f);
		put_text(f, name);
		fputs("</td>", f);
		put_num(f, "td", &p, v);
		hbar(f, "tls", v, max);
		fputs("</tr>\n", f);
	}
	if (!n && !other)
		fputs("<tr><td class=\"none\" colspan=\"3\">no TLS sessions</td></tr>\n", f);
	fputs("</table>\n", f);
}

/* Nothing at all in this direction over the window (a gateway that relays one way only). */
static bool dir_empty(const struct html_ctx *c, int d)
{
	if (c->d[d].n)
		return false;
	for (int i = 0; i < c->v->ndays; i++)
		if (c->v->days[i].c[d][POSTURE_SESSIONS] || c->v->days[i].c[d][POSTURE_REFUSED])
			return false;
	return true;
}

static void dir_section(struct html_ctx *c, int d)
{
	FILE *f = c->f;
	bool empty = dir_empty(c, d);

	fprintf(f, "<section id=\"%s\" data-dir=\"%s\"%s>\n<h2>%s</h2>\n", html_dir_key[d],
		html_dir_key[d], empty ? " class=\"empty\"" : "",
		d == REPORT_OUTBOUND ? "Outbound: mail to recipient domains"
				     : "Inbound: mail from sender domains");
	if (empty) {
		fprintf(f, "<p class=\"none\">No %s sessions in the window.</p>\n</section>\n",
			html_dir_key[d]);
		return;
	}
	dir_tiles(c, d);
	dir_days(c, d);
	dir_plain(c, d);
	dir_rules(c, d);
	dir_failures(c, d);
	dir_monitor(c, d);
	fputs("<h3>TLS versions and ciphers</h3>\n<div class=\"tiles\">", f);
	dir_named(c, d, true);
	dir_named(c, d, false);
	fputs("</div>\n</section>\n", f);
}

int ctl_report_html(FILE *f, const struct ctl_report_view *v)
{
	struct html_ctx c = { .f = f, .v = v };
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	int err = 0;

	for (int d = REPORT_OUTBOUND; !err && d <= REPORT_INBOUND; d++)
		err = dir_collect(&c, d);
	if (err)
		goto out;
	page_head(&c);
	for (int d = REPORT_OUTBOUND; d <= REPORT_INBOUND; d++)
		if (c.d[d].shown)
			dir_section(&c, d);
	if (!gmtime_r(&t, &tm) || !strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(now, sizeof(now), "?");
	fprintf(f, "<footer>tlsgatectl report --html, tlsgate %s, %s. The numbers are those of "
		   "<code>tlsgatectl report -j</code> for the same window.</footer>\n</body></html>\n",
		TLSGATE_VERSION, now);
out:
	for (int d = REPORT_OUTBOUND; d <= REPORT_INBOUND; d++)
		dir_free(&c.d[d]);
	return err;
}
