/*
 * scan - one message through the registered checks; see scan.h.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "mail/html.h"
#include "mail/mime.h"
#include "scan/auth.h"
#include "scan/check.h"
#include "scan/content.h"
#include "scan/gtube.h"
#include "scan/result.h"
#include "scan/rules.h"
#include "scan/scan.h"

/*
 * GTUBE in the text parts, as Rspamd: the first part with a spam pattern
 * decides, and the symbol GTUBE (weight 0) is added; a part whose first
 * pattern is the "no action" one adds no symbol and forces nothing, but
 * later parts are still looked at. Any pattern skips the other checks. A
 * pattern whose action is off adds the symbol and forces nothing. 1 if any.
 */
static int scan_gtube(const struct scan_rules *r, const struct msg *m, struct scan_result *res)
{
	int found = 0;

	for (int i = 0; i < m->nleaves; i++) {
		const struct mime_part *p = m->leaves[i];
		const char *text = p->text, *action;
		size_t len = p->text_len;
		char *reduced = NULL;
		enum gtube_kind k;

		/*
		 * Rspamd looks at the text an HTML part shows, and its 8 KiB bound is
		 * on that: a webmail's markup around the string is often more. Only a
		 * part that has "GTUBE" at all is reduced, once more than the checks do.
		 */
		if (text && (strcmp(p->ctype, "text/html") == 0 ||
			     strcmp(p->ctype, "application/xhtml+xml") == 0)) {
			if (scan_rules_gtube(r) == GTUBE_DISABLED ||
			    memmem(text, len, "GTUBE", 5) == NULL)
				continue;
			text = reduced = html_to_text(p->text, p->text_len, &len, NULL, 0);
		}
		k = gtube_find(text, len, scan_rules_gtube(r));
		free(reduced);
		if ((action = gtube_action(k)) == NULL)
			continue;
		found = 1;
		if (k == GTUBE_FOR_NO_ACTION)
			continue;
		scan_add_weighted(res, r, "GTUBE", 0, NULL);
		if (!isinf(scan_rules_threshold(r, action)))
			res->forced = action;
		return 1;
	}
	if (found)
		res->forced = "no action";
	return found;
}

/* The Subject for the caller (the milter's log, history and rewrite), from the parser. */
static void subject(const struct msg *m, struct scan_result *res)
{
	const struct msg_header *h = msg_header(m->root, "Subject");

	if (h == NULL)
		return;
	free(res->subject);
	free(res->subject_raw);
	res->subject = xstrdup(h->value);
	res->subject_raw = xstrdup(h->raw);
}

void scan_message(const struct scan_rules *r, const struct scan_env *env,
		  const struct scan_input *in, struct scan_result *res)
{
	static const struct scan_env none;
	struct mime_limits lim;
	struct content c;
	struct scan_ctx ctx;
	struct msg *m;

	mime_limits_default(&lim);
	m = msg_parse(in->raw, in->len, &lim);
	if (m == NULL)
		return;
	subject(m, res);
	scan_header_from(m, res->from, sizeof(res->from), res->from_name, sizeof(res->from_name));
	if (scan_gtube(r, m, res)) {
		msg_free(m);
		return;
	}
	content_init(&c);
	content_extract(m, &c);
	if (res->auth == NULL)
		res->auth = xcalloc(1, sizeof(*res->auth));
	ctx = (struct scan_ctx){.rules = r, .in = in, .msg = m, .content = &c,
				.env = env ? env : &none, .res = res,
				.auth = res->auth};
	for (const struct check *const *k = scan_checks; *k; k++)
		if ((*k)->start && ((*k)->module == NULL || scan_rules_module(r, (*k)->module)))
			(*k)->start(&ctx);
	for (const struct check *const *k = scan_checks; *k; k++)
		if ((*k)->module == NULL || scan_rules_module(r, (*k)->module))
			(*k)->run(&ctx);
	content_free(&c);
	msg_free(m);
}
