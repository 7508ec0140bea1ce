// SPDX-License-Identifier: GPL-2.0-only
/*
 * Telling a Received: chain to someone who does not read SMTP.  The chain is stored newest
 * first (as the headers appear); hop k (k = 1 oldest) is c->hop[c->n - k].  The verdict is
 * smtp/received_verdict.c's; the picture is received_html.c.
 */
#include "ctl/received_explain.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/jsonw.h"

static const struct received_hop *hop_at(const struct received_chain *c, size_t k)
{
	return &c->hop[c->n - k];
}

/* ------------------------------------------------------------------------------------------ */
/* Text */

static void text_from_to(FILE *out, const struct received_hop *h)
{
	fprintf(out, "from %s to %s", received_sender_name(h), received_receiver_name(h));
}

/* Whose word the hop is, and what the receiver said about the sender's certificate. */
static void text_trust_cert(FILE *out, const struct received_hop *h)
{
	if (h->tls == RECEIVED_TLS_YES && h->cert == RECEIVED_CERT_NOT_CHECKED)
		fprintf(out, "  Certificate: not checked (%s) - the hop was encrypted, but nobody "
			     "checked which server was at the other end.\n",
			h->cert_note);
	else if (h->tls == RECEIVED_TLS_YES && h->cert == RECEIVED_CERT_FAILED)
		fprintf(out, "  Certificate: checked and NOT valid (%s) - the hop was encrypted, but "
			     "to a server that could not prove who it was.\n",
			h->cert_note);
	else if (h->tls == RECEIVED_TLS_YES && h->cert == RECEIVED_CERT_VERIFIED)
		fprintf(out, "  Certificate: checked and valid (%s).\n", h->cert_note);
	if (h->trust == RECEIVED_TRUST_OWN)
		fputs("  Recorded by: one of your own servers - a fact.\n", out);
	else if (h->trust == RECEIVED_TRUST_CLAIM)
		fputs("  Recorded by: a server outside your organisation - the sender's claim, "
		      "not a fact (it could be forged).\n",
		      out);
}

static void text_tls(FILE *out, const struct received_hop *h)
{
	/* what the sender's servers wrote is not a fact: say so where the answer is */
	const char *label = h->trust == RECEIVED_TRUST_CLAIM ? "Encrypted (the sender's claim)"
							     : "Encrypted";
	char words[48];

	if (h->local == RECEIVED_LOCAL_PROTOCOL && !strcasecmp(h->protocol, "mapi") &&
	    h->tls != RECEIVED_TLS_YES) {
		fprintf(out, "  %s: not recorded - Outlook's own connection (Exchange Online takes "
		      "it only over HTTPS); it does not count in the verdict.\n", label);
		return;
	}
	if (h->local == RECEIVED_LOCAL_INTERNAL && h->tls == RECEIVED_TLS_NO) {
		fprintf(out, "  %s: no - inside your organisation's network; it does not count in "
		      "the verdict.\n", label);
		return;
	}
	if (h->local != RECEIVED_LOCAL_NO && h->local != RECEIVED_LOCAL_INTERNAL &&
	    h->tls != RECEIVED_TLS_YES) {
		fprintf(out, "  %s: not needed - the message did not cross a network between "
		      "servers.\n", label);
		return;
	}
	switch (h->tls) {
	case RECEIVED_TLS_YES:
		if (!h->tls_version[0]) {
			fprintf(out, "  %s: yes (", label);
			if (h->cipher[0])
				fprintf(out, "cipher %s; ", h->cipher);
			fputs("the server did not record which TLS version).\n", out);
			return;
		}
		received_tls_words(h, words, sizeof(words));
		if (received_tls_outdated(h))
			fprintf(out, "  %s: yes, but with %s, an outdated version", label, words);
		else
			fprintf(out, "  %s: yes, with %s", label, words);
		if (h->cipher[0] && h->bits)
			fprintf(out, " (cipher %s, %u-bit)", h->cipher, h->bits);
		else if (h->cipher[0])
			fprintf(out, " (cipher %s)", h->cipher);
		fputs(".\n", out);
		return;
	case RECEIVED_TLS_NO:
		fprintf(out, "  %s: NO - anyone on the network path could read this hop.\n", label);
		return;
	default:
		fprintf(out, "  %s: not recorded - this server did not write down whether the "
		      "connection was encrypted.\n", label);
	}
}

