// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's own counters (struct gateway_counters) as metric families for `tlsgatectl stats`:
 * the names, labels and help texts are chosen here, the wire and the CLI only carry and print
 * them.  A counter added to gateway_counters is exported by adding a line to a table below.
 */
#include "daemon/counters.h"

#include <stddef.h>

/* A counter without labels. */
struct counters_scalar {
	const char *name;
	const char *type;
	size_t off;
	const char *help;
};

/* clang-format off */
#define SCALAR(field, type, help) { #field, type, offsetof(struct gateway_counters, field), help }
/* clang-format on */

static const struct counters_scalar scalars[] = {
	SCALAR(sessions_active, "gauge", "Sessions open now."),
	SCALAR(tls_required_refused, "counter",
	       "Sessions refused with a 4xx: the policy required TLS the next hop did not offer."),
	SCALAR(tls_may_fallback, "counter",
	       "Opportunistic (may) sessions retried in plaintext after a failed handshake."),
	SCALAR(rcpt_tls_refused, "counter",
	       "Recipients refused at RCPT (450 4.7.x): their policy needs TLS the session lacks."),
	SCALAR(sender_tls_refused, "counter",
	       "Inbound senders refused (530) because they did not use STARTTLS."),
	SCALAR(handshake_failed, "counter", "TLS handshakes that failed, on either leg."),
	SCALAR(tls_up_resumed, "counter",
	       "TLS sessions to the next hop that resumed a cached session (abbreviated handshake)."),
	SCALAR(verify_failed, "counter",
	       "Next-hop certificates that failed the verification the policy asks for."),
	SCALAR(starttls_injection_discarded, "counter",
	       "Sessions whose bytes pipelined after STARTTLS were discarded (command injection)."),
	SCALAR(timeouts, "counter", "Sessions ended by a timeout."),
	SCALAR(mail_held_refused, "counter",
	       "Held MAIL FROM commands the next hop refused once a recipient was let through."),
	SCALAR(reuse_kept, "counter",
	       "Outbound TLS connections kept idle at a client's QUIT for the next session."),
	SCALAR(reuse_taken, "counter",
	       "Outbound sessions that went on over an idle connection (RSET) instead of a new one."),
	SCALAR(reuse_failed, "counter",
	       "Idle connections that failed a session's RSET (closed, an error reply): it got a "
	       "fresh connection."),
	SCALAR(reuse_lost, "counter",
	       "Idle connections the next hop closed or wrote to while idle (closed by us then)."),
	SCALAR(reuse_idle, "gauge", "Outbound connections idle for reuse now."),
	SCALAR(outcomes_dropped, "counter",
	       "Session outcomes not recorded (posture, TLS reports): the queue to them was full."),
};

/* A counter with one label: one field per label value. */
struct counters_pair {
	const char *name;
	const char *label;
	struct {
		const char *value;
		size_t off;
	} v[2];
	const char *help;
};

#define OFF(field) offsetof(struct gateway_counters, field)

static const struct counters_pair pairs[] = {
	{"sessions",
	 "direction",
	 {{"outbound", OFF(sessions_outbound)}, {"inbound", OFF(sessions_inbound)}},
	 "Sessions accepted since the start, by direction."},
	{"messages",
	 "result",
	 {{"ok", OFF(messages_ok)}, {"failed", OFF(messages_failed)}},
	 "Messages relayed, by the next hop's final answer to the data (2xx ok)."},
	{"tls_established",
	 "leg",
	 {{"next_hop", OFF(tls_up)}, {"client", OFF(tls_down)}},
	 "TLS sessions established, by leg: to the next hop (we are the client) or with the "
	 "client (we are the server)."},
	{"policy_would_refuse",
	 "direction",
	 {{"outbound", OFF(would_refuse_out)}, {"inbound", OFF(would_refuse_in)}},
	 "Refusals a rule in monitor mode (mode=monitor, *_policy_mode = monitor) would have made "
	 "(a session, a recipient or a sender); the mail was delivered as the level may would."},
};

