/*
 * moat_req - the MOAT API's arguments and bodies; see moat_req.h.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "controller/moat_req.h"
#include "controller/req.h"
#include "core/mem.h"

static const char *const hq_actions[] = {"reject",   "soft reject", "rewrite subject", "add header",
                                         "greylist", "no action",   "skipped"};

/* Printable text without control characters (UTF-8 bytes pass), 1..max bytes. */
static int term_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

/* Bytes of the UTF-8 character at p (1 for a byte that starts none). */
static size_t char_len(const unsigned char *p)
{
	size_t n = *p < 0x80             ? 1
	           : (*p & 0xe0) == 0xc0 ? 2
	           : (*p & 0xf0) == 0xe0 ? 3
	           : (*p & 0xf8) == 0xf0 ? 4
	                                 : 1;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

size_t moat_chars(const char *s)
{
	size_t n = 0;

	/* Each step moves past one character. */
	for (const unsigned char *p = (const unsigned char *)s; *p; p += char_len(p))
		n++;
	return n;
}

size_t moat_trigrams(const char *term, char (*out)[4], size_t max)
{
	const unsigned char *p = (const unsigned char *)term;
	size_t n = 0;

	/* Each step moves one character on; a trigram starts at each. */
	for (; *p && n < max; p += char_len(p)) {
		if (p[0] >= 0x80 || p[1] == 0 || p[1] >= 0x80 || p[2] == 0 || p[2] >= 0x80)
			continue;
		for (int k = 0; k < 3; k++)
			out[n][k] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
		out[n][3] = '\0';
		n++;
	}
	return n;
}

int moat_id_parse(const char *s, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || strlen(s) > 21 || strspn(s, "-0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int moat_time_parse(const char *s, int end, long long *out)
{
	struct tm tm;
	int y, m, d;
	char tail;
	time_t t;

	if (s == NULL || *s == '\0' || strlen(s) > 12)
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		long v;

		if (req_long(s, 1, 253402300799L, &v) < 0) /* up to 9999-12-31 */
			return -1;
		*out = v;
		return 0;
	}
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' ||
	    s[7] != '-' || y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d + (end ? 1 : 0);
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1 || t <= 0)
		return -1;
	/* mktime normalises 2026-02-31 to March: refuse a day the month has not. */
	if (!end && (tm.tm_mday != d || tm.tm_mon != m - 1))
		return -1;
	*out = (long long)t;
	return 0;
}

int moat_page_parse(moat_arg_fn arg, void *ctx, long *offset, long *limit, char *err, size_t errlen)
{
	const char *v;

	*offset = 0;
	*limit = MOAT_LIMIT_DEFAULT;
	if ((v = arg(ctx, "offset")) != NULL && req_long(v, 0, MOAT_OFFSET_MAX, offset) < 0) {
		snprintf(err, errlen, "offset must be a number of rows from 0 to %ld",
		         MOAT_OFFSET_MAX);
		return -1;
	}
	if ((v = arg(ctx, "limit")) != NULL && req_long(v, 1, MOAT_LIMIT_MAX, limit) < 0) {
		snprintf(err, errlen, "limit must be a number of rows from 1 to %d",
		         MOAT_LIMIT_MAX);
		return -1;
	}
	return 0;
}

/* An address or a prefix of one: hex digits, dots and colons; a prefix ends in '.' or ':'. */
static int ip_arg(const char *s, int *prefix)
{
	size_t n = strlen(s);

	if (n == 0 || n > 45 || strspn(s, "0123456789abcdefABCDEF.:") != n)
		return -1;
	*prefix = s[n - 1] == '.' || s[n - 1] == ':';
	return 0;
}

int moat_hq_parse(moat_arg_fn arg, void *ctx, struct moat_hq *q, char *err, size_t errlen)
{
	static const char *const terms[] = {"from", "to", "subject"};
	const char *v;

	memset(q, 0, sizeof(*q));
	for (size_t i = 0; i < 3; i++) {
		if ((v = arg(ctx, terms[i])) == NULL || *v == '\0')
			continue;
		if (!term_ok(v, MOAT_TERM_MAX) || moat_chars(v) < 3) {
			snprintf(err, errlen,
			         "%s: 3 characters to %d bytes, no control characters (the search "
			         "index holds runs of three)",
			         terms[i], MOAT_TERM_MAX);
			return -1;
		}
		*(i == 0 ? &q->from : i == 1 ? &q->to : &q->subject) = v;
	}
	if ((v = arg(ctx, "ip")) != NULL && *v) {
		if (ip_arg(v, &q->ip_prefix) < 0) {
			snprintf(err, errlen,
			         "ip: an address, or the start of one ending in . or : (192.0.2.)");
			return -1;
		}
		q->ip = v;
	}
	if ((v = arg(ctx, "action")) != NULL && *v) {
		for (size_t i = 0; i < sizeof(hq_actions) / sizeof(hq_actions[0]); i++)
			if (strcmp(v, hq_actions[i]) == 0)
				q->action = hq_actions[i];
		if (q->action == NULL) {
			snprintf(err, errlen,
			         "action: one of reject, soft reject, rewrite subject, add header, "
			         "greylist, no action, skipped");
			return -1;
		}
	}
	if ((v = arg(ctx, "symbol")) != NULL && *v) {
		if (!name_ok(v)) {
			snprintf(err, errlen, "symbol: a symbol name (A-Z, 0-9, _)");
			return -1;
		}
		q->symbol = v;
	}
	if ((v = arg(ctx, "since")) != NULL && *v && moat_time_parse(v, 0, &q->since) < 0) {
		snprintf(err, errlen, "since: Unix seconds or YYYY-MM-DD");
		return -1;
	}
	if ((v = arg(ctx, "until")) != NULL && *v && moat_time_parse(v, 1, &q->until) < 0) {
		snprintf(err, errlen, "until: Unix seconds or YYYY-MM-DD");
		return -1;
	}
	if (q->since && q->until && q->until <= q->since) {
		snprintf(err, errlen, "until must be after since");
		return -1;
	}
	return moat_page_parse(arg, ctx, &q->offset, &q->limit, err, errlen);
}

/* A JSON object body, loaded; NULL with err. */
static json_t *object(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL) {
		snprintf(err, errlen, "body is not JSON: %s (line %d)", je.text, je.line);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "body must be a JSON object");
		return NULL;
	}
	return j;
}

