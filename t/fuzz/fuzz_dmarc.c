/*
 * fuzz_dmarc - the DMARC record parser and the evaluation around it
 * (shared/auth/dmarc.c): the records come from whoever runs the sender's DNS.
 *
 * Input: the first byte picks what the rest is: a record for
 * dmarc_record_parse(); a domain for dmarc_walk_names(); or a record served
 * at every _dmarc name (two of them when the second byte is odd) while a
 * message from a domain made of the input's first labels is evaluated
 * both ways. Every output must keep its promises: values in range, at most
 * DMARC_WALK_MAX names each a suffix of the domain, one callback, a known
 * symbol.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "auth/dmarc.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void record(const char *s, size_t len)
{
	struct dmarc_record r;
	char err[128];
	int n = dmarc_record_parse(s, len, &r, err, sizeof(err));

	if (n < -1 || n > 1 || (n == -1 && err[0] == '\0'))
		abort();
	if (n == 1 &&
	    (r.p == DMARC_P_UNSET || r.pct < 0 || r.pct > 100 || !strchr("ynu", r.psd) ||
	     r.psd == '\0' || strlen(r.rua) >= DMARC_URIS_MAX || strlen(r.ruf) >= DMARC_URIS_MAX))
		abort();
}

static void names(const char *s)
{
	char n[DMARC_WALK_MAX][DMARC_NAME_MAX];
	int k;

	if (strlen(s) >= DMARC_NAME_MAX)
		return;
	k = dmarc_walk_names(s, n);
	if (k < 0 || k > DMARC_WALK_MAX || (s[0] && k == 0))
		abort();
	for (int i = 0; i < k; i++) {
		size_t a = strlen(s), b = strlen(n[i]);

		if (b > a || strcmp(s + a - b, n[i]) != 0)
			abort();
	}
}

static const char *served;
static size_t served_len;
static int served_twice;

static void serve(void *ctx, const char *name, int type, dns_query_cb *cb, void *arg)
{
	struct dns_answer *a = calloc(1, sizeof(*a) + served_len + 1);

	(void)ctx;
	a->type = type;
	a->status = DNS_Q_NXDOMAIN;
	if (type == DNS_T_TXT && strncmp(name, "_dmarc.", 7) == 0) {
		memcpy(a->buf, served, served_len);
		a->buflen = served_len + 1;
		a->status = DNS_Q_OK;
		a->nrr = a->nrr_all = 1 + served_twice;
		for (int i = 0; i < a->nrr; i++) {
			a->rr[i].str = a->buf;
			a->rr[i].len = served_len;
		}
	}
	cb(arg, name, type, a);
	free(a);
}

static int calls;

static void done(void *arg, const struct dmarc_outcome *o)
{
	char opts[DMARC_OPT_MAX][DMARC_OPT_LEN];
	const char *sym = NULL;
	int n = dmarc_symbol(o, &sym, opts);

	(void)arg;
	calls++;
	if (n < 1 || n > DMARC_OPT_MAX || sym == NULL || strncmp(sym, "DMARC_", 6) != 0 ||
	    o->queries > 64)
		abort();
}

static void evaluate(const char *s, size_t len, int twice)
{
	static const char *const doms[] = {"a.b.c.d.e.f.g.h.i.example.com", "example.com",
	                                   "mail.example.co.uk"};
	struct dmarc_resolver r = {serve, NULL};

	served = s;
	served_len = len;
	served_twice = twice;
	for (int tw = 0; tw < 2; tw++)
		for (size_t d = 0; d < sizeof(doms) / sizeof(doms[0]); d++) {
			struct dmarc_request rq = {.from_domain = doms[d],
			                           .treewalk = tw,
			                           .spf_checked = 1,
			                           .spf = SPF_PASS,
			                           .spf_domain = "x.example.com",
			                           .ndkim = 1,
			                           .dkim = {DKIM_PASS},
			                           .dkim_domain = {"y.example.co.uk"},
			                           .coin = 50};

			calls = 0;
			if (dmarc_check(&r, &rq, done, NULL) != NULL || calls != 1)
				abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 2)
		return 0;
	s = fuzz_cstr(data + 2, size - 2);
	switch (data[0] % 3) {
	case 0:
		record(s, size - 2);
		break;
	case 1:
		names(s);
		break;
	default:
		evaluate(s, size - 2, data[1] & 1);
		break;
	}
	free(s);
	return 0;
}