static void text_hop(FILE *out, const struct received_hop *h, size_t k)
{
	fprintf(out, "Hop %zu: ", k);
	switch (h->local) {
	case RECEIVED_LOCAL_NO:
		fprintf(out, "%s", received_sender_name(h));
		if (h->from_addr[0] && strcmp(received_sender_name(h), h->from_addr))
			fprintf(out, " [%s]", h->from_addr);
		fprintf(out, " handed the message to %s.\n", received_receiver_name(h));
		break;
	case RECEIVED_LOCAL_NO_FROM:
		if (h->by[0])
			fprintf(out, "the message was passed on inside %s (no sending server was "
				     "recorded: a step inside one mail system).\n",
				h->by);
		else
			fputs("a step inside one mail system (no server was named).\n", out);
		break;
	case RECEIVED_LOCAL_LOOPBACK:
		fprintf(out, "the message was passed on inside %s (from %s [%s], the same "
			     "machine).\n",
			received_receiver_name(h), h->from[0] ? h->from : "localhost", h->from_addr);
		break;
	case RECEIVED_LOCAL_SAME_HOST:
		fprintf(out, "the message was passed on inside %s (between programs on that "
			     "server).\n",
			received_receiver_name(h));
		break;
	case RECEIVED_LOCAL_PROTOCOL:
		if (!strcasecmp(h->protocol, "mapi"))
			fprintf(out, "the sender's mail program (Outlook) handed the message to %s "
				     "(MAPI: a mail program's submission, not a transfer between "
				     "servers).\n",
				received_receiver_name(h));
		else
			fprintf(out, "the message was passed on inside %s (a local hand-off: %s).\n",
				received_receiver_name(h), h->protocol);
		break;
	case RECEIVED_LOCAL_INTERNAL:
		fprintf(out, "%s handed the message to %s, both your own servers (a transfer "
			     "inside your organisation).\n",
			received_sender_name(h), received_receiver_name(h));
		break;
	}
	if (h->first_receipt)
		fputs("  This is where your organisation received the message.\n", out);
	text_tls(out, h);
	text_trust_cert(out, h);
	if (h->date[0])
		fprintf(out, "  When: %s\n", h->date);
}

