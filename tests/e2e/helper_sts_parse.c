// SPDX-License-Identifier: GPL-2.0-only
/*
 * For the MTA-STS parser differential (tests/e2e/test_mta_sts_parsers.sh): reads one case per
 * file and prints what policy/sts.c makes of it, one line per file, in the format
 * tests/lib/sts_peer_parse.js prints for the other implementation:
 *   helper_sts_parse policy FILE...   NAME ok MODE MAX_AGE MX,MX (sorted, unique) | NAME invalid
 *   helper_sts_parse txt FILE...      (one TXT record a line: the RRset of _mta-sts.DOMAIN)
 *                                     NAME id ID | NAME noid | NAME multi
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/sts.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(POLICY_STS_MAX_BODY + 2);
	size_t n;

	if (!f || !buf) {
		perror(path);
		exit(2);
	}
	n = fread(buf, 1, POLICY_STS_MAX_BODY + 1, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void one_policy(const char *name, const char *text, size_t len)
{
	struct policy_sts_policy p;
	char why[256];

	if (policy_sts_policy_parse(text, len, &p, why, sizeof(why))) {
		printf("%s invalid\n", name);
		return;
	}
	printf("%s ok %s %u ", name, policy_sts_mode_name(p.mode), p.max_age);
	qsort(p.mx, p.nmx, sizeof(*p.mx), cmp_str);
	for (size_t i = 0, out = 0; i < p.nmx; i++) {
		if (i && !strcmp(p.mx[i], p.mx[i - 1]))
			continue;
		printf("%s%s", out++ ? "," : "", p.mx[i]);
	}
	printf("\n");
	policy_sts_policy_clear(&p);
}

/* The records as a DNS answer (each one character-string of at most 255 bytes). */
static void one_txt(const char *name, char *text)
{
	static const unsigned char q[] = { 8, '_', 'm', 't', 'a', '-', 's', 't', 's', 7, 'e', 'x',
					   'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
					   0, ns_t_txt, 0, 1 };
	unsigned char m[65536] = { 0, 0, 0x81, 0x80, 0, 1 };
	char id[POLICY_STS_ID_MAX + 1], why[256], *save = NULL;
	size_t n = 12, an = 0;
	int rc;

	memcpy(m + n, q, sizeof(q));
	n += sizeof(q);
	for (char *r = strtok_r(text, "\n", &save); r; r = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(r);

		if (l > 255 || n + 13 + l > sizeof(m)) {
			fprintf(stderr, "%s: record too long for this helper\n", name);
			exit(2);
		}
		memcpy(m + n, (unsigned char[]){ 0xc0, 12, 0, ns_t_txt, 0, 1, 0, 0, 0, 60 }, 10);
		n += 10;
		m[n++] = (unsigned char)((l + 1) >> 8);
		m[n++] = (unsigned char)(l + 1);
		m[n++] = (unsigned char)l;
		memcpy(m + n, r, l);
		n += l;
		an++;
	}
	m[6] = (unsigned char)(an >> 8);
	m[7] = (unsigned char)an;
	rc = policy_sts_txt_answer(m, n, id, why, sizeof(why));
	if (!rc)
		printf("%s id %s\n", name, id);
	else
		printf("%s %s\n", name, strstr(why, "exactly one") ? "multi" : "noid");
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "policy") && strcmp(argv[1], "txt"))) {
		fprintf(stderr, "usage: helper_sts_parse policy|txt FILE...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		size_t len;
		char *text = slurp(argv[i], &len);

		if (!strcmp(argv[1], "policy"))
			one_policy(basename(argv[i]), text, len);
		else
			one_txt(basename(argv[i]), text);
		free(text);
	}
	return 0;
}
