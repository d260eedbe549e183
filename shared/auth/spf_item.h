/*
 * spf_item - an SPF outcome as one item of X-Moat-Policy (mail/polhdr.h),
 * so that moat-policyd's verdict at RCPT reaches moat-contentfilter, signed
 * with the rest, and SPF is checked once per message:
 *
 *   spf=RESULT,FLAGS,DOMAIN,MECHANISM,EXPLANATION,PROBLEM
 *
 * RESULT as RFC 7208 section 2.6 names it; FLAGS "h" for the HELO identity
 * and "a" for a pass by "+all", in that order; the four texts of struct
 * spf_outcome percent-encoded: every byte but letters, digits and
 * "-._:/+=@!*?~" is %XX, so the item holds no blank, ',', ';', '%' of its
 * own, control or 8-bit byte, whatever the sender's DNS said. Each text is
 * at most SPF_ITEM_FIELD_MAX bytes encoded (cut before an escape): the item
 * is at most about 1,050 bytes.
 */
#ifndef MOAT_SPF_ITEM_H
#define MOAT_SPF_ITEM_H

#include <stddef.h>

#include "auth/spf.h"
#include "core/sbuf.h"

#define SPF_ITEM_FIELD_MAX 255

/* Append "spf=..." for o. */
void spf_item_format(const struct spf_outcome *o, struct sbuf *out);
/* Read the value of an item (after "spf=") into o: 0, or -1 if it is not one. */
int spf_item_parse(const char *value, struct spf_outcome *o);
/*
 * Remove the spf item from a verified symbols part (polhdr_verify) into o:
 * 1, 0 when there is none, -1 when it does not parse (removed all the same).
 */
int spf_item_take(char *symbols, struct spf_outcome *o);

#endif
