/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A few values of tlsgate.conf for commands that work without the daemon (`dane check`:
 * dane_trust_anchor, dns_server; `explain`: own_mail_servers; `report`: state_dir,
 * posture_max_domains).  ctl/ may not include daemon/, and the daemon's reader would refuse keys it
 * does not know, so the wanted keys are picked out of the logical lines of lib/conffile.h, the
 * reader the daemon uses too (a continued line is one value for both).
 */
#ifndef TLSGATE_CTL_CONF_H
#define TLSGATE_CTL_CONF_H

#define CTL_CONF_DEFAULT "/etc/tlsgate/tlsgate.conf"

/*
 * For each keys[i] (NULL-terminated) found in file, values[i] becomes a malloc'd copy of its
 * value (the caller frees; a later line wins).  file NULL: CTL_CONF_DEFAULT, and its absence is
 * no error; a named file must exist.  Returns 0 or an error already printed (ctl_fail).
 */
int ctl_conf_read(const char *file, const char *const *keys, char **values);

#endif
