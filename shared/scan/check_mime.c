/*
 * check_mime - the MIME structure (Rspamd's mime_types: MIME_GOOD and
 * MIME_TRACE), HTML-only mail, attachments, what the parser had to repair,
 * and heuristics over the URLs of the text parts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "mail/mime.h"
#include "mail/url.h"
#include "scan/check.h"
#include "scan/content.h"
#include "scan/result.h"

/*
 * How Rspamd's mime_types map (maps.d/mime_types.inc, 3.4) rates a content
 * type: 1 good (MIME_GOOD, trace '+'), -1 bad (trace '-'), 0 neutral or
 * not in the map (trace '~'). Only these 15 of its ~1500 types are not 0.
 */
static int mime_type_rating(const char *ctype)
{
	static const char *good[] = {
		"application/pkcs7-mime", "application/pkcs7-signature", "multipart/alternative",
		"multipart/encrypted", "multipart/mixed", "multipart/related", "multipart/signed",
		"text/plain",
	};
	static const char *bad[] = {
		"multipart/appledouble", "multipart/byteranges", "multipart/example",
		"multipart/form-data", "multipart/header-set", "multipart/voice-message",
		"multipart/x-mixed-replace",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (strcmp(ctype, good[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcmp(ctype, bad[i]) == 0)
			return -1;
	return 0;
}

/*
 * MIME_GOOD and MIME_TRACE as Rspamd's mime_types module adds them: every
 * part, multiparts included, numbered in Rspamd's order (a part before its
 * children, depth first: rspamd_mime_parse_multipart_part); MIME_TRACE
 * gets "N:+", "N:-" or "N:~" for each, MIME_GOOD each good content type
 * once. The walk is iterative (an explicit stack of at most the parser's
 * part count), so hostile nesting costs no C stack.
 */
static void mime_trace(const struct scan_rules *r, const struct msg *m, struct scan_result *res,
		       int good_ok)
{
	const struct mime_part **stack = xcalloc((size_t)m->nparts + 1, sizeof(*stack));
	int top = 0, id = 0;

	stack[top++] = m->root;
	while (top > 0 && id <= m->nparts) {
		const struct mime_part *p = stack[--top];
		int rating = mime_type_rating(p->ctype);
		char opt[32];

		snprintf(opt, sizeof(opt), "%d:%c", id++, rating > 0 ? '+' : rating < 0 ? '-' : '~');
		scan_add(res, r, "MIME_TRACE", opt);
		if (rating > 0 && good_ok)
			scan_add(res, r, "MIME_GOOD", p->ctype);
		/* Children pushed last first, so the first is numbered next. */
		for (int k = p->nchildren - 1; k >= 0 && top <= m->nparts; k--)
			stack[top++] = p->children[k];
	}
	free(stack);
}

/* MIME_GOOD / MIME_TRACE / HTML-only / attachments, and the parser's findings. */
static void check_mime_parts(const struct scan_rules *r, const struct msg *m, struct scan_result *res)
{
	int html = 0, plain = 0, attach = 0, alt = 0;

	for (int i = 0; i < m->nleaves && i < CONTENT_MAX_LEAVES; i++) {
		const struct mime_part *p = m->leaves[i];

		if (p->is_attachment) {
			attach++;
			continue;
		}
		if (strcmp(p->ctype, "text/html") == 0)
			html++;
		else if (strcmp(p->ctype, "text/plain") == 0)
			plain++;
		if (p->parent && strcmp(p->parent->ctype, "multipart/alternative") == 0)
			alt = 1;
	}
	/* No credit for a MIME structure the parser had to repair. */
	mime_trace(r, m, res,
		   !(m->flags & (MSG_MISSING_BOUNDARY | MSG_BAD_BASE64 | MSG_BAD_QP | MSG_TOO_DEEP)));
	if (html && !plain)
		scan_add(res, r, "MIME_HTML_ONLY", NULL);
	if (alt && html && !plain)
		scan_add(res, r, "MIME_MA_MISSING_TEXT", NULL);
	if (attach)
		scan_add(res, r, "HAS_ATTACHMENT", NULL);
	if (m->flags & MSG_MISSING_BOUNDARY)
		scan_add(res, r, "BROKEN_CONTENT_TYPE", NULL);
	if (m->flags & (MSG_BAD_BASE64 | MSG_BAD_QP))
		scan_add(res, r, "MOAT_BAD_ENCODING", m->flags & MSG_BAD_BASE64 ? "base64" : "qp");
	if (m->flags & (MSG_TOO_DEEP | MSG_TOO_MANY_PARTS | MSG_TOO_MANY_HEADERS |
			MSG_HEADER_TOO_LONG))
		scan_add(res, r, "MOAT_MIME_LIMITS", NULL);
	if (m->flags & MSG_TRUNCATED)
		scan_add(res, r, "MOAT_TOO_BIG", NULL);
}


/* Text parts sent in base64, which mail software uses for text only when it must. */
static void check_base64_text(const struct scan_rules *r, const struct msg *m,
			      struct scan_result *res)
{
	for (int i = 0; i < m->nleaves && i < CONTENT_MAX_LEAVES; i++) {
		const struct mime_part *p = m->leaves[i];

		if (p->text == NULL || p->is_attachment)
			continue;
		if (p->cte && strcmp(p->cte, "base64") == 0 && strncmp(p->ctype, "text/", 5) == 0)
			scan_add(res, r, "MIME_BASE64_TEXT", NULL);
	}
}

/* Same registrable domain (or the same host when there is none)? */
static int same_site(const struct url *a, const struct url *b)
{
	const char *x = a->registrable ? a->registrable : a->host;
	const char *y = b->registrable ? b->registrable : b->host;

	return x && y && strcasecmp(x, y) == 0;
}

/*
 * The URLs found in the text parts (content.h): ones on an IP address,
 * with userinfo or an obfuscated address, and links whose visible text is
 * another site's URL.
 */
static void check_urls(const struct scan_rules *r, const struct content *c,
		       struct scan_result *res)
{
	for (size_t i = 0; i < c->urls.n; i++) {
		const struct url *u = &c->urls.v[i];

		if (u->host_is_ip)
			scan_add(res, r, "MOAT_URL_IP", u->host);
		if (u->has_userinfo || (u->host_is_ip && strspn(u->host, "0123456789.") !=
								strlen(u->host) &&
					u->host[0] != '['))
			scan_add(res, r, "R_SUSPICIOUS_URL", u->host);
		/* A link whose visible text is another site's URL. */
		if (u->display && u->from_html && strstr(u->display, "://")) {
			struct url_list shown;

			url_list_init(&shown);
			url_extract_text(u->display, strlen(u->display), &shown, 1);
			if (shown.n && !same_site(&shown.v[0], u))
				scan_add(res, r, "PHISHING", shown.v[0].host);
			url_list_free(&shown);
		}
	}
}

static void mime_run(const struct scan_ctx *ctx)
{
	check_mime_parts(ctx->rules, ctx->msg, ctx->res);
	check_base64_text(ctx->rules, ctx->msg, ctx->res);
	check_urls(ctx->rules, ctx->content, ctx->res);
}

const struct check check_mime = {.name = "mime", .module = NULL, .run = mime_run};
