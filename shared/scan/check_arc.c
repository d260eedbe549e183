/*
 * check_arc - the ARC chain (RFC 8617) of a message, as Rspamd's arc.lua
 * reports it: ARC_ALLOW, ARC_REJECT, ARC_INVALID, ARC_DNSFAIL or ARC_NA
 * (auth/arc.h), and ctx->auth's arc_* fields for DMARC and the
 * Authentication-Results header.
 *
 * Key lookups run on the scanning thread's resolver (check_rbl.h), waited
 * for here. Not run without one, nor for the site's own mail (local
 * networks, local submission, SASL sessions), as Rspamd skips its
 * authentication checks for local and authenticated mail.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/arc.h"
#include "core/evloop.h"
#include "mail/mime.h"
#include "scan/auth.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/result.h"

/* Clock skew allowed on t= and x=: Rspamd's dkim time_jitter as shipped (6 hours). */
#define ARC_JITTER (6 * 3600)

static void field(void *arg, const char *p, size_t len)
{
	arc_header(arg, p, len);
}

static void on_done(void *arg, struct arc *a)
{
	evloop_stop(arg);
}

static void add_symbol(void *arg, const char *symbol, const char *option)
{
	const struct scan_ctx *ctx = arg;

	scan_add(ctx->res, ctx->rules, symbol, option);
}

/* Whether the parsed message has an ARC header field at all: most mail has none. */
static int has_arc(const struct msg *m)
{
	return m && m->root &&
	       (msg_header_count(m->root, "ARC-Seal") > 0 ||
	        msg_header_count(m->root, "ARC-Message-Signature") > 0 ||
	        msg_header_count(m->root, "ARC-Authentication-Results") > 0);
}

static void arc_run(const struct scan_ctx *ctx)
{
	const struct scan_input *in = ctx->in;
	struct scan_dns *sd = ctx->env->dns;
	struct dkim_params p = {.now = time(NULL), .jitter = ARC_JITTER};
	struct dkim_resolver r;
	struct evloop *ev;
	struct arc *a;
	size_t body;

	if (sd == NULL || in->raw == NULL ||
	    ((in->local || in->auth_user) && !scan_dns_auth_local(sd)))
		return;
	if (!has_arc(ctx->msg)) {
		scan_add(ctx->res, ctx->rules, "ARC_NA", NULL);
		ctx->auth->arc_checked = 1;
		snprintf(ctx->auth->arc_result, sizeof(ctx->auth->arc_result), "none");
		ctx->auth->arc_instances = 0;
		return;
	}
	dkim_resolver_dns(&r, scan_dns_resolver(sd, &ev));
	a = arc_new(&p);
	body = dkim_split(in->raw, in->len, field, a);
	arc_eoh(a, &r, on_done, ev);
	arc_body(a, in->raw + body, in->len - body);
	arc_eom(a);
	/* The resolver's timeouts end the wait. */
	while (!arc_done(a))
		evloop_run(ev);
	arc_symbols(a, add_symbol, (void *)ctx);
	ctx->auth->arc_checked = 1;
	snprintf(ctx->auth->arc_result, sizeof(ctx->auth->arc_result), "%s",
	         arc_status_str(arc_result(a)->status));
	ctx->auth->arc_instances = arc_result(a)->instances;
	ctx->auth->arc_dnsfail = arc_result(a)->why == ARC_WHY_DNS;
	arc_free(a);
}

const struct check check_arc = {.name = "arc", .module = "arc", .run = arc_run};
