// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer: policy/dane*.c's record parsers and lookup on arbitrary bytes.  The input is a list
 * of records, each a length byte and that many bytes of rdata; they are parsed as TLSA, MX and a
 * wire name, then given as the answer to every question of a lookup (MX, A, AAAA, TLSA), each
 * judged secure/insecure/bogus/failed as input bytes say.  Beyond the sanitizers it traps when a
 * promise breaks: names are lower case without a trailing dot, usable TLSA records have a known
 * usage/selector and a digest of the right size, states are in range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXRR 64

static struct {
	const unsigned char *rr[MAXRR];
	size_t len[MAXRR];
	size_t n;
	policy_dane_done_fn done[256];
	void *arg[256];
	size_t nq;
} S;

static int fz_start(void *t, const char *name, uint16_t type, policy_dane_done_fn done, void *arg,
		    int *id)
{
	(void)t;
	(void)name;
	(void)type;
	if (S.nq == 256)
		return -1;
	S.done[S.nq] = done;
	S.arg[S.nq] = arg;
	*id = (int)S.nq++;
	return 0;
}

static void fz_cancel(void *t, int id)
{
	(void)t;
	S.done[id] = NULL;
}

static void check_name(const char *n)
{
	size_t l = strnlen(n, POLICY_DANE_NAME_MAX);

	if (l == POLICY_DANE_NAME_MAX || (l && n[l - 1] == '.'))
		__builtin_trap();
	for (size_t i = 0; i < l; i++)
		if (n[i] >= 'A' && n[i] <= 'Z')
			__builtin_trap();
}

static void fz_result(void *arg, const struct policy_dane_domain *d)
{
	(void)arg;
	if (d->state > POLICY_DANE_FAILED || d->nhost > POLICY_DANE_MAX_HOSTS)
		__builtin_trap();
	for (size_t h = 0; h < d->nhost; h++) {
		const struct policy_dane_host *x = &d->host[h];

		check_name(x->name);
		check_name(x->base);
		if (x->state > POLICY_DANE_FAILED || x->ntlsa > POLICY_DANE_MAX_TLSA ||
		    (x->state == POLICY_DANE_USABLE) != (x->ntlsa > 0))
			__builtin_trap();
		for (size_t i = 0; i < x->ntlsa; i++) {
			const struct policy_dane_tlsa *t = &x->tlsa[i];

			if ((t->usage != 2 && t->usage != 3) || t->selector > 1 || t->mtype > 2 ||
			    (t->mtype == 1 && t->len != 32) || (t->mtype == 2 && t->len != 64))
				__builtin_trap();
			(void)t->data[t->len - 1];
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct policy_dane_transport tr = {fz_start, fz_cancel, NULL};
	/* Exact-size copies, so that any read past the end is caught. */
	unsigned char *copy = malloc(size ? size : 1);
	unsigned char *recs[MAXRR];
	struct policy_dane_lookup *l;
	size_t off = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	memset(&S, 0, sizeof(S));
	while (off < size && S.n < MAXRR) {
		size_t len = copy[off++];
		struct policy_dane_tlsa t;
		char name[POLICY_DANE_NAME_MAX];
		uint16_t pref;

		if (len > size - off)
			len = size - off;
		recs[S.n] = malloc(len ? len : 1);
		if (!recs[S.n])
			break;
		memcpy(recs[S.n], copy + off, len);
		off += len;
		if (policy_dane_tlsa_parse(recs[S.n], len, &t) > POLICY_DANE_TLSA_MALFORMED)
			__builtin_trap();
		if (!policy_dane_mx_parse(recs[S.n], len, &pref, name))
			check_name(name);
		if (policy_dane_wire_name(recs[S.n], len, name, sizeof(name)) > (int)len)
			__builtin_trap();
		S.rr[S.n] = recs[S.n];
		S.len[S.n] = len;
		S.n++;
	}
	if (!policy_dane_lookup_domain(&tr, "example.test", fz_result, NULL, &l)) {
		for (size_t i = 0; i < S.nq; i++) {
			/* How each answer is judged comes from the input too: byte i's low bits. */
			unsigned char f = size ? copy[i % size] : 0;
			struct policy_dane_answer a = {.secure = !(f & 1),
						       .bogus = f & 2,
						       .nxdomain = f & 4,
						       .rcode = f & 8 ? 2 : 0,
						       .n = f & 16 ? 0 : S.n,
						       .data = S.rr,
						       .len = S.len,
						       .canonname = f & 32 ? "Alias.Test." : NULL};

			if (S.done[i])
				S.done[i](S.arg[i], &a);
		}
	}
	for (size_t i = 0; i < S.n; i++)
		free(recs[i]);
	free(copy);
	return 0;
}
