// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inbound table: who must use STARTTLS when sending mail to the gateway.  Same file syntax as
 * the outbound (Postfix) table -- comments, continuation lines, one entry per logical line --
 * with smtpd's levels only and no attributes:
 *
 *     # KEY              LEVEL     (none: do not offer STARTTLS, may: offer, encrypt: require)
 *     192.0.2.0/24       encrypt   client address or CIDR, IPv4 or IPv6
 *     2001:db8:5::/48    may
 *     example.com        encrypt   MAIL FROM domain, exact
 *     .example.com       encrypt   MAIL FROM domain, any name below it
 *
 * A client address rule applies from the greeting on; a sender domain rule from MAIL FROM (it
 * can only tighten what the address rule says: the strictest level wins, see policy.h).
 */
#include <errno.h>

#include "policy/parse.h"

int policy_parse_inbound_entry(const struct policy_tbl_reader *t, struct policy_rule *r,
			       struct policy_error *err)
{
	struct policy_tbl_tok tok, level_tok;
	size_t pos;
	int rc;

	rc = policy_parse_key_level(t, POLICY_INBOUND, r, &pos, &level_tok, err);
	if (rc)
		return rc;
	rc = policy_tbl_token(t, &pos, ", \t\r\n\v\f", &tok, err);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		policy_tbl_error(err, t, tok.start - tok.brace, "unexpected '%.*s' after the level (the "
			  "inbound table takes no attributes)", (int)tok.len, t->buf + tok.start);
		return -EINVAL;
	}
	return 0;
}
