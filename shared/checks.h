/*
 * checks - the local checks of a message: header, envelope, date,
 * Received and MIME heuristics, each adding Rspamd-named symbols where
 * Rspamd has the same meaning (weights in the symbols table, sql/).
 */
#ifndef MOAT_CHECKS_H
#define MOAT_CHECKS_H

#include "mime.h"
#include "scan.h"

/* Run every check on a parsed message. */
void checks_run(const struct scan_rules *r, const struct scan_input *in, const struct msg *m,
		struct scan_result *res);
/* Parse an RFC 5322 date; 0 and *t (UTC seconds) or -1. */
int checks_parse_date(const char *s, long long *t);

#endif
