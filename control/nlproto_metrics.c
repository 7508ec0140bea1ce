// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's own counters on the wire (nlproto.h): one NLPROTO_A_METRIC per family, its
 * samples nested in it and their labels nested in them.  Names and labels are the daemon's, so
 * this file knows no counter; it only checks that names are what Prometheus accepts, since the
 * CLI prints them into an exposition as they come.
 */
#include "control/nlproto.h"
#include "control/nlproto_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#define STR(max)                                    \
	{                                           \
		.type = NLA_STRING, .maxlen = (max) \
	}
#define NAME_MAX_LEN 128 /* names, including the NUL */
#define TYPE_MAX_LEN 32

static const struct nla_policy metric_policy[NLPROTO_METRIC_MAX + 1] = {
	[NLPROTO_METRIC_NAME] = STR(NAME_MAX_LEN),
	[NLPROTO_METRIC_TYPE] = STR(TYPE_MAX_LEN),
	[NLPROTO_METRIC_HELP] = STR(NLPROTO_STR_MAX),
	[NLPROTO_METRIC_SAMPLE] = {.type = NLA_NESTED},
};

static const struct nla_policy sample_policy[NLPROTO_SAMPLE_MAX + 1] = {
	[NLPROTO_SAMPLE_VALUE] = {.type = NLA_U64, .maxlen = 8},
	[NLPROTO_SAMPLE_LABEL] = {.type = NLA_NESTED},
};

static const struct nla_policy label_policy[NLPROTO_LABEL_MAX + 1] = {
	[NLPROTO_LABEL_NAME] = STR(NAME_MAX_LEN),
	[NLPROTO_LABEL_VALUE] = STR(NLPROTO_STR_MAX),
};

