/*
 * fuzz_controller - moat-controller's own request parsers (controller/req.c):
 * the query integers, the rspamc protocol headers, the JSON bodies of
 * /saveactions and /savesymbols (checked after jansson parsed them), and
 * the symbol list of a history row, which /history turns back into JSON.
 * Whatever they accept must hold to their contract: bounded lists, values
 * without control characters, names of [A-Z0-9_], finite numbers, JSON
 * that jansson can write out again.
 *
 * Input: first byte picks the parser, the rest is its input; for the
 * headers, "Name: value" lines.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "controller/req.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void check_value(const char *v)
{
	if (v == NULL)
		return;
	if (strlen(v) > REQ_VALUE_MAX)
		abort();
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

static void headers(const char *p, size_t len)
{
	struct req_scan rs;
	char err[256];
	size_t i = 0;

	memset(&rs, 0, sizeof(rs));
	/* Each step consumes one line. */
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i), *colon;
		size_t e = nl ? (size_t)(nl - p) : len;
		char name[64];

		colon = memchr(p + i, ':', e - i);
		if (colon && (size_t)(colon - (p + i)) < sizeof(name)) {
			const char *v = colon + 1;

			memcpy(name, p + i, (size_t)(colon - (p + i)));
			name[colon - (p + i)] = '\0';
			while (v < p + e && *v == ' ')
				v++;
			req_scan_header(&rs, name, v, (size_t)(p + e - v), err, sizeof(err));
		}
		i = e + 1;
	}
	if (rs.nrcpts > REQ_RCPT_MAX)
		abort();
	check_value(rs.ip);
	check_value(rs.helo);
	check_value(rs.from);
	check_value(rs.user);
	check_value(rs.queue_id);
	for (int k = 0; k < rs.nrcpts; k++)
		check_value(rs.rcpts[k]);
	req_scan_free(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 5) {
	case 0: {
		long v;

		if (req_long(s, 0, 1000000000L, &v) == 0 && (v < 0 || v > 1000000000L))
			abort();
		break;
	}
	case 1:
		/* The bytes as MHD hands them: NUL-terminated, so up to the first NUL. */
		headers(s, strlen(s));
		break;
	case 2: {
		struct req_actions a;

		if (req_actions_parse(s, size - 1, &a, err, sizeof(err)) == 0)
			for (int i = 0; i < REQ_NACTIONS; i++)
				if (!a.off[i] && !isfinite(a.value[i]))
					abort();
		break;
	}
	case 3: {
		struct req_symbol *v;
		size_t n;

		if (req_symbols_parse(s, size - 1, &v, &n, err, sizeof(err)) == 0) {
			if (n > REQ_SYMBOLS_MAX)
				abort();
			for (size_t i = 0; i < n; i++)
				if (!isfinite(v[i].value) || v[i].name[0] == '\0' ||
				    strspn(v[i].name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
					strlen(v[i].name))
					abort();
		}
		free(v);
		break;
	}
	case 4: {
		json_t *j = req_history_symbols(s, size - 1);
		char *out = json_dumps(j, JSON_COMPACT);

		if (out == NULL)
			abort();
		free(out);
		json_decref(j);
		break;
	}
	}
	free(s);
	return 0;
}
