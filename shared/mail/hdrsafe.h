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

#include "core/sbuf.h"

/*
 * Longest line of a value hdrsafe_value() writes: RFC 5322's 998 bytes less
 * room for the field name ("X-Spamd-Result: ") on the first line.
 */
#define HDRSAFE_LINE_MAX 900

/*
 * Append s to out as a header value: folds kept, every other control byte
 * a space, a line longer than HDRSAFE_LINE_MAX folded at its last blank.
 */
void hdrsafe_value(struct sbuf *out, const char *s);
/* Append s to out as one line: every control byte (CR, LF, TAB...) a space. */
void hdrsafe_line(struct sbuf *out, const char *s);

/*
 * One option of a symbol, as X-Spamd-Result, X-Moat-Policy, moatctl and
 * the history write it: "SYM(w)[opt,opt]". Appends the len bytes at p to
 * out with every byte sequence that Rspamd would not print, or that would
 * end the option or the symbol, replaced by U+FFFD (EF BF BD), the
 * character Rspamd itself puts there:
 *   - control bytes (C0, DEL, C1), invalid UTF-8 (one U+FFFD for each
 *     maximal ill-formed subsequence), surrogates, noncharacters, private
 *     use and the Unicode format characters (bidi overrides, zero width
 *     ...): what Rspamd's option copy replaces (u_isprint);
 *   - ',' ';' '[' ']' '(' ')': Rspamd writes these raw, so that a ','
 *     inside one option reads as two options and a ';' breaks the one
 *     symbol per line; here they cannot occur inside an option.
 * Everything else (printable ASCII, space, printable UTF-8) is copied.
 * The output is valid UTF-8; it never holds CR, LF, NUL or any character
 * above. Unassigned code points are kept (no Unicode tables here).
 */
void hdrsafe_option(struct sbuf *out, const char *p, size_t len);

#endif
