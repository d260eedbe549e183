/*
 * hdrsafe - the one place text from outside (message content, SMTP
 * commands, settings) is made safe to write into a header or a policy reply.
 *
 * A header value may carry a line break only as folding ("\n" then a space
 * or tab, then something printable on that line); any other CR or LF would
 * end the header and let the text start one of its own ("X-Injected: ...").
 * A policy reply is one line. NUL cannot occur in a C string; the other
 * control bytes are replaced too, as Postfix would print them as "?" anyway.
 */
#ifndef MOAT_HDRSAFE_H
#define MOAT_HDRSAFE_H

#include "sbuf.h"

/* Append s to out as a header value: folds kept, every other control byte a space. */
void hdrsafe_value(struct sbuf *out, const char *s);
/* Append s to out as one line: every control byte (CR, LF, TAB...) a space. */
void hdrsafe_line(struct sbuf *out, const char *s);

#endif
