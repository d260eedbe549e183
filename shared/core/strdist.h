/*
 * strdist - how far apart two names are, for "did you mean ...?" hints.
 */
#ifndef MOAT_STRDIST_H
#define MOAT_STRDIST_H

#include <stddef.h>

/* Longest name compared; longer ones are never "close". */
#define STRDIST_MAX_LEN 64

/*
 * Edit distance (insert, delete, substitute one byte; ASCII case ignored)
 * between a and b, or limit + 1 when it is over limit or a name is longer
 * than STRDIST_MAX_LEN.
 */
int strdist(const char *a, const char *b, int limit);

/* Is name close to want: a small edit distance, or one contains the other. */
int strdist_close(const char *want, const char *name);

#endif
