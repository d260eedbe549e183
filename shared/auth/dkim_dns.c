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

/* A key record from dns.c's TTL cache, or from the DNS when it is not cached. */
static void on_answer(void *arg, const char *name, int type, const struct dns_answer *a)
{
	struct lookup *l = arg;

	(void)name;
	(void)type;
	if (a->status == DNS_Q_OK && a->nrr > 0)
		/* Cut short: something the key parser refuses, never a different key. */
		l->cb(l->arg, DKIM_DNS_OK, a->rr[0].truncated ? ";" : a->rr[0].str,
		      a->rr[0].truncated ? 1 : a->rr[0].len);
	else if (a->status == DNS_Q_NXDOMAIN || a->status == DNS_Q_NODATA)
		l->cb(l->arg, DKIM_DNS_NOTFOUND, "", 0);
	else
		l->cb(l->arg, DKIM_DNS_TEMPFAIL, "", 0);
	free(l);
}

static void lookup(void *ctx, const char *name, dkim_txt_cb *cb, void *arg)
{
	struct lookup *l = xcalloc(1, sizeof(*l));

	l->cb = cb;
	l->arg = arg;
	dns_query(ctx, name, DNS_T_TXT, on_answer, l);
}

void dkim_resolver_dns(struct dkim_resolver *r, struct dns *d)
{
	r->lookup = lookup;
	r->ctx = d;
}
