/*
 * polhdr - the X-Moat-Policy header moat-policyd prepends at RCPT and
 * moat-contentfilter reads (and removes) at end of DATA.
 *
 *   X-Moat-Policy: SYM(w)[opt,opt]; SYM(w)[opt]; ts=1700000000; sig=0123456789abcdef
 *
 * The symbols are Rspamd's notation, each option written by
 * hdrsafe_option() (so a ',' separates two and a ']' ends the list). sig is SipHash-2-4, under the key in
 * the settings table, of "client-ip|ts|symbols": a header a sender wrote,
 * or one copied from another client's mail, does not verify and is
 * ignored.
 *
 * A Postfix policy reply carries one action, so one PREPEND: when greylisting
 * let the triplet through after a wait and there are symbols too, the wait
 * rides along as a last, signed item "greylist=SECONDS" and the content
 * filter writes the X-Greylist header when it removes this one.
 *
 * moat-policyd's SPF verdict rides the same way, as an item "spf=..." before
 * the wait (auth/spf_item.h writes and reads it): the content filter then
 * turns it into the R_SPF_* symbols instead of checking SPF again.
 */
#ifndef MOAT_POLHDR_H
#define MOAT_POLHDR_H

#include <sqlite3.h>
#include <stddef.h>

#include "core/sbuf.h"

#define POLHDR_NAME "X-Moat-Policy"

/* Read the shared key from the database; 0 or -1 with err. */
int polhdr_key_load(sqlite3 *db, unsigned char key[16], char *err, size_t errlen);
/* Append the signed header value for symbols seen from client_ip at ts. */
void polhdr_sign(const unsigned char key[16], const char *client_ip, long ts, const char *symbols,
		 struct sbuf *out);
/*
 * Check a header value for client_ip at time now (at most max_age old).
 * 0 and the symbols part copied to symbols; -1 and a reason in why.
 */
int polhdr_verify(const unsigned char key[16], const char *client_ip, long now, long max_age,
		  const char *value, char *symbols, size_t symlen, char *why, size_t whylen);

/*
 * Remove a trailing "greylist=SECONDS" item from a verified symbols part;
 * the seconds, or -1 when there is none.
 */
long polhdr_take_greylist(char *symbols);
/*
 * Remove the item "name=VALUE" (at the start, or after "; ") from a
 * verified symbols part, wherever it stands, and copy VALUE into value:
 * 1, 0 when there is none, -1 when VALUE does not fit (removed all the
 * same). Options cannot hold ';' (hdrsafe_option): "; name=" is ours.
 */
int polhdr_take_item(char *symbols, const char *name, char *value, size_t valuelen);
/*
 * The X-Greylist header line (name and value) from the greylist_header
 * template: %t seconds delayed, %v version, %h host name, %d date; both
 * daemons write it. Nothing is appended for an empty template.
 */
void polhdr_greylist_header(const char *tmpl, long long delayed, const char *host,
			    struct sbuf *out);

#endif
