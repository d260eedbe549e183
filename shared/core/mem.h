/*
 * mem - allocation that cannot return NULL.
 *
 * Like Postfix's mymalloc(): running out of memory is not something a mail
 * filter can recover from in the middle of a request, so it is logged and
 * the process exits (the supervisor restarts it; Postfix tempfails).
 */
#ifndef MOAT_MEM_H
#define MOAT_MEM_H

#include <stddef.h>

/* malloc() that exits with a fatal log line on failure. */
void *xmalloc(size_t n);
/* calloc() that exits on failure and on n * size overflow. */
void *xcalloc(size_t n, size_t size);
/* realloc() that exits on failure. */
void *xrealloc(void *p, size_t n);
/* strdup() that exits on failure. */
char *xstrdup(const char *s);
/* Copy of the first len bytes of p, NUL-terminated. */
char *xstrndup(const char *p, size_t len);

#endif
