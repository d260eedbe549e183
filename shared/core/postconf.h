/*
 * postconf - read one of Postfix's own settings (postconf -hx NAME), so that
 * moat can follow main.cf where it has no value of its own: myhostname for
 * the headers it writes, mynetworks for what counts as local mail.
 *
 * Runs the postconf(1) command; call it at start-up or reload, before the
 * privilege drop, never per message.
 */
#ifndef MOAT_POSTCONF_H
#define MOAT_POSTCONF_H

#include <stddef.h>

/*
 * Put Postfix's value of NAME (with $name expansions done by postconf) into
 * out, without the trailing newline. Returns 0, or -1 when postconf is
 * missing, fails, times out or prints nothing; out is "" then. The command is
 * found as $MOAT_POSTCONF when set (the tests point it at a private instance
 * with "postconf -c DIR"), else postconf in /usr/sbin or the PATH.
 */
int postconf_get(const char *name, char *out, size_t outlen);

/*
 * This host's name for the headers moat writes: own (moat's myhostname
 * setting) when not empty, else Postfix's myhostname, else the system's
 * host name, else "localhost". Returns where it came from, for the log:
 * "moat.conf", "postconf" or "gethostname".
 */
const char *postconf_myhostname(const char *own, char *out, size_t outlen);

#endif
