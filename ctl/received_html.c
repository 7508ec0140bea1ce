// SPDX-License-Identifier: GPL-2.0-only
/*
 * `tlsgatectl explain --html FILE`: the Received: chain as a picture, for a reader who does not
 * read SMTP.  One self-contained page (inline CSS and SVG; no script, no font, no image, no
 * link), oldest hop first: per hop the server that handed the message over, an arrow with a
 * closed lock (encrypted), an open lock (not encrypted) or a question mark (not recorded), the
 * server that received it, and the reason in words.  The verdict sentence is explain's
 * (smtp/received_verdict.c).  Test hooks: every hop's <section> has data-hop (1 = oldest),
 * data-encrypted ("yes", "no", "unknown": the JSON's hops[].encrypted), data-counted ("yes"
 * when it counts in the verdict) and data-recorded-by ("own", "claim", "").
 */
#include "ctl/received_explain.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void esc(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

/* A name fits its box: long ones are cut in the middle ("AM0PR10MB…OUTLOOK.COM"). */
static void esc_box(FILE *out, const char *s)
{
	size_t n = strlen(s);
	char buf[40];

	if (n <= 30) {
		esc(out, s);
		return;
	}
	snprintf(buf, sizeof(buf), "%.14s", s);
	esc(out, buf);
	fputs("&#8230;", out);
	esc(out, s + n - 14);
}

static const char *state_class(const struct received_hop *h)
{
	bool counted = h->local == RECEIVED_LOCAL_NO;

	if (h->tls == RECEIVED_TLS_YES)
		return "locked";
	if (h->tls == RECEIVED_TLS_NO && counted)
		return "open";
	if (!counted)
		return "inside";
	return "unknown";
}

/* The icon on the arrow, centred at (x, y). */
static void svg_lock(FILE *out, const char *cls, int x, int y)
{
	if (!strcmp(cls, "locked")) {
		fprintf(out, "<path class=\"shackle\" d=\"M%d %d v-8 a8 8 0 0 1 16 0 v8\"/>", x - 8,
			y - 2);
	} else if (!strcmp(cls, "open")) {
		fprintf(out, "<path class=\"shackle\" d=\"M%d %d v-8 a8 8 0 0 1 16 0 v-3\"/>",
			x - 8, y - 10);
	} else {
		fprintf(out, "<text class=\"q\" x=\"%d\" y=\"%d\">%s</text>", x, y + 7,
			!strcmp(cls, "inside") ? "&#8962;" : "?");
		return;
	}
	fprintf(out, "<rect class=\"body\" x=\"%d\" y=\"%d\" width=\"22\" height=\"16\" rx=\"3\"/>",
		x - 11, y - 4);
}

static void why(FILE *out, const struct received_hop *h)
{
	char words[48];

	if (h->local == RECEIVED_LOCAL_PROTOCOL && !strcasecmp(h->protocol, "mapi")) {
		fputs("The sender's mail program (Outlook) handed the message over (MAPI): a "
		      "submission, not a transfer between servers.",
		      out);
		return;
	}
	if (h->local == RECEIVED_LOCAL_INTERNAL)
		fputs("A transfer between two of your own servers, inside your organisation; it "
		      "does not count in the verdict. ",
		      out);
	else if (h->local != RECEIVED_LOCAL_NO && h->tls != RECEIVED_TLS_YES) {
		fputs("A step inside one mail system: the message did not cross a network between "
		      "servers.",
		      out);
		return;
	}
	switch (h->tls) {
	case RECEIVED_TLS_YES:
		if (h->tls_version[0]) {
			fputs("Encrypted with ", out);
			esc(out, received_tls_words(h, words, sizeof(words)));
			if (received_tls_outdated(h))
				fputs(", an outdated version that is no longer considered safe",
				      out);
		} else {
			fputs("Encrypted (the server did not record which TLS version)", out);
		}
		if (h->cipher[0]) {
			fputs(" (cipher ", out);
			esc(out, h->cipher);
			fputs(")", out);
		}
		fputs(".", out);
		if (h->cert == RECEIVED_CERT_NOT_CHECKED) {
			fputs(" The certificate was not checked (", out);
			esc(out, h->cert_note);
			fputs("): nobody verified which server was at the other end.", out);
		} else if (h->cert == RECEIVED_CERT_FAILED) {
			fputs(" The certificate was checked and was NOT valid (", out);
			esc(out, h->cert_note);
			fputs(").", out);
		}
		break;
	case RECEIVED_TLS_NO:
		fputs("NOT encrypted: anyone on the network path could read this hop.", out);
		break;
	default:
		fputs("The server did not record whether the connection was encrypted.", out);
	}
}

