/*
 * localmail - which mail is the site's own: sent from a client in
 * local_networks, submitted on this host (sendmail(1), through pickup and
 * non_smtpd_milters), or sent in a SASL-authenticated session. The content
 * filter never greylists such mail and, unless scan_local = yes, does not
 * scan it either: Rspamd's greylist module and milter_headers skip local and
 * authenticated mail by default in the same way (check_local, check_authed).
 *
 * How Postfix tells (MILTER_README; checked with Postfix 3.7): mail that
 * does not come through smtpd(8) gets an emulated connection from
 * localhost[127.0.0.1] with client port 0, which no TCP client can have
 * ({daemon_name} does not help: it is $myhostname for both by default);
 * a SASL login shows as the {auth_authen} macro at MAIL FROM.
 * moat-policyd asks the same question at RCPT to skip SPF for such mail
 * (the policy request's sasl_username and client_address).
 */
#ifndef MOAT_LOCALMAIL_H
#define MOAT_LOCALMAIL_H

#include <stddef.h>

#include "core/sbuf.h"

struct localnets;

/*
 * The networks of a local_networks value: addresses and CIDR networks
 * (IPv6 optionally in [brackets], "!" before one excludes it, the first
 * match decides as in Postfix), comma- or space-separated; the word
 * mynetworks stands for Postfix's mynetworks, read with postconf(1), or
 * 127.0.0.0/8 and ::1 when postconf cannot be run. NULL with err.
 */
struct localnets *localnets_new(const char *setting, char *err, size_t errlen);
/* Free (NULL is fine). */
void localnets_free(struct localnets *ln);
/* The networks in use, as text for the start-up log line. */
void localnets_format(const struct localnets *ln, struct sbuf *out);
/*
 * Why mail is local, or NULL: client is the address as text, port the
 * client port (-1 unknown), auth the {auth_authen} macro (NULL: none).
 * The reason goes into the log and the history row.
 */
const char *localmail_reason(const struct localnets *ln, const char *client, int port,
                             const char *auth, char *buf, size_t buflen);

#endif