static uint64_t load(const struct gateway_counters *c, size_t off)
{
	return atomic_load((const atomic_uint_fast64_t *)((const char *)c + off));
}

static int report_scalars(const struct gateway_counters *c, control_metric_cb cb, void *arg)
{
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		struct nlproto_sample s = {.value = load(c, scalars[i].off)};
		struct nlproto_metric mf = {.name = scalars[i].name,
					    .type = scalars[i].type,
					    .help = scalars[i].help,
					    .sample = &s,
					    .nsample = 1};

		err = cb(arg, &mf);
	}
	return err;
}

static int report_pairs(const struct gateway_counters *c, control_metric_cb cb, void *arg)
{
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct counters_pair *p = &pairs[i];
		struct nlproto_label l[2] = {{p->label, p->v[0].value}, {p->label, p->v[1].value}};
		struct nlproto_sample s[2] = {{&l[0], 1, load(c, p->v[0].off)},
					      {&l[1], 1, load(c, p->v[1].off)}};
		struct nlproto_metric mf = {.name = p->name,
					    .type = "counter",
					    .help = p->help,
					    .sample = s,
					    .nsample = 2};

		err = cb(arg, &mf);
	}
	return err;
}

/* RFC 8460's verdicts: successes per policy type; failures per policy, result and outcome. */
static int report_rpt(const struct gateway_counters *c, control_metric_cb cb, void *arg)
{
	enum { NFAIL = 2 * POLICY_RPT_NPOLICY * POLICY_RPT_NRESULT };
	struct nlproto_label fl[NFAIL][3];
	struct nlproto_label sl[POLICY_RPT_NPOLICY];
	struct nlproto_sample ss[POLICY_RPT_NPOLICY], fs[NFAIL];
	struct nlproto_metric mf;
	size_t n = 0;
	int err;

	for (int p = 0; p < POLICY_RPT_NPOLICY; p++) {
		sl[p] = (struct nlproto_label){"policy", policy_rpt_policy_name((enum policy_rpt_policy)p)};
		ss[p] = (struct nlproto_sample){&sl[p], 1, atomic_load(&c->rpt_success[p])};
	}
	mf = (struct nlproto_metric){
		.name = "policy_success",
		.type = "counter",
		.sample = ss,
		.nsample = POLICY_RPT_NPOLICY,
		.help = "Recipient verdicts that satisfied the destination's own policy "
			"(RFC 8460 successful sessions), by policy type."};
	err = cb(arg, &mf);
	if (err)
		return err;
	/* Grouped by policy, then result, then outcome: the order the labels come in. */
	for (int p = 0; p < POLICY_RPT_NPOLICY; p++) {
		for (int r = 0; r < POLICY_RPT_NRESULT; r++) {
			for (int o = 0; o < 2; o++, n++) {
				fl[n][0] =
					(struct nlproto_label){"policy", policy_rpt_policy_name((enum policy_rpt_policy)p)};
				fl[n][1] =
					(struct nlproto_label){"result", policy_rpt_result_name((enum policy_rpt_result)r)};
				fl[n][2] = (struct nlproto_label){"outcome",
								  o ? "would_fail" : "refused"};
				fs[n] = (struct nlproto_sample){
					fl[n], 3,
					atomic_load(o ? &c->rpt_would_fail[p][r]
						      : &c->rpt_failure[p][r])};
			}
		}
	}
	mf = (struct nlproto_metric){
		.name = "policy_result",
		.type = "counter",
		.sample = fs,
		.nsample = n,
		.help = "Recipient verdicts that failed the destination's own policy, by RFC 8460 "
			"result type: refused (4xx) or, under MTA-STS testing, delivered anyway "
			"(would_fail)."};
	return cb(arg, &mf);
}

int counters_report(const struct gateway_counters *c, control_metric_cb cb, void *arg)
{
	int err;

	err = report_pairs(c, cb, arg);
	err = err ?: report_scalars(c, cb, arg);
	return err ?: report_rpt(c, cb, arg);
}
