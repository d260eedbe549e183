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
#include "scan/auth.h"
#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/result.h"

/* Clock skew allowed on t= and x=: Rspamd's dkim time_jitter as shipped (6 hours). */
#define ARC_JITTER (6 * 3600)

/*
 * The raw message's header fields into a: each a line and its continuation lines, up to
 * the empty line; a leading mbox "From " line skipped. Returns where the body starts.
 */
static size_t feed_headers(struct arc *a, const char *p, size_t len)
{
	size_t i = 0;

	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', len);

		i = nl ? (size_t)(nl - p) + 1 : len;
	}
	/* Each turn consumes at least one line. */
	while (i < len && p[i] != '\n' && !(p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')) {
		size_t s = i, e;

		for (;;) {
			const char *nl = memchr(p + i, '\n', len - i);

			i = nl ? (size_t)(nl - p) + 1 : len;
			if (i >= len || (p[i] != ' ' && p[i] != '\t'))
				break;
		}
		e = i;
		if (e > s && p[e - 1] == '\n')
			e--;
		if (e > s && p[e - 1] == '\r')
			e--;
		arc_header(a, p + s, e - s);
	}
	if (i < len && p[i] == '\r')
		i++;
	return i < len ? i + 1 : len;
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

static void arc_run(const struct scan_ctx *ctx)
{
	const struct scan_input *in = ctx->in;
	struct scan_dns *sd = ctx->env->dns;
	struct dkim_params p = {.now = time(NULL), .jitter = ARC_JITTER};
	struct dkim_resolver r;
	struct evloop *ev;
	struct arc *a;
	size_t body;

	if (sd == NULL || in->local || in->auth_user || in->raw == NULL)
		return;
	ev = scan_dns_loop(sd);
	dkim_resolver_dns(&r, scan_dns_resolver(sd));
	a = arc_new(&p);
	body = feed_headers(a, in->raw, in->len);
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
	arc_free(a);
}

const struct check check_arc = {.name = "arc", .module = "arc", .run = arc_run};
