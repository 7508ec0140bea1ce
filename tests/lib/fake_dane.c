// SPDX-License-Identifier: GPL-2.0-only
/* A recording DNS transport for policy/dane.h (tests/lib/fake_dane.h). */
#include "tests/lib/fake_dane.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int fake_start(void *t, const char *name, uint16_t type, policy_dane_done_fn done,
		      void *arg, int *id)
{
	struct tg_fake_dane *f = t;
	struct tg_fake_dane_q *q;

	if (f->refuse || (f->refuse_type && type == f->refuse_type))
		return -ENOMEM;
	if (f->nq == TG_FAKE_DANE_MAX) {
		fprintf(stderr, "fake_dane: more than %d questions\n", TG_FAKE_DANE_MAX);
		abort();
	}
	q = &f->q[f->nq];
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->type = type;
	q->done = done;
	q->arg = arg;
	q->id = (int)f->nq + 100; /* not 0: an id is never confused with "none" */
	q->live = true;
	*id = q->id;
	f->nq++;
	return 0;
}

static void fake_cancel(void *t, int id)
{
	struct tg_fake_dane *f = t;

	for (size_t i = 0; i < f->nq; i++)
		if (f->q[i].id == id && f->q[i].live) {
			f->q[i].live = false;
			f->cancelled++;
		}
}

void tg_fake_dane_transport(struct tg_fake_dane *f, struct policy_dane_transport *tr)
{
	*tr = (struct policy_dane_transport){ fake_start, fake_cancel, f };
}
