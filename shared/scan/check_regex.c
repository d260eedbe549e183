/*
 * check_regex - the regex rules of the `rules` table (moatctl rule), each
 * matched against a message's headers, text, raw bytes or URLs; compiled
 * once per rules snapshot (rules.c).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "scan/check.h"
#include "scan/content.h"
#include "scan/result.h"
#include "scan/rules.h"

/* Whether rule i matches a header of that name (the first match decides). */
static int match_header(const struct scan_rules *r, size_t i, const struct msg *m,
			const char *name)
{
	for (int k = 0; k < m->root->nheaders; k++) {
		const struct msg_header *h = &m->root->headers[k];

		if (strcasecmp(h->name, name) == 0 &&
		    scan_rules_regex_match(r, i, h->value, strlen(h->value)))
			return 1;
	}
	return 0;
}

static int match_urls(const struct scan_rules *r, size_t i, const struct content *c)
{
	for (size_t k = 0; k < c->urls.n; k++)
		if (scan_rules_regex_match(r, i, c->urls.v[k].text, strlen(c->urls.v[k].text)))
			return 1;
	return 0;
}

static void regex_run(const struct scan_ctx *ctx)
{
	const struct scan_rules *r = ctx->rules;
	const struct content *c = ctx->content;

	for (size_t i = 0; i < scan_rules_regex_count(r); i++) {
		const struct scan_regex *x = scan_rules_regex(r, i);
		int hit = 0;

		switch (x->target) {
		case SCAN_RE_SUBJECT:
			hit = match_header(r, i, ctx->msg, "Subject");
			break;
		case SCAN_RE_HEADER:
			hit = match_header(r, i, ctx->msg, x->header);
			break;
		case SCAN_RE_BODY:
			hit = scan_rules_regex_match(r, i, c->text.data ? c->text.data : "",
						     c->text.len);
			break;
		case SCAN_RE_RAW:
			hit = scan_rules_regex_match(r, i, ctx->in->raw, ctx->in->len);
			break;
		case SCAN_RE_URL:
			hit = match_urls(r, i, c);
			break;
		}
		if (hit)
			scan_add(ctx->res, r, x->symbol, NULL);
	}
}

const struct check check_regex = {.name = "regex", .module = NULL, .run = regex_run};
