/*
 * checks - the local checks of a message: header, envelope, date,
 * Received and MIME heuristics, each adding Rspamd-named symbols where
 * Rspamd has the same meaning (weights in the symbols table, sql/).
 */
#ifndef MOAT_CHECKS_H
#define MOAT_CHECKS_H

#include "mail/mime.h"
#include "core/sbuf.h"
#include "scan/scan.h"
#include "mail/url.h"

#define CHECKS_MAX_URLS 1000	/* URLs kept per message; the rest are counted */

/* What the checks extract once and the regex rules reuse. */
struct content {
	struct url_list urls;
	struct sbuf text;	/* decoded text of the text parts, HTML reduced to text */
};

/* Run the regex rules (table rules) over what the checks extracted. */
void scan_rules_regex(const struct scan_rules *r, const struct scan_input *in,
		      const struct msg *m, const struct content *c, struct scan_result *res);
/* Run every check on a parsed message; c (initialised, empty) gets what was extracted. */
void checks_run(const struct scan_rules *r, const struct scan_input *in, const struct msg *m,
		struct scan_result *res, struct content *c);
/* Parse an RFC 5322 date; 0 and *t (UTC seconds) or -1. */
int checks_parse_date(const char *s, long long *t);

#endif
