/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tlsgated's configuration: /etc/tlsgate/tlsgate.conf, `key = value` lines in the manner of
 * Postfix's main.cf (# comments, whitespace-led continuation lines), overridable per key on the
 * command line with -o key=value.  Every key, its default and meaning is in the table in
 * config.c (and in tlsgate.conf(5)).
 */
#ifndef TLSGATE_DAEMON_CONFIG_H
#define TLSGATE_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "smtp/received_own.h"

#define CONFIG_MAX_ADDRS 8
#define CONFIG_MAX_CERTS 4
#define CONFIG_MAX_IFS 16
#define CONFIG_MAX_PORTS 16
#define CONFIG_MAX_PREFIXES 64

struct config_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[128];		/* as configured, for logs */
};

/* "eth1 eth2": interface names, checked for length and characters, not for existence. */
struct config_ifaces {
	unsigned int n;
	char name[CONFIG_MAX_IFS][16];	/* IFNAMSIZ */
};

/* "25 587": TCP ports, 1..65535. */
struct config_ports {
	unsigned int n;
	uint16_t port[CONFIG_MAX_PORTS];
};

/* "192.0.2.50/32 2001:db8:1::/48": address prefixes (no prefix length: a host). */
struct config_prefix {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network byte order */
	uint8_t len;
};

struct config_prefixes {
	unsigned int n;
	struct config_prefix p[CONFIG_MAX_PREFIXES];
};

struct config_cert {
	char *cert_file;	/* PEM chain */
	char *key_file;
};

struct config {
	char *hostname;		/* our name: EHLO toward others, Received "by" */
	unsigned int workers;	/* 0 = one per online CPU */
	unsigned int max_sessions;	/* daemon-wide; fitted to RLIMIT_NOFILE at start */
	bool ktls;		/* try kernel TLS at all */

	/* outbound: inside MTAs -> the internet */
	struct config_addr outbound_listen[CONFIG_MAX_ADDRS];
	unsigned int n_outbound_listen;
	bool outbound_transparent;	/* listener takes steered connections (IP_TRANSPARENT) */
	struct config_addr outbound_forward;	/* static next hop instead of the original dst */
	bool has_outbound_forward;
	char *outbound_forward_host;	/* the MX name for SNI/verification in forward mode */
	char *outbound_policy;	/* Postfix smtp_tls_policy_maps source file */
	char *inbound_policy;
	char *tls_ca_file;
	char *tls_ca_path;
	uint32_t relay_mark;	/* also SO_MARK our outbound sockets (0: no; needs user = root) */

	/* inbound: external senders -> inside MTA */
	struct config_addr inbound_listen[CONFIG_MAX_ADDRS];
	unsigned int n_inbound_listen;
	struct config_addr inbound_next_hop;
	bool has_inbound_next_hop;
	struct config_cert certs[CONFIG_MAX_CERTS];
	unsigned int n_certs;
	char *inbound_tls_protocols;	/* Postfix syntax, default ">=TLSv1.2" */
	char *inbound_tls_ciphers;	/* OpenSSL cipher list for TLS 1.2 */
	char *inbound_tls_ciphersuites;	/* TLS 1.3 suites */
	char *inbound_require_tls_reply;	/* "530 5.7.0 Must issue a STARTTLS command first" */
	bool inbound_x_tlsgate_header;	/* also add X-Tlsgate-TLS: */
	/* X-Tlsgate-Transport-Security: the chain's verdict in plain words (received_verdict.h) */
	bool inbound_security_header;
	char *own_mail_servers;		/* as written; parsed: */
	struct received_own own_servers;

	/* timeouts, seconds (RFC 5321 §4.5.3.2 defaults) */
	unsigned int connect_timeout, helo_timeout, mail_timeout, rcpt_timeout;
	unsigned int data_init_timeout, data_xfer_timeout, data_done_timeout;
	unsigned int starttls_timeout, server_timeout, quit_timeout, shutdown_timeout;
	/* slow and erring clients: a deadline per command, a minimum body rate, an error limit */
	unsigned int command_deadline, min_data_rate, hard_error_limit;
	/* per client address (inbound): open sessions, connections a minute; the first command */
	unsigned int inbound_client_connection_limit, inbound_client_rate_limit;
	unsigned int first_command_timeout;
	/* outbound connection reuse: on/off, how long an idle connection is kept (seconds), how
	 * many a worker keeps idle at most, how long one connection is used at all (0: no limit) */
	bool outbound_connection_reuse;
	unsigned int outbound_connection_reuse_time_limit, outbound_connection_reuse_limit;
	unsigned int outbound_connection_reuse_lifetime;

	char *user;		/* run as this user after set-up (NULL: "tlsgate" if it exists) */
	char *run_dir;
	char *state_dir;
	char *bpf_pin_dir;

