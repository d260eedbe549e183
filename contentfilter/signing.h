/*
 * signing - which mail moat-contentfilter DKIM-signs, and the signing at
 * end of message (shared/auth/dkim_sign.h does the signature itself).
 *
 * Signed: mail of SASL-authenticated sessions ({auth_authen}) and mail from
 * a client in dkim_sign_networks, which includes mail submitted on this
 * host (sendmail(1) through non_smtpd_milters, seen as 127.0.0.1) when
 * 127.0.0.1 is listed there, as Rspamd's sign_local. Never other mail.
 * The domain is the header From's registrable domain; a domain without a
 * usable key goes out unsigned with a log line.
 *
 * The signature is made last, after every header the filter adds or
 * changes (a rewritten Subject is signed as rewritten), and inserted at
 * the top of the header: it covers the message as it leaves the milter.
 *
 * ARC sealing (arc_seal = yes) follows it: mail that is signed is sealed
 * with its From domain's key, and with arc_seal_inbound = yes all other
 * mail with its first recipient's domain's key (Rspamd's arc module). The
 * ARC-Authentication-Results are what the scan found (struct scan_auth).
 */
#ifndef MOAT_SIGNING_H
#define MOAT_SIGNING_H

#include <libmilter/mfapi.h>
#include <stddef.h>

struct cf_conn;
struct conf;
struct scan_auth;

#define SIGNING_DKIM 1 /* signing_wanted(): DKIM-sign the message */
#define SIGNING_ARC 2  /* ARC-seal it */

/* Settings, key directory and dkim_keys table, at start-up and on SIGHUP. 0, or -1 with err. */
int signing_configure(const struct conf *c, char *err, size_t errlen);
/* Free what it holds (at exit). */
void signing_free(void);
/* At MAIL FROM: SIGNING_* of this message, into c->sign (then c->dkim collects it). */
int signing_wanted(const struct cf_conn *c);
/* End of message, the message accepted: sign and seal it (auth NULL: not scanned, no seal). */
void signing_eom(SMFICTX *ctx, struct cf_conn *c, const char *qid, const struct scan_auth *auth);

#endif