static void html_hop(FILE *out, const struct received_hop *h, size_t k)
{
	const char *cls = state_class(h);

	/* a claim is drawn faded and dashed: it must not look like a hop the organisation saw */
	fprintf(out,
		"<section class=\"hop %s%s\" data-hop=\"%zu\" data-encrypted=\"%s\" "
		"data-counted=\"%s\" data-recorded-by=\"%s\">\n",
		cls, h->trust == RECEIVED_TRUST_CLAIM ? " claimed" : "", k,
		received_tls_state_name(h->tls), h->local == RECEIVED_LOCAL_NO ? "yes" : "no",
		received_trust_name(h->trust) ? received_trust_name(h->trust) : "");
	fprintf(out,
		"<svg viewBox=\"0 0 640 64\" width=\"640\" height=\"64\" role=\"img\" "
		"aria-label=\"hop %zu: %s\">",
		k, cls);
	fputs("<rect class=\"box\" x=\"2\" y=\"12\" width=\"236\" height=\"40\" rx=\"6\"/>", out);
	fputs("<text class=\"name\" x=\"120\" y=\"37\">", out);
	esc_box(out, h->local == RECEIVED_LOCAL_NO_FROM ? "(not named)" : received_sender_name(h));
	fputs("</text>", out);
	fputs("<line class=\"arrow\" x1=\"240\" y1=\"32\" x2=\"392\" y2=\"32\"/>"
	      "<path class=\"head\" d=\"M392 24 L402 32 L392 40 Z\"/>",
	      out);
	svg_lock(out, cls, 320, 32);
	fputs("<rect class=\"box\" x=\"402\" y=\"12\" width=\"236\" height=\"40\" rx=\"6\"/>", out);
	fputs("<text class=\"name\" x=\"520\" y=\"37\">", out);
	esc_box(out, received_receiver_name(h));
	fputs("</text></svg>\n", out);
	fprintf(out, "<p class=\"who\"><b>Hop %zu.</b> ", k);
	esc(out, received_sender_name(h));
	if (h->from_addr[0] && strcmp(received_sender_name(h), h->from_addr)) {
		fputs(" [", out);
		esc(out, h->from_addr);
		fputs("]", out);
	}
	fputs(" handed the message to ", out);
	esc(out, received_receiver_name(h));
	if (h->date[0]) {
		fputs(" on ", out);
		esc(out, h->date);
	}
	fputs(".</p>\n<p class=\"why\">", out);
	why(out, h);
	fputs("</p>\n", out);
	if (h->first_receipt)
		fputs("<p class=\"mark\">This is where your organisation received the "
		      "message.</p>\n",
		      out);
	if (h->trust == RECEIVED_TRUST_CLAIM)
		fputs("<p class=\"claim\">Recorded by a server outside your organisation: the "
		      "sender's claim, not a fact.</p>\n",
		      out);
	fputs("</section>\n", out);
}

int received_explain_html(FILE *out, const struct received_chain *c)
{
	struct received_verdict v;
	char line[1024];
	const char *tone;

	received_verdict(c, &v);
	received_verdict_words(&v, line, sizeof(line));
	tone = v.plaintext ? "bad" : v.encrypted && !v.unrecorded ? "good" : "unsure";
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<title>How this message travelled</title>\n<style>\n"
	      "body{font-family:sans-serif;max-width:700px;margin:2em auto;color:#222}\n"
	      ".verdict{padding:.8em 1em;border-radius:6px;font-size:1.15em}\n"
	      ".verdict.good{background:#e3f4e5}.verdict.bad{background:#fbe1df}"
	      ".verdict.unsure{background:#f4f0dc}\n"
	      ".hop{border-top:1px solid #ddd;padding:.6em 0}\n"
	      ".box{fill:#f4f6f8;stroke:#7a8694}.name{font-size:13px;text-anchor:middle}\n"
	      ".arrow{stroke:#555;stroke-width:2}.head{fill:#555}\n"
	      ".shackle{fill:none;stroke-width:3}.body{stroke:none}\n"
	      ".locked .shackle{stroke:#1d7a34}.locked .body{fill:#1d7a34}\n"
	      ".open .shackle{stroke:#c0281e}.open .body{fill:#c0281e}\n"
	      ".open .arrow{stroke:#c0281e}.open .head{fill:#c0281e}\n"
	      ".q{font-size:22px;text-anchor:middle;fill:#8a7a20;font-weight:bold}\n"
	      ".inside .q{fill:#667}\n"
	      ".claim{color:#8a5a00;font-size:.9em}.mark{font-weight:bold}\n"
	      ".claimed svg{opacity:.5}.claimed .box,.claimed .arrow{stroke-dasharray:5 4}\n"
	      ".why{margin:.2em 0}.who{margin:.2em 0}\n"
	      "</style>\n</head>\n<body>\n<h1>How this message travelled</h1>\n",
	      out);
	fprintf(out, "<p class=\"verdict %s\" id=\"verdict\">", tone);
	esc(out, line);
	fputs("</p>\n", out);
	if (!c->n)
		fputs("<p>This message has no Received: headers; no server recorded handling "
		      "it.</p>\n",
		      out);
	else
		fprintf(out,
			"<p>%zu recorded step%s, oldest first. A closed lock: the hop was "
			"encrypted; an open lock: it was not; a question mark: the server did "
			"not record it.</p>\n",
			c->n, c->n == 1 ? "" : "s");
	if (c->truncated)
		fprintf(out, "<p>Only the newest %d Received: headers were read.</p>\n",
			RECEIVED_MAX_HOPS);
	for (size_t k = 1; k <= c->n; k++)
		html_hop(out, &c->hop[c->n - k], k);
	fputs("</body>\n</html>\n", out);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
