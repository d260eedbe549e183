/*
 * fuzz_arc - the ARC header sets (shared/auth/arc.c): the input is a whole
 * message, its ARC fields collected, their structure judged, the newest
 * ARC-Message-Signature and the seals verified by the DKIM engine. Keys
 * come from a table: those of t/data/arc/chain2.eml (the "chain2" seed,
 * which passes), NXDOMAIN for any other name, so the cryptography runs on
 * what the fuzzer makes of that chain. Promises checked: done exactly
 * once; "none" only with no instance; a pass names its sealer and has 1
 * to ARC_MAX_SETS instances.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "auth/arc.h"
#include "fuzz.h"

static const char *const names[] = {"rsa._domainkey.hop1.arc.test", "ed._domainkey.hop2.arc.test"};
static const char *const keys[] = {
    "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs0OQVbFutqBjEVOMNN"
    "0uvriWbkQDWCsMZbNHjhZ3pZcFUtUGgPGsiHF67OPPTYfH6jdQvSTV95HwSTaGM1lCnL71Jbqy/Q5YqK"
    "HEAc0FSFvQrU/n9CsP6Frd3lBKprvLMBcBIgb0GxSiiwuwGWUCtrY8DOC1ot77PRmN4iv0TCUj+Pgqcg"
    "16o4ZT3Kb8NHpcIDqSSjvMW9anJ5EcMczirWQ+iKSdHv8/z8HUeZWG7lqa0Op4n8efbO3FCKRki7SLbV"
    "9dngL6WTzNgm8JyrwmaGH1JnqjME4XTh2NsQJ9C9SiqIN7MLNmlGz6rxGz74YLf3JFlDoL0fbw8oQr4A"
    "GCUwIDAQAB",
    "v=DKIM1; k=ed25519; p=WqwZk+opFkJ5/JcFaoNgChu88fFvraro1zoxtmLyGUM=",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void lookup(void *ctx, const char *name, dkim_txt_cb *cb, void *arg)
{
	if (strlen(name) > 253)
		abort();
	for (int k = 0; k < 2; k++)
		if (strcmp(name, names[k]) == 0)
			return cb(arg, DKIM_DNS_OK, keys[k], strlen(keys[k]));
	cb(arg, DKIM_DNS_NOTFOUND, NULL, 0);
}

static void field(void *arg, const char *p, size_t len)
{
	arc_header(arg, p, len);
}

static void done(void *arg, struct arc *a)
{
	(*(int *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct dkim_resolver r = {.lookup = lookup};
	/* After the fixture was sealed, so its t= is in the past. */
	struct dkim_params prm = {.now = 1900000000, .jitter = 300};
	struct arc *a = arc_new(&prm);
	const struct arc_result *res;
	size_t i;
	int ndone = 0;

	i = dkim_split(p, size, field, a);
	arc_eoh(a, &r, done, &ndone);
	/* The body in two pieces, split where the input says. */
	if (i < size) {
		size_t half = i + (size - i) / 2;

		arc_body(a, p + i, half - i);
		arc_body(a, p + half, size - half);
	}
	arc_eom(a);
	res = arc_result(a);
	if (ndone != 1 || !arc_done(a) || res->instances < 0 || res->instances > ARC_MAX_SETS ||
	    (res->status == ARC_NONE && res->instances != 0) ||
	    (res->status == ARC_PASS && (res->instances < 1 || res->domain[0] == '\0')))
		abort();
	arc_free(a);
	return 0;
}
