/*
 * req - request parsers of moat-controller; see req.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/req.h"
#include "core/cidr.h"
#include "core/mem.h"

const char *const req_action_names[REQ_NACTIONS] = {"reject", "rewrite subject", "add header",
                                                    "greylist"};

int req_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || !isdigit((unsigned char)s[0]) || strlen(s) > 18)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A header value fit to keep: bounded, no control characters; a copy or NULL. */
static char *value_copy(const char *v, size_t len, char *err, size_t errlen, const char *name)
{
	if (len > REQ_VALUE_MAX) {
		snprintf(err, errlen, "%s: longer than %d bytes", name, REQ_VALUE_MAX);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			snprintf(err, errlen, "%s: control character", name);
			return NULL;
		}
	return xstrndup(v, len);
}

/* Replace *slot with a copy of the value (the last header of a name wins, as in Rspamd). */
static int keep(char **slot, const char *name, const char *v, size_t len, char *err, size_t errlen)
{
	char *c = value_copy(v, len, err, errlen, name);

	if (c == NULL)
		return -1;
	free(*slot);
	*slot = c;
	return 0;
}

/* An address without <> (rspamc sends From and Rcpt bare, others with brackets). */
static void strip_angle(const char **v, size_t *len)
{
	while (*len && isspace((unsigned char)**v))
		(*v)++, (*len)--;
	while (*len && isspace((unsigned char)(*v)[*len - 1]))
		(*len)--;
	if (*len >= 2 && (*v)[0] == '<' && (*v)[*len - 1] == '>')
		(*v)++, *len -= 2;
}

/* Flags: a comma-separated list; only no_log matters to moat. */
static void flags(struct req_scan *rs, const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && v[j] != ',')
			j++;
		while (i < j && isspace((unsigned char)v[i]))
			i++;
		if (j - i >= 6 && strncasecmp(v + i, "no_log", 6) == 0)
			rs->no_log = 1;
		i = j + 1;
	}
}

int req_scan_header(struct req_scan *rs, const char *name, const char *value, size_t len, char *err,
                    size_t errlen)
{
	if (strcasecmp(name, "IP") == 0) {
		struct ip_addr ip;
		char buf[IP_TEXT_MAX];

		strip_angle(&value, &len);
		if (ip_parse(value, len, &ip) < 0) {
			snprintf(err, errlen, "IP: not an IP address");
			return -1;
		}
		ip_format(&ip, buf, sizeof(buf));
		free(rs->ip);
		rs->ip = xstrdup(buf);
		return 0;
	}
	if (strcasecmp(name, "Helo") == 0)
		return keep(&rs->helo, "Helo", value, len, err, errlen);
	if (strcasecmp(name, "Hostname") == 0)
		return keep(&rs->hostname, "Hostname", value, len, err, errlen);
	if (strcasecmp(name, "User") == 0)
		return keep(&rs->user, "User", value, len, err, errlen);
	if (strcasecmp(name, "Queue-Id") == 0)
		return keep(&rs->queue_id, "Queue-Id", value, len, err, errlen);
	if (strcasecmp(name, "Deliver-To") == 0)
		return keep(&rs->deliver_to, "Deliver-To", value, len, err, errlen);
	if (strcasecmp(name, "From") == 0) {
		strip_angle(&value, &len);
		return keep(&rs->from, "From", value, len, err, errlen);
	}
	if (strcasecmp(name, "Rcpt") == 0) {
		char *c;

		if (rs->nrcpts >= REQ_RCPT_MAX) {
			snprintf(err, errlen, "Rcpt: more than %d recipients", REQ_RCPT_MAX);
			return -1;
		}
		strip_angle(&value, &len);
		if ((c = value_copy(value, len, err, errlen, "Rcpt")) == NULL)
			return -1;
		rs->rcpts = xrealloc(rs->rcpts, (size_t)(rs->nrcpts + 1) * sizeof(*rs->rcpts));
		rs->rcpts[rs->nrcpts++] = c;
		return 0;
	}
	if (strcasecmp(name, "Flags") == 0) {
		flags(rs, value, len);
		return 0;
	}
	if (strcasecmp(name, "Log") == 0) {
		rs->no_log = len == 2 && strncasecmp(value, "no", 2) == 0;
		return 0;
	}
	return 0;
}

void req_scan_free(struct req_scan *rs)
{
	free(rs->ip);
	free(rs->helo);
	free(rs->hostname);
	free(rs->from);
	free(rs->user);
	free(rs->queue_id);
	free(rs->deliver_to);
	for (int i = 0; i < rs->nrcpts; i++)
		free(rs->rcpts[i]);
	free(rs->rcpts);
	memset(rs, 0, sizeof(*rs));
}

/* JSON with duplicate keys refused; NULL with err. jansson bounds the nesting depth. */
static json_t *load(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL)
		snprintf(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
	return j;
}

