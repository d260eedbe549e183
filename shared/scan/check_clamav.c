/*
 * check_clamav - the message through clamd (scan/clamav.h), with the
 * symbols Rspamd's antivirus module gives (lua_scanners/clamav.lua and
 * common.lua) and docker-mailserver's action and text: a virus forces a
 * reject, 554 5.7.1 ClamAV FOUND VIRUS "NAME".
 *
 *   CLAM_VIRUS[name]            a signature matched: reject
 *   CLAM_VIRUS_ENCRYPTED[name]  Heuristics.Encrypted.* (clamd AlertEncrypted): reject
 *   CLAM_VIRUS_MACRO[name]      Heuristics.OLE2.ContainsMacros (AlertOLE2Macros): reject
 *   CLAM_VIRUS_FAIL[why]        no server answered, or Heuristics.Limits.Exceeded
 *   CLAM_TOO_BIG[size]          over clamav_max_size (or scan_size_limit): not sent
 *
 * Unlike Rspamd, which passes mail it could not scan (CLAM_VIRUS_FAIL has
 * weight 0), a failure tempfails the message unless clamav_fail_action =
 * accept: mail passes unscanned only when the admin said so. The start
 * hook sends the message before the other checks run; run, the last
 * check, collects the answer.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "scan/check.h"
#include "scan/clamav.h"
#include "scan/result.h"

/* The whole message's size, and whether the scanner holds all of it. */
static int fits(const struct scan_ctx *ctx, const struct clamav *cl, size_t *size)
{
	const struct scan_input *in = ctx->in;

	*size = in->size > in->len ? in->size : in->len;
	return *size <= clamav_max_size(cl) && *size == in->len;
}

static void clamav_begin(const struct scan_ctx *ctx)
{
	struct clamav *cl = ctx->env->clamav;
	size_t size;

	if (cl && fits(ctx, cl, &size))
		clamav_start(cl, ctx->in->raw, ctx->in->len);
}

/* A virus, as DMS's antivirus.conf answers it: message '${SCANNER} FOUND VIRUS "${VIRUS}"'. */
static void force_reject(struct scan_result *res, const char *what, const char *name)
{
	res->forced = "reject";
	snprintf(res->reply, sizeof(res->reply), "ClamAV FOUND VIRUS \"%s%s\"", what, name);
}

static void clamav_run(const struct scan_ctx *ctx)
{
	const char *qid = ctx->in->queue_id ? ctx->in->queue_id : "NOQUEUE";
	struct clamav *cl = ctx->env->clamav;
	struct scan_result *res = ctx->res;
	struct clamav_verdict v;
	char opt[32];
	size_t size;

	if (cl == NULL)
		return;
	if (!fits(ctx, cl, &size)) {
		snprintf(opt, sizeof(opt), "%zu", size);
		scan_add(res, ctx->rules, "CLAM_TOO_BIG", opt);
		return;
	}
	/* Not begun (a scanner that skipped the start hooks): scan now, never pass unscanned. */
	if (clamav_collect(cl, &v) < 0)
		clamav_scan(cl, ctx->in->raw, ctx->in->len, &v);
	if (*clamav_failover(cl))
		msg_warn("%s: clamav: %s; answered by %s", qid, clamav_failover(cl), v.server);
	switch (v.kind) {
	case CLAMAV_CLEAN:
		return;
	case CLAMAV_VIRUS:
		scan_add(res, ctx->rules, "CLAM_VIRUS", v.name);
		force_reject(res, "", v.name);
		break;
	case CLAMAV_ENCRYPTED:
		scan_add(res, ctx->rules, "CLAM_VIRUS_ENCRYPTED", v.name);
		force_reject(res, "File is encrypted: ", v.name);
		break;
	case CLAMAV_MACRO:
		scan_add(res, ctx->rules, "CLAM_VIRUS_MACRO", v.name);
		force_reject(res, "", v.name);
		break;
	case CLAMAV_FAIL:
		scan_add(res, ctx->rules, "CLAM_VIRUS_FAIL", v.err);
		msg_warn("%s: clamav: scan failed: %s; %s the message", qid, v.err,
		         clamav_fail_accepts(cl) ? "accepting" : "tempfailing");
		if (clamav_fail_accepts(cl))
			return;
		res->soft_reject = 1;
		snprintf(res->soft_reason, sizeof(res->soft_reason), "virus scanner unavailable");
		return;
	}
	msg_info("%s: clamav: %s FOUND%s", qid, v.name, v.cached ? " (cached)" : "");
}

const struct check check_clamav = {
    .name = "clamav", .module = "clamav", .run = clamav_run, .start = clamav_begin};
