/*
 * spf_item - an SPF outcome in X-Moat-Policy; see spf_item.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "auth/spf_item.h"
#include "mail/polhdr.h"

/* Bytes carried as they are; everything else is %XX. */
static int plain(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("-._:/+=@!*?~", ch));
}

static void put_field(struct sbuf *out, const char *s)
{
	size_t used = 0;

	sbuf_putc(out, ',');
	/* s is a NUL-terminated SPF_TEXT_MAX buffer; the output is bounded by the cap. */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t need = plain(*p) ? 1 : 3;

		if (used + need > SPF_ITEM_FIELD_MAX)
			break;
		if (need == 1)
			sbuf_putc(out, (char)*p);
		else
			sbuf_printf(out, "%%%02X", *p);
		used += need;
	}
}

void spf_item_format(const struct spf_outcome *o, struct sbuf *out)
{
	sbuf_printf(out, "spf=%s,%s%s", spf_result_str(o->result), o->helo_identity ? "h" : "",
	            o->plus_all ? "a" : "");
	put_field(out, o->domain);
	put_field(out, o->mechanism);
	put_field(out, o->explanation);
	put_field(out, o->problem);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* One encoded field of *p up to ',' or the end into out; *p moves past it. */
static int get_field(const char **p, char out[SPF_TEXT_MAX])
{
	size_t n = 0;
	const char *s = *p;

	for (; *s && *s != ','; s++) {
		int hi, lo;

		if (n + 1 >= SPF_TEXT_MAX)
			return -1;
		if (*s != '%') {
			if (!plain((unsigned char)*s))
				return -1;
			out[n++] = *s;
			continue;
		}
		if ((hi = hexval(s[1])) < 0 || (lo = hexval(s[2])) < 0 || (hi == 0 && lo == 0))
			return -1;
		out[n++] = (char)(hi * 16 + lo);
		s += 2;
	}
	out[n] = '\0';
	*p = s;
	return 0;
}

int spf_item_parse(const char *value, struct spf_outcome *o)
{
	static const enum spf_result results[] = {
	    SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR};
	char *texts[] = {o->domain, o->mechanism, o->explanation, o->problem};
	const char *p = strchr(value, ',');
	size_t rlen = p ? (size_t)(p - value) : 0;
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		const char *name = spf_result_str(results[i]);

		if (rlen == strlen(name) && strncmp(value, name, rlen) == 0)
			break;
	}
	if (p == NULL || i == sizeof(results) / sizeof(results[0]))
		return -1;
	o->result = results[i];
	p++;
	if (*p == 'h') {
		o->helo_identity = 1;
		p++;
	}
	if (*p == 'a') {
		o->plus_all = 1;
		p++;
	}
	for (i = 0; i < 4; i++) {
		if (*p != ',')
			return -1;
		p++;
		if (get_field(&p, texts[i]) < 0)
			return -1;
	}
	return *p == '\0' ? 0 : -1;
}

int spf_item_take(char *symbols, struct spf_outcome *o)
{
	char value[8 + 4 * (SPF_ITEM_FIELD_MAX + 1) + 16];
	int rc = polhdr_take_item(symbols, "spf", value, sizeof(value));

	if (rc <= 0)
		return rc;
	return spf_item_parse(value, o) == 0 ? 1 : -1;
}