	/* eBPF: steering (inside interfaces) and enforcement (outside interfaces) */
	/* Each list as written (for logs) and parsed, so a typo fails at start or --check-config. */
	char *inside_interfaces;	/* "eth1 eth2": steer port-25 connections to us */
	struct config_ifaces inside_ifs;
	char *outside_interfaces;	/* "eth0": enforce TLS for TLS-required destinations */
	struct config_ifaces outside_ifs;
	char *steer_ports;		/* "25" */
	struct config_ports steer_port_list;
	char *enforce_ports;		/* policed as SMTP but not steered: "587" */
	struct config_ports enforce_port_list;
	char *implicit_tls_ports;	/* "465": policed as TLS from the first byte, never steered */
	struct config_ports implicit_tls_port_list;
	char *steer_exclude;		/* inside prefixes never steered: "192.0.2.50/32 ..." */
	struct config_prefixes steer_exclude_list;
	bool steer_inbound;		/* also steer port 25 arriving on the outside interfaces */
	/* outbound_policy_mode / inbound_policy_mode = monitor: every rule of that table is in
	 * monitor mode (as if it said mode=monitor; docs/POLICY.md "Monitor mode") */
	bool outbound_policy_monitor, inbound_policy_monitor;
	bool may_down_enforce;		/* may destinations while we are down: drop plaintext */
	/* DNS for resolving policy domains to addresses (the kernel enforcer's view) */
	bool resolve;
	char *dns_server;		/* "203.0.113.53[:port]"; empty: /etc/resolv.conf */
	char *ctl_group;		/* read access to the control socket */
	/* MTA-STS (daemon/sts_fetch.h): WebPKI roots for the policy servers, a fetch's deadline,
	 * the cache's bound (STATE_DIR/mta-sts/) */
	char *mta_sts_ca_file;
	unsigned int mta_sts_timeout;
	unsigned int mta_sts_cache_max;
	/* Outbound destination policy per recipient domain (daemon/destpol.h): DANE (RFC 7672)
	 * and MTA-STS, from the gateway's own validating resolution (dns_server its forwarder) */
	bool outbound_dane;
	bool outbound_mta_sts;
	char *dane_trust_anchor;	/* DS/DNSKEY file (dns-root-data's root key) */
	unsigned int destination_cache_ttl;
	unsigned int destination_lookup_timeout;
	/* MX addresses every looked-up domain on them requires TLS toward (DANE, MTA-STS
	 * enforce) become encrypt in the kernel enforcer (daemon/destkern.h) */
	bool enforce_destination_policy;
	/* NIC TLS offload (daemon/nic.h): per outside interface auto (report), on (set the
	 * ethtool bits), off (clear them): "on", or "eth0:on eth1:auto" */
	char *nic_offload;
	bool nic_offload_prefer;	/* outbound: TLS 1.2 AES-GCM where the egress NIC offloads */
	bool ktls_tx_zerocopy_ro;	/* TLS_TX_ZEROCOPY_RO on device-offloaded TX */
	bool ktls_rx_expect_no_pad;	/* TLS_RX_EXPECT_NO_PAD on TLS 1.3 kernel RX */
	/* TLS session resumption toward destinations (daemon/tls_resume.h): on/off, the cache's
	 * bound in sessions, and the longest a session is offered again (seconds) */
	bool outbound_tls_session_cache;
	unsigned int outbound_tls_session_cache_size;
	unsigned int outbound_tls_session_cache_timeout;
	/* TLS reports, RFC 8460 (daemon/tlsrpt.h): the built-in daily reporter, or with
	 * tlsrpt_socket each result as a datagram to tlsrpt-collectd (fleet) */
	bool tlsrpt;
	char *tlsrpt_organization;	/* organization-name; NULL: hostname */
	char *tlsrpt_contact;		/* contact-info */
	char *tlsrpt_sender;		/* From: of report mail, base of the envelope sender */
	char *tlsrpt_submission;	/* "host:port": the MTA report mail is submitted to */
	char *tlsrpt_dkim_key;		/* PEM RSA key the report mail is signed with */
	char *tlsrpt_dkim_selector;
	char *tlsrpt_dkim_domain;	/* d=; NULL: tlsrpt_sender's domain */
	char *tlsrpt_socket;		/* tlsrpt-collectd's unix datagram socket: fleet mode */
	unsigned int tlsrpt_retry;	/* the first retry of a report; doubles up to 4 h */
	unsigned int tlsrpt_timeout;	/* one delivery */
	/* The posture store (report/posture.h, STATE_DIR/posture/): days kept (0: none kept,
	 * nothing recorded), domains per direction and day, how often today's file is written */
	unsigned int posture_days;
	unsigned int posture_max_domains;
	unsigned int posture_flush_interval;
};

/* Defaults in *c (strings allocated). */
void config_defaults(struct config *c);
/*
 * Read FILE into c (on top of what is there), then apply overrides ("key=value", NULL-terminated).
 * Errors: "tlsgate.conf:12: unknown key 'outbond_policy'" in err; returns 0 or -errno.
 */
int config_load(struct config *c, const char *file, const char *const *overrides, char *err,
		size_t errlen);
/* Set one key; used by config_load and -o.  0 or -EINVAL/-ENOENT with err filled. */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen);
void config_free(struct config *c);

/* "192.0.2.1:25", "[2001:db8::1]:25", "*:25" (both families), "localhost:25" -> ss */
int config_parse_addr(const char *s, struct config_addr *out);
/* "192.0.2.0/24", "2001:db8::1" -> prefix; -EINVAL when malformed */
int config_parse_prefix(const char *s, struct config_prefix *out);
/* "30s", "5m", "1h", "30" -> seconds */
int config_parse_duration(const char *s, unsigned int *out);

#endif