int received_explain_text(FILE *out, const struct received_chain *c)
{
	struct received_verdict v;
	char line[1024];
	bool judged = c->n && c->hop[0].trust != RECEIVED_TRUST_UNKNOWN;

	received_verdict(c, &v);
	if (!c->n) {
		fputs("This message has no Received: headers; no server recorded handling it.\n",
		      out);
	} else {
		fprintf(out, "This message went through %zu recorded step%s, listed in the order "
			     "it travelled: hop 1 first, hop %zu last.\n",
			c->n, c->n == 1 ? "" : "s", c->n);
		if (c->truncated)
			fprintf(out, "Only the newest %d Received: headers were read; older ones "
				     "are not shown.\n",
				RECEIVED_MAX_HOPS);
		fputc('\n', out);
		for (size_t k = 1; k <= c->n; k++)
			text_hop(out, hop_at(c, k), k);
	}

	received_verdict_words(&v, line, sizeof(line));
	fprintf(out, "\nIn one line: %s\n", line);
	fputs("\nVerdict:\n", out);
	for (size_t k = 1; k <= c->n; k++) {
		const struct received_hop *h = hop_at(c, k);

		if (h->local != RECEIVED_LOCAL_NO || h->tls != RECEIVED_TLS_NO)
			continue;
		fprintf(out, "WARNING: hop %zu (", k);
		text_from_to(out, h);
		fputs(") was NOT encrypted", out);
		if (h->trust == RECEIVED_TRUST_CLAIM)
			fputs(" (as the sender's servers recorded it)", out);
		fputs(".\n", out);
	}
	if (!v.plaintext)
		fprintf(out, "%s\n", received_verdict_summary(&v));
	for (size_t k = 1; k <= c->n; k++) {
		const struct received_hop *h = hop_at(c, k);
		char words[48];

		if (h->local != RECEIVED_LOCAL_NO)
			continue;
		if (h->tls == RECEIVED_TLS_UNKNOWN) {
			fprintf(out, "Hop %zu (", k);
			text_from_to(out, h);
			fputs(") did not record whether it was encrypted.\n", out);
		} else if (h->tls == RECEIVED_TLS_YES && received_tls_outdated(h)) {
			fprintf(out, "Note: hop %zu (", k);
			text_from_to(out, h);
			fprintf(out, ") used %s, an outdated version that is no longer considered "
				     "safe.\n",
				received_tls_words(h, words, sizeof(words)));
		}
	}
	if (judged && v.claims)
		fprintf(out, "%zu hop%s before your organisation received the message %s the "
			     "sender's servers' own record: it could be forged.\n",
			v.claims, v.claims == 1 ? "" : "s", v.claims == 1 ? "is" : "are");
	else if (judged && !v.claims && v.transfers)
		fputs("Every hop was recorded by your own servers.\n", out);
	else if (v.transfers)
		fputs("Each server writes its own Received: line; lines written before the "
		      "message reached your own servers could be forged.\n",
		      out);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON */

static void json_hop(struct jsonw *w, const struct received_hop *h, size_t k)
{
	jsonw_start_object(w);
	jsonw_u64_field(w, "hop", k);
	jsonw_string_field_opt(w, "from", h->from);
	jsonw_string_field_opt(w, "from_rdns", h->from_rdns);
	jsonw_string_field_opt(w, "from_addr", h->from_addr);
	jsonw_string_field_opt(w, "by", h->by);
	jsonw_string_field_opt(w, "protocol", h->protocol);
	jsonw_string_field_opt(w, "id", h->id);
	jsonw_string_field_opt(w, "date", h->date);
	jsonw_string_field(w, "style", received_style_name(h->style));
	jsonw_string_field(w, "local", received_local_name(h->local));
	jsonw_string_field(w, "encrypted", received_tls_state_name(h->tls));
	jsonw_string_field_opt(w, "tls_version", h->tls_version);
	jsonw_string_field_opt(w, "cipher", h->cipher);
	jsonw_name(w, "bits");
	if (h->bits)
		jsonw_u64(w, h->bits);
	else
		jsonw_null(w);
	jsonw_bool_field(w, "outdated_tls", h->tls == RECEIVED_TLS_YES && received_tls_outdated(h));
	jsonw_string_field(w, "certificate", received_cert_name(h->cert));
	jsonw_string_field_opt(w, "certificate_note", h->cert_note);
	jsonw_string_field(w, "recorded_by", received_trust_name(h->trust));
	jsonw_bool_field(w, "first_receipt", h->first_receipt);
	jsonw_end_object(w);
}

/* The hop numbers whose transfer matches (tls, outdated). */
static void json_hop_list(struct jsonw *w, const char *name, const struct received_chain *c,
			  enum received_tls_state tls, bool outdated)
{
	jsonw_name(w, name);
	jsonw_start_array(w);
	for (size_t k = 1; k <= c->n; k++) {
		const struct received_hop *h = hop_at(c, k);

		if (h->local == RECEIVED_LOCAL_NO && h->tls == tls &&
		    (!outdated || received_tls_outdated(h)))
			jsonw_u64(w, k);
	}
	jsonw_end_array(w);
}

int received_explain_json(FILE *out, const struct received_chain *c, bool pretty)
{
	struct jsonw *w = jsonw_new(out);
	struct received_verdict v;
	char line[1024];

	if (!w)
		return -ENOMEM;
	jsonw_pretty(w, pretty);
	received_verdict(c, &v);
	jsonw_start_object(w);
	jsonw_string_field(w, "order", "oldest-first");
	jsonw_bool_field(w, "truncated", c->truncated);
	jsonw_name(w, "hops");
	jsonw_start_array(w);
	for (size_t k = 1; k <= c->n; k++)
		json_hop(w, hop_at(c, k), k);
	jsonw_end_array(w);
	jsonw_name(w, "verdict");
	jsonw_start_object(w);
	jsonw_bool_field(w, "all_recorded_encrypted", !v.plaintext && v.encrypted);
	jsonw_u64_field(w, "transfers", v.transfers);
	jsonw_u64_field(w, "encrypted", v.encrypted);
	json_hop_list(w, "not_encrypted", c, RECEIVED_TLS_NO, false);
	json_hop_list(w, "not_recorded", c, RECEIVED_TLS_UNKNOWN, false);
	json_hop_list(w, "outdated_tls", c, RECEIVED_TLS_YES, true);
	jsonw_u64_field(w, "claims", v.claims);
	jsonw_u64_field(w, "internal", v.internal);
	jsonw_string_field(w, "summary", received_verdict_summary(&v));
	received_verdict_words(&v, line, sizeof(line));
	jsonw_string_field(w, "words", line);
	jsonw_end_object(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	return ferror(out) ? -EIO : 0;
}