/* Whether every key of o is one of keys; err names the first that is not. */
static int keys_known(json_t *o, const char *const *keys, size_t n, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		size_t i = 0;

		while (i < n && strcmp(k, keys[i]) != 0)
			i++;
		if (i == n) {
			snprintf(err, errlen, "unknown key \"%.64s\"", k);
			return 0;
		}
	}
	return 1;
}

/* A 64-bit id as a JSON integer or decimal string. */
static int json_id(json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return 0;
	}
	return json_is_string(v) ? moat_id_parse(json_string_value(v), out) : -1;
}

int moat_learn_parse(const char *body, size_t len, long long *id, int *cls, char *err,
                     size_t errlen)
{
	static const char *const keys[] = {"id", "class"};
	json_t *j = object(body, len, err, errlen), *c;
	int rc = -1;

	if (j == NULL)
		return -1;
	if (!keys_known(j, keys, 2, err, errlen))
		goto out;
	if (json_id(json_object_get(j, "id"), id) < 0 || *id <= 0) {
		snprintf(err, errlen, "id: the history row's id, a positive integer");
		goto out;
	}
	c = json_object_get(j, "class");
	if (!json_is_string(c) || (strcmp(json_string_value(c), "spam") != 0 &&
	                           strcmp(json_string_value(c), "ham") != 0)) {
		snprintf(err, errlen, "class: \"spam\" or \"ham\"");
		goto out;
	}
	*cls = strcmp(json_string_value(c), "spam") == 0 ? 1 : 2;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int moat_greylist_parse(const char *body, size_t len, struct moat_gl_target *t, char *err,
                        size_t errlen)
{
	static const char *const keys[] = {"triplet", "message", "client"};
	json_t *j = object(body, len, err, errlen), *v;
	int rc = -1, given = 0;

	if (j == NULL)
		return -1;
	memset(t, 0, sizeof(*t));
	if (!keys_known(j, keys, 3, err, errlen))
		goto out;
	for (int k = 0; k < 3; k++)
		given += json_object_get(j, keys[k]) != NULL;
	if (given != 1) {
		snprintf(err, errlen, "give one of \"triplet\", \"message\" or \"client\"");
		goto out;
	}
	if ((v = json_object_get(j, "client")) != NULL) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		size_t n = strlen(s);

		/* What greylist_clients and greylist hold: an address or a network's start. */
		if (n == 0 || n >= sizeof(t->client) ||
		    strspn(s, "0123456789abcdefABCDEF.:") != n) {
			snprintf(err, errlen, "client: an IP address");
			goto out;
		}
		t->kind = MOAT_GL_CLIENT;
		memcpy(t->client, s, n + 1);
	} else {
		t->kind = json_object_get(j, "triplet") ? MOAT_GL_TRIPLET : MOAT_GL_MESSAGE;
		v = json_object_get(j, t->kind == MOAT_GL_TRIPLET ? "triplet" : "message");
		if (json_id(v, &t->id) < 0) {
			snprintf(err, errlen, "%s: an id as /moat/greylist lists it",
			         t->kind == MOAT_GL_TRIPLET ? "triplet" : "message");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

void moat_composite_free(struct moat_composite *c)
{
	free(c->expression);
	free(c->description);
	c->expression = c->description = NULL;
}

int moat_composite_parse(const char *body, size_t len, int name_only, struct moat_composite *c,
                         char *err, size_t errlen)
{
	static const char *const keys[] = {"name",   "expression",  "weight",
	                                   "policy", "description", "enabled"};
	json_t *j = object(body, len, err, errlen), *v;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (j == NULL)
		return -1;
	if (!keys_known(j, keys, name_only ? 1 : 6, err, errlen))
		goto out;
	v = json_object_get(j, "name");
	if (!json_is_string(v) || !name_ok(json_string_value(v))) {
		snprintf(err, errlen, "name: 1 to 63 of A-Z, 0-9 and _");
		goto out;
	}
	snprintf(c->name, sizeof(c->name), "%s", json_string_value(v));
	if (name_only) {
		rc = 0;
		goto out;
	}
	v = json_object_get(j, "expression");
	if (!json_is_string(v) || !term_ok(json_string_value(v), 4096)) {
		snprintf(err, errlen, "expression: 1 to 4096 bytes of text");
		goto out;
	}
	c->expression = xstrdup(json_string_value(v));
	c->weight = 0;
	if ((v = json_object_get(j, "weight")) != NULL) {
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    fabs(json_number_value(v)) > 1000) {
			snprintf(err, errlen, "weight: a number from -1000 to 1000");
			goto out;
		}
		c->weight = json_number_value(v);
	}
	snprintf(c->policy, sizeof(c->policy), "remove_all");
	if ((v = json_object_get(j, "policy")) != NULL) {
		if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(c->policy)) {
			snprintf(err, errlen,
			         "policy: remove_all, remove_symbol, remove_weight or leave");
			goto out;
		}
		snprintf(c->policy, sizeof(c->policy), "%s", json_string_value(v));
	}
	c->description = xstrdup("");
	if ((v = json_object_get(j, "description")) != NULL) {
		if (!json_is_string(v) || strlen(json_string_value(v)) > 1000 ||
		    (*json_string_value(v) && !term_ok(json_string_value(v), 1000))) {
			snprintf(err, errlen,
			         "description: text of at most 1000 bytes, no control characters");
			goto out;
		}
		free(c->description);
		c->description = xstrdup(json_string_value(v));
	}
	c->enabled = 1;
	if ((v = json_object_get(j, "enabled")) != NULL) {
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "enabled: true or false");
			goto out;
		}
		c->enabled = json_is_true(v);
	}
	rc = 0;
out:
	if (rc < 0)
		moat_composite_free(c);
	json_decref(j);
	return rc;
}
