/*
 * printable - text from outside made safe to show on a terminal or in a log.
 *
 * As Postfix's printable(): what a terminal would act on instead of show
 * becomes '?'. Kept: tab, printable ASCII and well-formed UTF-8 (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF). Replaced by one '?'
 * each: the other C0 bytes (CR and LF included), DEL, the C1 controls
 * U+0080-U+009F (a UTF-8 terminal takes U+009B as CSI), and every byte of
 * an ill-formed sequence. The result is never longer than the input, so
 * the work is done in place, in one pass.
 */
#ifndef MOAT_PRINTABLE_H
#define MOAT_PRINTABLE_H

#include <stddef.h>

/*
 * Length of the character printable() keeps at s (len bytes left): 1 for
 * printable ASCII or tab, 2-4 for well-formed UTF-8 but C1; 0 if replaced.
 */
size_t printable_seq(const char *s, size_t len);
/* Make the len bytes at s printable in place; returns the new length (<= len). */
size_t printable(char *s, size_t len);
/* Whether the len bytes at s are already what printable() would leave unchanged. */
int printable_ok(const char *s, size_t len);

#endif