bool nlproto_metric_name_ok(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9') || strlen(s) >= NAME_MAX_LEN)
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* ---- encoding ---- */

static size_t align4(size_t n)
{
	return (n + NLA_ALIGNTO - 1) & ~(size_t)(NLA_ALIGNTO - 1);
}

static size_t str_size(const char *s)
{
	return s ? align4(sizeof(struct nlattr) + strlen(s) + 1) : 0;
}

static size_t label_size(const struct nlproto_label *l)
{
	return sizeof(struct nlattr) + str_size(l->name) + str_size(l->value);
}

static size_t sample_size(const struct nlproto_sample *s)
{
	size_t n = sizeof(struct nlattr) + align4(sizeof(struct nlattr) + sizeof(uint64_t));

	for (size_t i = 0; i < s->nlabel; i++)
		n += label_size(&s->label[i]);
	return n;
}

/*
 * Room for the whole family is made first: libnl hands out nest starts as pointers into the
 * buffer, which growing it would move.  Every nest's length must fit nla_len's 16 bits.
 */
static int metric_check(const struct nlproto_metric *mf, size_t *size)
{
	size_t n = sizeof(struct nlattr) + str_size(mf->name) + str_size(mf->type) +
		   str_size(mf->help);

	/* What the decoder would refuse is refused here, where the daemon can log it. */
	if (!nlproto_metric_name_ok(mf->name) || !mf->type || strlen(mf->type) >= TYPE_MAX_LEN ||
	    (mf->help && strlen(mf->help) >= NLPROTO_STR_MAX))
		return -EINVAL;
	for (size_t i = 0; i < mf->nsample; i++) {
		size_t ss = sample_size(&mf->sample[i]);

		for (size_t j = 0; j < mf->sample[i].nlabel; j++)
			if (!nlproto_metric_name_ok(mf->sample[i].label[j].name) ||
			    !mf->sample[i].label[j].value ||
			    strlen(mf->sample[i].label[j].value) >= NLPROTO_STR_MAX)
				return -EINVAL;
		if (ss > UINT16_MAX)
			return -EMSGSIZE;
		n += ss;
	}
	if (n > UINT16_MAX)
		return -EMSGSIZE;
	*size = n;
	return 0;
}

static int put_sample(struct nl_msg *m, const struct nlproto_sample *s)
{
	struct nlattr *nest = nla_nest_start(m, NLPROTO_METRIC_SAMPLE);

	if (!nest || nla_put_u64(m, NLPROTO_SAMPLE_VALUE, s->value) < 0)
		return -EMSGSIZE;
	for (size_t i = 0; i < s->nlabel; i++) {
		struct nlattr *ln = nla_nest_start(m, NLPROTO_SAMPLE_LABEL);

		if (!ln || nla_put_string(m, NLPROTO_LABEL_NAME, s->label[i].name) < 0 ||
		    nla_put_string(m, NLPROTO_LABEL_VALUE, s->label[i].value) < 0 ||
		    nla_nest_end(m, ln) < 0)
			return -EMSGSIZE;
	}
	return nla_nest_end(m, nest) < 0 ? -EMSGSIZE : 0;
}

int nlproto_put_metric(struct nl_msg *m, const struct nlproto_metric *mf)
{
	struct nlattr *nest;
	size_t size;
	int err;

	err = metric_check(mf, &size);
	err = err ?: nlproto_reserve(m, size);
	if (err)
		return err;
	nest = nla_nest_start(m, NLPROTO_A_METRIC);
	if (!nest || nla_put_string(m, NLPROTO_METRIC_NAME, mf->name) < 0 ||
	    nla_put_string(m, NLPROTO_METRIC_TYPE, mf->type) < 0 ||
	    (mf->help && nla_put_string(m, NLPROTO_METRIC_HELP, mf->help) < 0))
		return -EMSGSIZE;
	for (size_t i = 0; !err && i < mf->nsample; i++)
		err = put_sample(m, &mf->sample[i]);
	return err ?: (nla_nest_end(m, nest) < 0 ? -EMSGSIZE : 0);
}

/* ---- decoding ---- */

/*
 * Two passes over the same checks: the first (ms->mem NULL) counts families, samples and labels,
 * the second fills the block allocated for exactly that many.
 */
struct walk {
	const struct nlmsghdr *nlh;
	char *msg;
	size_t msglen;
	size_t nmetric, nsample, nlabel;
	struct nlproto_sample *sample; /* second pass */
	struct nlproto_label *label;
};

static int walk_nested(struct walk *w, struct nlattr **tb, int maxtype, struct nlattr *nest,
		       const struct nla_policy *policy)
{
	return nlproto_parse_attrs(tb, maxtype, nla_data(nest), nla_len(nest), policy, NULL, w->nlh,
				   w->msg, w->msglen, NULL);
}

static int walk_label(struct walk *w, struct nlattr *nla, const char *family)
{
	struct nlattr *tb[NLPROTO_LABEL_MAX + 1];
	int err = walk_nested(w, tb, NLPROTO_LABEL_MAX, nla, label_policy);

	if (err)
		return err;
	if (!tb[NLPROTO_LABEL_NAME] || !tb[NLPROTO_LABEL_VALUE] ||
	    !nlproto_metric_name_ok(nla_data(tb[NLPROTO_LABEL_NAME]))) {
		snprintf(w->msg, w->msglen, "metric %s: a label without a valid name and value",
			 family);
		return -EINVAL;
	}
	if (w->label) {
		w->label[w->nlabel].name = nla_data(tb[NLPROTO_LABEL_NAME]);
		w->label[w->nlabel].value = nla_data(tb[NLPROTO_LABEL_VALUE]);
	}
	w->nlabel++;
	return 0;
}

static int walk_sample(struct walk *w, struct nlattr *nla, const char *family)
{
	struct nlattr *tb[NLPROTO_SAMPLE_MAX + 1], *l;
	size_t first = w->nlabel;
	int err, rem;

	err = walk_nested(w, tb, NLPROTO_SAMPLE_MAX, nla, sample_policy);
	if (err)
		return err;
	if (!tb[NLPROTO_SAMPLE_VALUE]) {
		snprintf(w->msg, w->msglen, "metric %s: a sample without a value", family);
		return -EINVAL;
	}
	nla_for_each_nested(l, nla, rem)
	{
		if (nla_type(l) != NLPROTO_SAMPLE_LABEL)
			continue;
		err = walk_label(w, l, family);
		if (err)
			return err;
	}
	if (w->sample) {
		w->sample[w->nsample].value = nla_get_u64(tb[NLPROTO_SAMPLE_VALUE]);
		w->sample[w->nsample].label = w->label + first;
		w->sample[w->nsample].nlabel = w->nlabel - first;
	}
	w->nsample++;
	return 0;
}

static int walk_metric(struct walk *w, struct nlattr *nla, struct nlproto_metric *out)
{
	struct nlattr *tb[NLPROTO_METRIC_MAX + 1], *s;
	size_t first = w->nsample;
	const char *name;
	int err, rem;

	err = walk_nested(w, tb, NLPROTO_METRIC_MAX, nla, metric_policy);
	if (err)
		return err;
	name = nlproto_str(tb[NLPROTO_METRIC_NAME]);
	if (!nlproto_metric_name_ok(name)) {
		snprintf(w->msg, w->msglen, "metric %zu: no valid name", w->nmetric + 1);
		return -EINVAL;
	}
	nla_for_each_nested(s, nla, rem)
	{
		if (nla_type(s) != NLPROTO_METRIC_SAMPLE)
			continue;
		err = walk_sample(w, s, name);
		if (err)
			return err;
	}
	if (out) {
		out->name = name;
		out->type = nlproto_str(tb[NLPROTO_METRIC_TYPE]);
		out->help = nlproto_str(tb[NLPROTO_METRIC_HELP]);
		out->sample = w->sample + first;
		out->nsample = w->nsample - first;
	}
	w->nmetric++;
	return 0;
}

static int walk(struct walk *w, struct nlproto_metrics *ms)
{
	struct nlattr *nla;
	int err, rem;

	w->nmetric = w->nsample = w->nlabel = 0;
	nlmsg_for_each_attr(nla, (struct nlmsghdr *)w->nlh, 0, rem)
	{
		if (nla_type(nla) != NLPROTO_A_METRIC)
			continue;
		err = walk_metric(w, nla, ms->metric ? &ms->metric[w->nmetric] : NULL);
		if (err)
			return err;
	}
	return 0;
}

int nlproto_parse_metrics(const struct nlmsghdr *nlh, struct nlproto_metrics *out, char *msg,
			  size_t msglen)
{
	struct nlattr *tb[NLPROTO_A_MAX + 1];
	struct walk w = {.nlh = nlh, .msg = msg, .msglen = msglen};
	size_t nm, ns, nl;
	char *p;
	int err;

	memset(out, 0, sizeof(*out));
	err = nlproto_parse(nlh, tb, msg, msglen, NULL);
	err = err ?: walk(&w, out);
	if (err)
		return err;
	nm = w.nmetric;
	ns = w.nsample;
	nl = w.nlabel;
	/* One block; + 1 each so that an empty answer still allocates. */
	p = calloc(1, (nm + 1) * sizeof(*out->metric) + (ns + 1) * sizeof(*w.sample) +
			      (nl + 1) * sizeof(*w.label));
	if (!p)
		return -ENOMEM;
	out->mem = p;
	out->metric = (struct nlproto_metric *)p;
	w.sample = (struct nlproto_sample *)(p + (nm + 1) * sizeof(*out->metric));
	w.label = (struct nlproto_label *)((char *)w.sample + (ns + 1) * sizeof(*w.sample));
	err = walk(&w, out);
	if (err)
		return err;
	out->nmetric = w.nmetric;
	return 0;
}

void nlproto_metrics_free(struct nlproto_metrics *ms)
{
	free(ms->mem);
	memset(ms, 0, sizeof(*ms));
}
