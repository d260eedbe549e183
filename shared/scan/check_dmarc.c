/*
 * check_dmarc - DMARC (RFC 7489, RFC 9989) for one message, after SPF and
 * DKIM (check_auth) have filled ctx->auth: the From domain's policy
 * (auth/dmarc.c) as Rspamd's DMARC_* symbols, and ctx->auth's dmarc_*
 * fields for the Authentication-Results header.
 *
 * As Rspamd's dmarc.lua: local and authenticated mail is not checked; nor
 * is a message whose SPF or DKIM was not checked (nothing to judge it by);
 * no From, two From headers or a From with two addresses give DMARC_NA.
 * With dmarc_enforce = yes a p=reject failure makes the action at least
 * reject (Rspamd's "least" pre-result); otherwise the weights decide. A
 * lookup that timed out counts toward soft_reject_on_timeout.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc.h"
#include "core/evloop.h"
#include "dns/dns.h"
#include "mail/mime.h"
#include "scan/auth.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/result.h"

/*
 * The domain of a From value holding exactly one address, lower case, into
 * out; else the reason it has none, as Rspamd words it. Items are split on
 * commas outside quotes, comments and angle brackets; the address is in the
 * last <...> of its item, or is the item. Bounded: one pass, then one item.
 */
static const char *from_domain(const char *v, char *out, size_t outlen)
{
	const char *start = v, *item = v, *lt, *gt, *at = NULL;
	int quote = 0, angle = 0, paren = 0, nitems = 0;
	size_t ilen = 0, n;

	for (const char *p = v;; p++) {
		if (*p == '\0' || (*p == ',' && !quote && !angle && !paren)) {
			if (strspn(start, " \t") < (size_t)(p - start)) {
				nitems++;
				item = start;
				ilen = (size_t)(p - start);
			}
			if (*p == '\0')
				break;
			start = p + 1;
		} else if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '"' && !paren) {
			quote = !quote;
		} else if (!quote && *p == '(') {
			paren++;
		} else if (!quote && *p == ')' && paren) {
			paren--;
		} else if (!quote && !paren) {
			angle = *p == '<' ? 1 : *p == '>' ? 0 : angle;
		}
	}
	if (nitems > 1)
		return "Duplicate From header";
	for (lt = NULL, gt = item; gt < item + ilen; gt++)
		lt = *gt == '<' ? gt : lt;
	if (lt && (gt = memchr(lt, '>', ilen - (size_t)(lt - item))) != NULL) {
		item = lt + 1;
		ilen = (size_t)(gt - item);
	}
	for (const char *p = item; p < item + ilen; p++)
		at = *p == '@' ? p : at;
	if (at == NULL)
		return "No domain in From header";
	n = strcspn(at + 1, " \t(>;,");
	if (n > (size_t)(item + ilen - at - 1))
		n = (size_t)(item + ilen - at - 1);
	if (n == 0 || n >= outlen)
		return "No domain in From header";
	memcpy(out, at + 1, n);
	out[n] = '\0';
	for (char *p = out; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return NULL;
}

struct wait {
	struct evloop *ev;
	struct dmarc_outcome o;
	int done;
};

static void on_done(void *arg, const struct dmarc_outcome *o)
{
	struct wait *w = arg;

	w->o = *o;
	w->done = 1;
	evloop_stop(w->ev);
}

/* The request from what SPF and DKIM found; 0, or -1 when either was not checked. */
static int request(const struct scan_ctx *ctx, const struct scan_dmarc_conf *dc,
                   struct dmarc_request *rq)
{
	const struct scan_auth *a = ctx->auth;
	const struct spf_outcome *spf = a->spf_checked ? &a->spf : ctx->in->spf_given;

	if (spf == NULL || !a->dkim_checked)
		return -1;
	memset(rq, 0, sizeof(*rq));
	rq->from_domain = a->from_domain;
	rq->treewalk = dc->treewalk;
	rq->spf_checked = 1;
	rq->spf = spf->result;
	rq->spf_domain = spf->domain;
	rq->ndkim = a->ndkim;
	for (int i = 0; i < a->ndkim && i < DKIM_MAX_SIGS; i++) {
		rq->dkim[i] = a->dkim[i].result;
		rq->dkim_domain[i] = a->dkim[i].domain;
	}
	rq->coin = (int)(random() % 100) + 1;
	return 0;
}

static void report(const struct scan_ctx *ctx, const struct scan_dmarc_conf *dc,
                   const struct dmarc_outcome *o)
{
	struct scan_auth *a = ctx->auth;
	struct scan_result *res = ctx->res;
	char opts[DMARC_OPT_MAX][DMARC_OPT_LEN];
	const char *sym;
	int n = dmarc_symbol(o, &sym, opts);

	for (int i = 0; i < n; i++)
		scan_add(res, ctx->rules, sym, opts[i]);
	a->dmarc_checked = 1;
	snprintf(a->dmarc_result, sizeof(a->dmarc_result), "%s", dmarc_result_str(o->result));
	snprintf(a->dmarc_policy, sizeof(a->dmarc_policy), "%s", dmarc_policy_str(o->policy));
	snprintf(a->dmarc_domain, sizeof(a->dmarc_domain), "%s", o->domain);
	if (dc->enforce && o->result == DMARC_FAIL && o->disposition == DMARC_P_REJECT) {
		res->least = "reject";
		snprintf(res->least_reason, sizeof(res->least_reason),
		         "Rejected by the DMARC policy of %s", o->domain);
	}
	if (o->result == DMARC_TEMPERROR && o->timed_out && dc->soft_reject && !res->soft_reject) {
		res->soft_reject = 1;
		snprintf(res->soft_reason, sizeof(res->soft_reason),
		         "DMARC lookup for %.150s timed out", o->domain);
	}
}

static void dmarc_run(const struct scan_ctx *ctx)
{
	struct scan_auth *a = ctx->auth;
	struct scan_dns *sd = ctx->env->dns;
	const struct scan_dmarc_conf *dc;
	struct dmarc_resolver r;
	struct dmarc_request rq;
	struct dmarc_check *c;
	struct dns *d;
	struct wait w = {0};
	const char *why;

	if (a == NULL || sd == NULL || (ctx->in->local && !scan_dns_auth_local(sd)) ||
	    (d = scan_dns_resolver(sd, &w.ev)) == NULL)
		return;
	dc = scan_dns_dmarc(sd);
	if (request(ctx, dc, &rq) < 0)
		return;
	if (a->from_domain[0] == '\0') {
		const struct msg_header *h = msg_header(ctx->msg->root, "From");

		why = h == NULL ? "No From header"
		      : msg_header_count(ctx->msg->root, "From") > 1
		          ? "Duplicate From header"
		          : from_domain(h->raw, a->from_domain, sizeof(a->from_domain));
		if (why) {
			a->from_domain[0] = '\0';
			w.o.result = DMARC_NONE;
			snprintf(w.o.reason, sizeof(w.o.reason), "%s", why);
			report(ctx, dc, &w.o);
			return;
		}
	}
	dmarc_resolver_dns(&r, d);
	c = dmarc_check(&r, &rq, on_done, &w);
	/* Bounded: every lookup ends by dns_timeout x dns_retries. */
	while (c && !w.done && dns_pending(d) > 0)
		evloop_run(w.ev);
	if (!w.done) {
		dmarc_cancel(c);
		return;
	}
	report(ctx, dc, &w.o);
}

const struct check check_dmarc = {.name = "dmarc", .module = "dmarc", .run = dmarc_run};
