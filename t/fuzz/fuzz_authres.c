/*
 * fuzz_authres - reading the authserv-id of an incoming
 * Authentication-Results value (shared/scan/authres.c authres_servid),
 * which decides what the milter removes. Promises checked: an id found is
 * non-empty, NUL-terminated within its buffer and free of CR, LF and NUL;
 * authres_is_ours agrees with it; the bytes past AUTHRES_SCAN_MAX change
 * nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "scan/authres.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data;
	char id[256], id2[256];
	int rc = authres_servid(v, size, id, sizeof(id));

	if (rc == 0) {
		size_t n = strnlen(id, sizeof(id));

		if (n == 0 || n >= sizeof(id) || strpbrk(id, "\r\n") != NULL)
			abort();
		if (!authres_is_ours(v, size, id))
			abort();
	}
	if (size > AUTHRES_SCAN_MAX) {
		int rc2 = authres_servid(v, AUTHRES_SCAN_MAX, id2, sizeof(id2));

		if (rc2 != rc || (rc == 0 && strcmp(id, id2) != 0))
			abort();
	}
	return 0;
}
