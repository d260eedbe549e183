/*
 * fuzz_moat_req - the MOAT API's own parsers (controller/moat_req.c): the
 * history search's query arguments (as libmicrohttpd hands them over:
 * decoded, NUL-terminated), dates, search-term trigrams, and the JSON
 * bodies of /moat/learn, /moat/greylist/{allow,delete} and
 * /moat/savecomposite. Whatever they accept must hold to their contract:
 * pages within their bounds, terms of 3 characters to 200 bytes without
 * control characters, client addresses of hex digits, dots and colons,
 * symbol and composite names of [A-Z0-9_], finite weights.
 *
 * Input: first byte picks the parser, the rest is its input; for the
 * query, "name=value" pairs separated by '&'.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "controller/moat_req.h"
#include "fuzz.h"

#define ARGS_MAX 32

struct args {
	char *name[ARGS_MAX], *value[ARGS_MAX];
	int n;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static const char *arg(void *ctx, const char *name)
{
	struct args *a = ctx;

	for (int i = 0; i < a->n; i++)
		if (strcmp(a->name[i], name) == 0)
			return a->value[i];
	return NULL;
}

/* Split s (changed in place) into name=value pairs at '&'. */
static void split(char *s, struct args *a)
{
	a->n = 0;
	/* Each step takes one pair. */
	while (*s && a->n < ARGS_MAX) {
		char *amp = strchr(s, '&'), *eq;

		if (amp)
			*amp = '\0';
		eq = strchr(s, '=');
		a->name[a->n] = s;
		a->value[a->n] = eq ? eq + 1 : s + strlen(s);
		if (eq)
			*eq = '\0';
		a->n++;
		if (amp == NULL)
			break;
		s = amp + 1;
	}
}

static int clean(const char *s, size_t min, size_t max)
{
	size_t n;

	if (s == NULL)
		return 1;
	n = strlen(s);
	if (n < min || n > max)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int name_chars(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(s);
}

static void query(char *s)
{
	struct args a;
	struct moat_hq q;
	char err[256];

	split(s, &a);
	if (moat_hq_parse(arg, &a, &q, err, sizeof(err)) < 0)
		return;
	if (q.limit < 1 || q.limit > MOAT_LIMIT_MAX || q.offset < 0 || q.offset > MOAT_OFFSET_MAX)
		abort();
	if (!clean(q.from, 3, MOAT_TERM_MAX) || !clean(q.to, 3, MOAT_TERM_MAX) ||
	    !clean(q.subject, 3, MOAT_TERM_MAX))
		abort();
	if ((q.from && moat_chars(q.from) < 3) || (q.subject && moat_chars(q.subject) < 3))
		abort();
	if (q.ip && (strlen(q.ip) > 45 || strspn(q.ip, "0123456789abcdefABCDEF.:") != strlen(q.ip)))
		abort();
	if (q.symbol && (!name_chars(q.symbol) || strlen(q.symbol) > 63 || !*q.symbol))
		abort();
	if (q.since && q.until && q.until <= q.since)
		abort();
}

static void trigrams(const char *s)
{
	char t[MOAT_TRIGRAMS_MAX][4];
	size_t n = moat_trigrams(s, t, MOAT_TRIGRAMS_MAX);

	if (n > MOAT_TRIGRAMS_MAX || n > strlen(s) || moat_chars(s) > strlen(s))
		abort();
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			if (t[i][k] == 0 || (unsigned char)t[i][k] >= 0x80 ||
			    (t[i][k] >= 'A' && t[i][k] <= 'Z') || t[i][3] != 0)
				abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 7) {
	case 0:
		query(s);
		break;
	case 1: {
		long long id;
		int cls;

		if (moat_learn_parse(s, size - 1, &id, &cls, err, sizeof(err)) == 0 &&
		    (id <= 0 || (cls != 1 && cls != 2)))
			abort();
		break;
	}
	case 2: {
		struct moat_gl_target t;

		if (moat_greylist_parse(s, size - 1, &t, err, sizeof(err)) == 0 &&
		    t.kind == MOAT_GL_CLIENT &&
		    (!*t.client || strspn(t.client, "0123456789abcdefABCDEF.:") != strlen(t.client)))
			abort();
		break;
	}
	case 3:
	case 4: {
		struct moat_composite c;

		if (moat_composite_parse(s, size - 1, data[0] % 7 == 4, &c, err, sizeof(err)) == 0) {
			if (!*c.name || !name_chars(c.name))
				abort();
			if (data[0] % 7 == 3 &&
			    (!clean(c.expression, 1, 4096) || !isfinite(c.weight) ||
			     !clean(c.description, 0, 1000)))
				abort();
			moat_composite_free(&c);
		}
		break;
	}
	case 5:
		trigrams(s);
		break;
	case 6: {
		long long t;

		if (moat_time_parse(s, data[0] & 0x80, &t) == 0 && t <= 0)
			abort();
		break;
	}
	}
	free(s);
	return 0;
}
