/*
 * polhdr - sign and verify X-Moat-Policy; see polhdr.h.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/polhdr.h"
#include "core/siphash.h"

int polhdr_key_load(sqlite3 *db, unsigned char key[16], char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT value FROM settings WHERE name = 'policy_header_key'",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read policy_header_key: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
	    siphash_key_parse((const char *)sqlite3_column_text(st, 0), key) == 0)
		rc = 0;
	else
		snprintf(err, errlen, "settings.policy_header_key missing or not 32 hex digits");
	sqlite3_finalize(st);
	return rc;
}

static uint64_t mac(const unsigned char key[16], const char *ip, long ts, const char *sym,
		    size_t symlen)
{
	struct sbuf sb;
	uint64_t h;

	sbuf_init(&sb);
	sbuf_printf(&sb, "%s|%ld|", ip, ts);
	sbuf_append(&sb, sym, symlen);
	h = siphash24(key, sb.data, sb.len);
	sbuf_free(&sb);
	return h;
}

void polhdr_sign(const unsigned char key[16], const char *client_ip, long ts, const char *symbols,
		 struct sbuf *out)
{
	sbuf_printf(out, "%s; ts=%ld; sig=%016" PRIx64, symbols, ts,
		    mac(key, client_ip, ts, symbols, strlen(symbols)));
}

int polhdr_verify(const unsigned char key[16], const char *client_ip, long now, long max_age,
		  const char *value, char *symbols, size_t symlen, char *why, size_t whylen)
{
	const char *ts_at = strstr(value, "; ts="), *sig_at;
	char *end;
	long ts;
	uint64_t sig;

	if (ts_at == NULL || (sig_at = strstr(ts_at, "; sig=")) == NULL) {
		snprintf(why, whylen, "not signed");
		return -1;
	}
	ts = strtol(ts_at + 5, &end, 10);
	if (end != sig_at) {
		snprintf(why, whylen, "bad timestamp");
		return -1;
	}
	sig = strtoull(sig_at + 6, &end, 16);
	if (*end != '\0' || end - (sig_at + 6) != 16) {
		snprintf(why, whylen, "bad signature field");
		return -1;
	}
	if (sig != mac(key, client_ip, ts, value, (size_t)(ts_at - value))) {
		snprintf(why, whylen, "signature does not verify (forged, or for another client)");
		return -1;
	}
	if (now - ts > max_age || ts - now > 300) {
		snprintf(why, whylen, "too old");
		return -1;
	}
	if ((size_t)(ts_at - value) >= symlen) {
		snprintf(why, whylen, "too long");
		return -1;
	}
	memcpy(symbols, value, (size_t)(ts_at - value));
	symbols[ts_at - value] = '\0';
	return 0;
}

long polhdr_take_greylist(char *symbols)
{
	static const char item[] = "greylist=";
	char *at = strstr(symbols, "; greylist="), *end;
	long secs;

	/* Options cannot hold ';' (policyd writes them header-safe): the item is ours. */
	if (at)
		at += 2;
	else if (strncmp(symbols, item, sizeof(item) - 1) == 0)
		at = symbols;
	else
		return -1;
	errno = 0;
	secs = strtol(at + sizeof(item) - 1, &end, 10);
	if (*end != '\0' || end == at + sizeof(item) - 1 || secs < 0 || errno)
		return -1;
	if (at > symbols)
		at -= 2;
	*at = '\0';
	return secs;
}

int polhdr_take_item(char *symbols, const char *name, char *value, size_t valuelen)
{
	size_t nlen = strlen(name), vlen;
	char *at = symbols, *v, *end;
	int rc = 1;

	/* Each step moves past one "; ": the loop ends at the end of symbols. */
	while (strncmp(at, name, nlen) != 0 || at[nlen] != '=') {
		if ((at = strstr(at, "; ")) == NULL)
			return 0;
		at += 2;
	}
	v = at + nlen + 1;
	end = strstr(v, "; ");
	vlen = end ? (size_t)(end - v) : strlen(v);
	if (vlen < valuelen) {
		memcpy(value, v, vlen);
		value[vlen] = '\0';
	} else {
		rc = -1;
	}
	if (end)
		/* "item; rest" becomes "rest", "a; item; rest" becomes "a; rest". */
		memmove(at, end + 2, strlen(end + 2) + 1);
	else
		/* The last item: "a; item" becomes "a"; an item alone, "". */
		*(at > symbols ? at - 2 : at) = '\0';
	return rc;
}

void polhdr_greylist_header(const char *tmpl, long long delayed, const char *host, struct sbuf *out)
{
	char date[64], num[32];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %T %Z", &tm);
	for (const char *p = tmpl; *p; p++) {
		const char *sub = NULL;

		if (p[0] == '%' && p[1]) {
			switch (p[1]) {
			case 't':
				snprintf(num, sizeof(num), "%lld", delayed);
				sub = num;
				break;
			case 'v':
				sub = PACKAGE_VERSION;
				break;
			case 'h':
				sub = host;
				break;
			case 'd':
				sub = date;
				break;
			}
		}
		if (sub) {
			sbuf_puts(out, sub);
			p++;
		} else {
			sbuf_putc(out, *p);
		}
	}
}
