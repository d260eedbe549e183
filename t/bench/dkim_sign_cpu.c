/*
 * dkim_sign_cpu - the CPU one DKIM signature costs, without Postfix or the
 * milter around it: N messages (default 2000) of five header fields and a
 * 4 KB body, each canonicalized, hashed and signed with the key in FILE,
 * as moat-contentfilter does at end of message. Prints ms of CPU per
 * message. Run by t/bench/dkim-sign-bench.sh; built by "make bench".
 *
 *   t/bench/dkim_sign_cpu KEYFILE [N]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/dkim_keys.h"
#include "auth/dkim_sign.h"
#include "core/sbuf.h"

static const char *hdrs[][2] = {
    {"From", "<bench@example.org>"},
    {"To", "<user@example.com>"},
    {"Subject", "dkim-bench"},
    {"Date", "Thu, 03 Dec 2026 16:00:00 +0000"},
    {"Message-Id", "<1234.5678@moat-client.localdomain>"},
};

int main(int argc, char **argv)
{
	static char body[4096];
	struct dkim_signkey k;
	struct timespec a, b;
	char err[256];
	int n = argc > 2 ? atoi(argv[2]) : 2000;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: dkim_sign_cpu KEYFILE [N]\n");
		return 2;
	}
	if (dkim_keys_load(argv[1], &k, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	snprintf(k.domain, sizeof(k.domain), "example.org");
	snprintf(k.selector, sizeof(k.selector), "mail");
	memset(body, 'x', sizeof(body));
	for (size_t i = 78; i < sizeof(body); i += 78) {
		body[i - 2] = '\r';
		body[i - 1] = '\n';
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (int i = 0; i < n; i++) {
		struct dkim_sign *s = dkim_sign_new();
		struct sbuf out;

		sbuf_init(&out);
		for (size_t h = 0; h < sizeof(hdrs) / sizeof(hdrs[0]); h++)
			dkim_sign_header(s, hdrs[h][0], strlen(hdrs[h][0]), hdrs[h][1],
			                 strlen(hdrs[h][1]));
		dkim_sign_body(s, body, sizeof(body));
		if (dkim_sign_make(s, &k, 1700000000, 0, "\n\t", &out, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		sbuf_free(&out);
		dkim_sign_free(s);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	printf("%s %d bits: %.4f ms CPU per message (%d messages, 4 KB body)\n",
	       k.k == DKIM_KEY_RSA ? "RSA" : "Ed25519", k.bits,
	       ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6) / n,
	       n);
	dkim_signkey_clear(&k);
	return 0;
}
