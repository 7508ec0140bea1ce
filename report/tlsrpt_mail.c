// SPDX-License-Identifier: GPL-2.0-only
/* A TLS report as mail (RFC 8460 5.3): see report/tlsrpt.h. */
#include "report/tlsrpt.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tlsrpt_mailto_addr(const char *uri, char *addr, size_t len)
{
	const char *p = uri + 7;
	size_t n = 0;
	unsigned int at = 0;

	if (strncasecmp(uri, "mailto:", 7))
		return -EINVAL;
	for (; *p && *p != '?'; p++) {
		char c = *p;

		if (c == '%') {
			int h = hex(p[1]), l = h < 0 ? -1 : hex(p[2]);

			if (h < 0 || l < 0)
				return -EINVAL;
			c = (char)(h * 16 + l);
			p += 2;
		}
		/* one address: a list ("a@x,b@y") in one URI is not something we send to */
		if ((unsigned char)c <= ' ' || c == '<' || c == '>' || c == ',' || c == '"' ||
		    (unsigned char)c >= 0x7f)
			return -EINVAL;
		if (c == '@')
			at++;
		if (n + 1 >= len)
			return -EINVAL;
		addr[n++] = c;
	}
	addr[n] = '\0';
	if (at != 1 || addr[0] == '@' || addr[n - 1] == '@')
		return -EINVAL;
	return 0;
}

int tlsrpt_mail_build(const struct tlsrpt_mail *m, const unsigned char *gz, size_t gzlen,
		      char **msg, size_t *len)
{
	char date[64], boundary[64];
	time_t t = (time_t)m->date;
	struct tm tm;
	unsigned char line[57];
	char enc[80];
	FILE *f = open_memstream(msg, len);

	if (!f)
		return -ENOMEM;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(boundary, sizeof(boundary), "tlsrpt-%" PRId64 "-%zu", m->date, gzlen);
	fprintf(f, "From: <%s>\r\n", m->from);
	fprintf(f, "To: <%s>\r\n", m->to);
	/* §5.3: the subject names the domain, the submitter and the report */
	fprintf(f, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n", m->domain,
		m->submitter, m->report_id);
	fprintf(f, "Date: %s\r\n", date);
	fprintf(f, "Message-ID: <%s>\r\n", m->report_id);
	fprintf(f, "MIME-Version: 1.0\r\n");
	fprintf(f, "TLS-Report-Domain: %s\r\n", m->domain);
	fprintf(f, "TLS-Report-Submitter: %s\r\n", m->submitter);
	fprintf(f, "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"%s\"\r\n",
		boundary);
	fprintf(f, "\r\n");
	fprintf(f, "This is a multipart message in MIME format.\r\n\r\n");
	fprintf(f, "--%s\r\n", boundary);
	fprintf(f, "Content-Type: text/plain; charset=\"us-ascii\"\r\n");
	fprintf(f, "Content-Transfer-Encoding: 7bit\r\n\r\n");
	fprintf(f, "This is an aggregate TLS report (RFC 8460) from %s\r\nfor %s.\r\n\r\n",
		m->submitter, m->domain);
	fprintf(f, "--%s\r\n", boundary);
	fprintf(f, "Content-Type: application/tlsrpt+gzip\r\n");
	fprintf(f, "Content-Transfer-Encoding: base64\r\n");
	fprintf(f, "Content-Disposition: attachment;\r\n\tfilename=\"%s\"\r\n\r\n", m->filename);
	for (size_t i = 0; i < gzlen; i += sizeof(line)) {
		size_t n = gzlen - i < sizeof(line) ? gzlen - i : sizeof(line);

		memcpy(line, gz + i, n);
		EVP_EncodeBlock((unsigned char *)enc, line, (int)n);
		fprintf(f, "%s\r\n", enc);
	}
	fprintf(f, "\r\n--%s--\r\n", boundary);
	if (ferror(f) | fclose(f)) {
		free(*msg);
		*msg = NULL;
		return -ENOMEM;
	}
	return 0;
}
