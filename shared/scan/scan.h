/*
 * scan - score one message: parse it, extract its content once, run every
 * registered check (checks.c) into a result, then let the caller finish it.
 * Checks add symbols, symbols have weights (SQLite `symbols`), the score
 * picks an action (`actions` thresholds), and the result is written as
 * Rspamd writes it (result.h). The milter and `moatctl scan` run the very
 * same code.
 *
 * This header is the scanner's whole interface for the programs: the
 * rules snapshot (rules.h), the result (result.h), the transaction and a
 * thread's resources (check.h) and the DNS lists' resource (check_rbl.h).
 */
#ifndef MOAT_SCAN_H
#define MOAT_SCAN_H

#include "scan/check.h"
#include "scan/check_rbl.h"
#include "scan/result.h"
#include "scan/rules.h"

/*
 * Parse the message and run every check into res (not finished); env may
 * be NULL (no Bayes, no DNS), as may its members. A GTUBE pattern in a
 * text part skips the checks and forces its action (the gtube_patterns
 * setting says which patterns count). A check whose module is off in the
 * modules table is skipped. res->subject gets the message's Subject, and
 * res->from and res->from_name its From (scan_header_from()).
 */
void scan_message(const struct scan_rules *r, const struct scan_env *env,
		  const struct scan_input *in, struct scan_result *res);
/*
 * The first address of m's From header into addr and its display name
 * (decoded) into name, as the headers check reads them; "" for none.
 */
void scan_header_from(const struct msg *m, char *addr, size_t addrlen, char *name, size_t namelen);

#endif
