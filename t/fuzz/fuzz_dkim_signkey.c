/*
 * fuzz_dkim_signkey - private key files for DKIM signing (shared/auth/
 * dkim_signkey.c dkim_signkey_parse: PEM, base64 raw Ed25519) and DMS key
 * file names (dkim_keys_dms_name, on the first line). Promises checked: a
 * key that parses is RSA of 1024 to 8192 bits or Ed25519 and signs a
 * message; a name that parses gives a non-empty domain and selector
 * within their sizes, the selector without '-'.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "auth/dkim_keys.h"
#include "auth/dkim_sign.h"
#include "core/sbuf.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void check_name(const uint8_t *data, size_t size)
{
	char name[512], d[DKIM_DOMAIN_MAX + 1], s[DKIM_SELECTOR_MAX + 1];
	size_t n = 0;

	while (n < size && n < sizeof(name) - 1 && data[n] != '\n' && data[n] != '\0') {
		name[n] = (char)data[n];
		n++;
	}
	name[n] = '\0';
	if (dkim_keys_dms_name(name, d, sizeof(d), s, sizeof(s)) == 0 &&
	    (!*d || !*s || strchr(s, '-') || strlen(d) > DKIM_DOMAIN_MAX))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_signkey key = {0};
	struct dkim_sign *s;
	struct sbuf out;
	char err[256];

	check_name(data, size);
	if (dkim_signkey_parse((const char *)data, size, &key, err, sizeof(err)) < 0)
		return 0;
	if (key.pkey == NULL || (key.k == DKIM_KEY_RSA && (key.bits < 1024 || key.bits > 8192)) ||
	    (key.k == DKIM_KEY_ED25519 && key.bits != 256))
		abort();
	strcpy(key.domain, "example.com");
	strcpy(key.selector, "s");
	s = dkim_sign_new();
	dkim_sign_header(s, "From", 4, "a@example.com", 13);
	dkim_sign_body(s, "hi\r\n", 4);
	sbuf_init(&out);
	if (dkim_sign_make(s, &key, 1700000000, 0, "\r\n\t", &out, err, sizeof(err)) < 0)
		abort();
	sbuf_free(&out);
	dkim_sign_free(s);
	dkim_signkey_clear(&key);
	return 0;
}
