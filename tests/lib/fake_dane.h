/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A DNS transport for policy/dane.h that answers nothing by itself: it records each question
 * (tests answer them through the recorded done/arg, and see what was asked and cancelled), and
 * can refuse to start one (all, or those of one type) as a failing resolver would.
 */
#ifndef TLSGATE_TESTS_FAKE_DANE_H
#define TLSGATE_TESTS_FAKE_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/dane.h"

#define TG_FAKE_DANE_MAX 512

struct tg_fake_dane_q {
	char name[300];
	uint16_t type;
	policy_dane_done_fn done;
	void *arg;
	int id;
	bool live;		/* asked, not answered or cancelled yet */
};

struct tg_fake_dane {
	struct tg_fake_dane_q q[TG_FAKE_DANE_MAX];
	size_t nq;
	int cancelled;
	bool refuse;		/* start() fails (-ENOMEM) for every question */
	uint16_t refuse_type;	/* ... or for this type (0: none) */
};

/* The transport over f (which the caller keeps and clears as it likes). */
void tg_fake_dane_transport(struct tg_fake_dane *f, struct policy_dane_transport *tr);

#endif
