/* SPDX-License-Identifier: GPL-2.0-only */
/* The entry parsers of policy/parse_outbound.c and policy/parse_inbound.c (internal). */
#ifndef TLSGATE_POLICY_PARSE_H
#define TLSGATE_POLICY_PARSE_H

#include "policy/policy_int.h"

/* An attribute's name and value as offsets into the logical line. */
struct attr {
	size_t name_off, name_len;
	size_t val_off, val_len;
};

/* KEY and LEVEL, shared by both tables; *pos is left after the level token. */
int policy_parse_key_level(const struct policy_tbl_reader *t, enum policy_dir dir, struct policy_rule *r,
		    size_t *pos, struct policy_tbl_tok *level_tok, struct policy_error *err);

/* Parse the current logical line of t into r (r zeroed by the caller; cleared by it on error). */
int policy_parse_outbound_entry(const struct policy_tbl_reader *t, struct policy_rule *r,
				struct policy_error *err);
int policy_parse_inbound_entry(const struct policy_tbl_reader *t, struct policy_rule *r,
			       struct policy_error *err);

/* Either of the above by direction; sets r->dir and r->line; r cleared on error.  0, 1 when
 * the entry is skipped (table mode, t->diags: a warning says why), -EINVAL, -ENOMEM. */
int policy_parse_entry(const struct policy_tbl_reader *t, enum policy_dir dir, struct policy_rule *r,
		       struct policy_error *err);

#endif
