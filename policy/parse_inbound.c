// SPDX-License-Identifier: GPL-2.0-only
/*
 * The inbound table: who must use STARTTLS when sending mail to the gateway.  Same file syntax as
 * the outbound (Postfix) table -- comments, continuation lines, one entry per logical line --
 * with smtpd's levels only and one attribute, tlsgate's mode=monitor|enforce (docs/POLICY.md
 * "Monitor mode"):
 *
 *     # KEY              LEVEL     (none: do not offer STARTTLS, may: offer, encrypt: require)
 *     192.0.2.0/24       encrypt   client address or CIDR, IPv4 or IPv6
 *     2001:db8:5::/48    may
 *     example.com        encrypt   MAIL FROM domain, exact
 *     .example.com       encrypt   MAIL FROM domain, any name below it
 *     198.51.100.0/24    encrypt mode=monitor   would refuse plaintext: logged, delivered
 *
 * A client address rule applies from the greeting on; a sender domain rule from MAIL FROM (it
 * can only tighten what the address rule says: the strictest level wins, see policy.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "policy/parse.h"

#define SEPS ", \t\r\n\v\f"

int policy_parse_inbound_entry(const struct policy_tbl_reader *t, struct policy_rule *r,
			       struct policy_error *err)
{
	struct policy_tbl_tok tok, level_tok;
	size_t pos;
	int rc;

	rc = policy_parse_key_level(t, POLICY_INBOUND, r, &pos, &level_tok, err);
	if (rc)
		return rc;
	rc = policy_tbl_token(t, &pos, SEPS, &tok, err);
	if (rc < 0)
		return rc;
	if (rc > 0 && !tok.brace && tok.len > 5 && !strncasecmp(t->buf + tok.start, "mode=", 5)) {
		if (policy_mode_parse(t->buf + tok.start + 5, tok.len - 5, &r->monitor)) {
			policy_tbl_error(err, t, tok.start + 5, "mode: invalid value '%.*s' (expected "
					 "monitor or enforce)", (int)tok.len - 5, t->buf + tok.start + 5);
			return -EINVAL;
		}
		if (r->monitor && r->level != POLICY_ENCRYPT)
			policy_tbl_warn(t, tok.start, "mode=monitor has no effect at level %s (it "
					"refuses nothing)", policy_level_name(r->level));
		rc = policy_tbl_token(t, &pos, SEPS, &tok, err);
		if (rc < 0)
			return rc;
	}
	if (rc > 0) {
		policy_tbl_error(err, t, tok.start - tok.brace, "unexpected '%.*s' after the level (the "
			  "inbound table takes no attributes but mode=)", (int)tok.len,
			  t->buf + tok.start);
		return -EINVAL;
	}
	return 0;
}