/* A finite JSON number (integer or real) into *d; 0 or -1. */
static int number(const json_t *v, double *d)
{
	if (!json_is_number(v))
		return -1;
	*d = json_number_value(v);
	return isfinite(*d) && fabs(*d) < 1e9 ? 0 : -1;
}

int req_actions_parse(const char *body, size_t len, struct req_actions *out, char *err,
                      size_t errlen)
{
	json_t *j = load(body, len, err, errlen);
	int rc = -1;

	if (j == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!json_is_array(j) || json_array_size(j) != REQ_NACTIONS) {
		snprintf(err, errlen,
		         "not an array of %d thresholds (reject, rewrite subject, "
		         "add header, greylist)",
		         REQ_NACTIONS);
		goto out;
	}
	for (size_t i = 0; i < REQ_NACTIONS; i++) {
		json_t *v = json_array_get(j, i);

		if (json_is_null(v)) {
			out->off[i] = 1;
		} else if (number(v, &out->value[i]) < 0) {
			snprintf(err, errlen, "%s: not a number or null", req_action_names[i]);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* A symbol name as the symbols table allows it: [A-Z0-9_], 1 to 64. */
static int symbol_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isupper((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

int req_symbols_parse(const char *body, size_t len, struct req_symbol **v, size_t *n, char *err,
                      size_t errlen)
{
	json_t *j = load(body, len, err, errlen);
	size_t cnt;

	*v = NULL;
	*n = 0;
	if (j == NULL)
		return -1;
	if (!json_is_array(j) || (cnt = json_array_size(j)) > REQ_SYMBOLS_MAX) {
		snprintf(err, errlen, "not an array of at most %d {\"name\", \"value\"} objects",
		         REQ_SYMBOLS_MAX);
		json_decref(j);
		return -1;
	}
	*v = xcalloc(cnt ? cnt : 1, sizeof(**v));
	for (size_t i = 0; i < cnt; i++) {
		json_t *e = json_array_get(j, i);
		const char *name = json_string_value(json_object_get(e, "name"));

		if (!json_is_object(e) || name == NULL || !symbol_name(name) ||
		    number(json_object_get(e, "value"), &(*v)[i].value) < 0) {
			snprintf(err, errlen,
			         "entry %zu: needs a symbol name ([A-Z0-9_]) and a "
			         "number as value",
			         i + 1);
			free(*v);
			*v = NULL;
			json_decref(j);
			return -1;
		}
		snprintf((*v)[i].name, sizeof((*v)[i].name), "%s", name);
	}
	*n = cnt;
	json_decref(j);
	return 0;
}

/* One "SYM(w)[o,o]" of len bytes into obj; skipped if it does not parse. */
static void history_symbol(json_t *obj, const char *p, size_t len)
{
	const char *lp = memchr(p, '(', len), *rp, *ob, *e = p + len;
	char name[65], wbuf[32], *end;
	double w;
	json_t *s, *opts;

	if (lp == NULL || lp == p || (size_t)(lp - p) >= sizeof(name) ||
	    (rp = memchr(lp, ')', (size_t)(e - lp))) == NULL ||
	    (size_t)(rp - lp - 1) >= sizeof(wbuf))
		return;
	memcpy(name, p, (size_t)(lp - p));
	name[lp - p] = '\0';
	memcpy(wbuf, lp + 1, (size_t)(rp - lp - 1));
	wbuf[rp - lp - 1] = '\0';
	w = strtod(wbuf, &end);
	if (end == wbuf || *end || !isfinite(w) || !symbol_name(name))
		return;
	s = json_pack("{s:s, s:f, s:f}", "name", name, "score", w, "metric_score", w);
	opts = json_array();
	ob = rp + 1;
	if (ob < e && *ob == '[' && e[-1] == ']') {
		const char *o = ob + 1, *oe = e - 1;

		/* Each step moves o past one option and its comma. */
		while (o < oe) {
			const char *c = memchr(o, ',', (size_t)(oe - o));

			if (c == NULL)
				c = oe;
			json_t *os = json_stringn(o, (size_t)(c - o)); /* NULL if not UTF-8 */

			if (os)
				json_array_append_new(opts, os);
			o = c + 1;
		}
	}
	json_object_set_new(s, "options", opts);
	json_object_set_new(obj, name, s);
}

json_t *req_history_symbols(const char *text, size_t len)
{
	json_t *obj = json_object();
	size_t i = 0;

	/* Each step consumes one "; "-separated part. */
	while (i < len) {
		size_t j = i;

		while (j < len && text[j] != ';')
			j++;
		while (i < j && isspace((unsigned char)text[i]))
			i++;
		if (j > i)
			history_symbol(obj, text + i, j - i);
		i = j + 1;
	}
	return obj;
}
