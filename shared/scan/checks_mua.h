/*
 * checks_mua - header checks of Rspamd's regexp/headers.lua (which took
 * them from SpamAssassin) that moat lacked: forged Outlook MUAs, a
 * missing X-MimeOLE, undisclosed or sorted recipient lists, a missing
 * charset, a Content-Type ending in ';'. Same names, meanings and
 * default weights as Rspamd's (rows in sql/008-accuracy.sql).
 */
#ifndef MOAT_CHECKS_MUA_H
#define MOAT_CHECKS_MUA_H

#include "mail/mime.h"
#include "scan/scan.h"

/* Run the checks on a parsed message, adding their symbols to res. */
void checks_mua_run(const struct scan_rules *r, const struct msg *m, struct scan_result *res);

#endif
