/*
 * fuzz_dkim_sig - the DKIM-Signature tag-list and its checks
 * (shared/auth/dkim.c dkim_sig_parse), then the same bytes as one signed
 * message's DKIM-Signature field hashed for verification (no key lookup:
 * the resolver answers "temporary failure" at once). Promises checked: a
 * usable signature has its required parts within their bounds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "auth/dkim.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void tempfail(void *ctx, const char *name, dkim_txt_cb *cb, void *arg)
{
	if (strlen(name) > 253)
		abort();
	cb(arg, DKIM_DNS_TEMPFAIL, NULL, 0);
}

static void done(void *arg, struct dkim *dk)
{
	(*(int *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_sig sig;
	struct dkim_resolver r = {.lookup = tempfail};
	struct dkim_params p = {.now = 1700000000, .jitter = 300};
	struct dkim *dk;
	char err[128], *field;
	int ndone = 0;
	enum dkim_result res =
	    dkim_sig_parse((const char *)data, size, 1700000000, 300, &sig, err, sizeof(err));

	if (res == DKIM_PASS &&
	    (sig.d[0] == '\0' || sig.s[0] == '\0' || sig.nh < 1 || sig.nh > DKIM_HNAMES_MAX ||
	     sig.blen == 0 || sig.blen > DKIM_SIG_BYTES || sig.bhlen != 32 || sig.b_end > size ||
	     sig.b_off > sig.b_end))
		abort();

	field = malloc(size + 16);
	memcpy(field, "DKIM-Signature:", 15);
	memcpy(field + 15, data, size);
	dk = dkim_new(&p);
	dkim_header(dk, "From: a@example.com", 19);
	dkim_header(dk, field, size + 15);
	dkim_eoh(dk, &r, done, &ndone);
	dkim_body(dk, "body \r\n\r\n", 9);
	dkim_eom(dk);
	if (ndone != 1 || !dkim_done(dk) || dkim_nresults(dk) != 1 ||
	    dkim_result(dk, 0)->result == DKIM_PASS)
		abort();
	dkim_free(dk);
	free(field);
	return 0;
}
