/*
 * fuzz_clamav - a clamd reply as the client reads it (shared/scan/clamav.c),
 * and the same bytes as a message for the cache key. Checked: the kind is
 * one of clamav.h's, a name is within CLAMAV_NAME_MAX and only of the bytes
 * an SMTP reply may quote, an error text printable and NUL-terminated, a
 * failure always says why and a verdict that is no failure never does.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scan/clamav.h"

static void check_text(const char *s, size_t size, const char *allowed)
{
	size_t n = strnlen(s, size);

	if (n == size)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ||
		    (allowed && strchr(allowed, s[i]) == NULL))
			abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char name_bytes[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                 "0123456789._:/+-";
	struct clamav_verdict v;
	unsigned char key[32];

	memset(&v, 0x7f, sizeof(v));
	clamav_parse_reply((const char *)data, size, &v);
	if (v.kind > CLAMAV_FAIL)
		abort();
	if (v.kind == CLAMAV_FAIL) {
		check_text(v.err, sizeof(v.err), NULL);
		if (v.err[0] == '\0')
			abort();
	} else if (v.kind != CLAMAV_CLEAN) {
		check_text(v.name, sizeof(v.name), name_bytes);
		if (v.name[0] == '\0')
			abort();
	}
	clamav_digest((const char *)data, size, key);
	return 0;
}
