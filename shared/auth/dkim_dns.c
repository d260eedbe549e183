/*
 * dkim_dns - DKIM key records through shared/dns's c-ares channel; see
 * dkim.h's struct dkim_resolver.
 *
 * A key is one TXT record split over several character-strings of at most
 * 255 bytes each (RFC 6376 section 3.6.2.2): they are joined with nothing
 * between them. When a name has several TXT records, the first is used,
 * as dkimpy does. Records longer than DKIM_TAGLIST_MAX are a permerror of
 * the key parser, never truncated here into something else.
 */
#include "config.h"

#include <ares.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim.h"
#include "dns/dns.h"
#include "core/mem.h"

enum dkim_dns dkim_dns_parse(int status, const unsigned char *abuf, int alen, char *out,
                             size_t outlen, size_t *len)
{
	struct ares_txt_ext *txt = NULL;
	size_t o = 0;
	int over = 0, rc;

	*len = 0;
	if (outlen > 0)
		out[0] = '\0';
	if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
		return DKIM_DNS_NOTFOUND;
	if (status != ARES_SUCCESS || abuf == NULL)
		return DKIM_DNS_TEMPFAIL;
	if ((rc = ares_parse_txt_reply_ext(abuf, alen, &txt)) != ARES_SUCCESS || txt == NULL) {
		if (txt)
			ares_free_data(txt);
		/* No TXT record in the answer (a CNAME to nothing, say): no key. A damaged
		 * answer says nothing about the key: try again later. */
		return rc == ARES_SUCCESS || rc == ARES_ENODATA ? DKIM_DNS_NOTFOUND
		                                                : DKIM_DNS_TEMPFAIL;
	}
	for (struct ares_txt_ext *t = txt; t && (t == txt || !t->record_start); t = t->next) {
		if (o + t->length >= outlen) {
			over = 1;
			break;
		}
		memcpy(out + o, t->txt, t->length);
		o += t->length;
	}
	ares_free_data(txt);
	if (over) {
		/* Too long to be a key moat accepts: hand on something the parser refuses. */
		o = 0;
		if (outlen > 1)
			out[o++] = ';';
	}
	if (outlen > 0)
		out[o] = '\0';
	*len = o;
	return DKIM_DNS_OK;
}

struct lookup {
	dkim_txt_cb *cb;
	void *arg;
};

static void on_answer(void *arg, int status, const unsigned char *abuf, int alen)
{
	struct lookup *l = arg;
	char *text = xmalloc(DKIM_TAGLIST_MAX + 1);
	size_t len;
	enum dkim_dns st = dkim_dns_parse(status, abuf, alen, text, DKIM_TAGLIST_MAX + 1, &len);

	l->cb(l->arg, st, text, len);
	free(text);
	free(l);
}

static void lookup(void *ctx, const char *name, dkim_txt_cb *cb, void *arg)
{
	struct lookup *l = xcalloc(1, sizeof(*l));

	l->cb = cb;
	l->arg = arg;
	dns_query_raw(ctx, name, 16 /* T_TXT */, on_answer, l);
}

void dkim_resolver_dns(struct dkim_resolver *r, struct dns *d)
{
	r->lookup = lookup;
	r->ctx = d;
}
