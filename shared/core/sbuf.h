/*
 * sbuf - the one growable byte buffer.
 *
 * Length-counted, may hold NUL bytes; sbuf_cstr() keeps a terminating NUL
 * after the data so it can be handed to C string functions when the caller
 * knows there are no NULs inside.
 */
#ifndef MOAT_SBUF_H
#define MOAT_SBUF_H

#include <stddef.h>

struct sbuf {
	char *data;	/* bytes, NUL-terminated past len when cap > 0 */
	size_t len;	/* bytes in use */
	size_t cap;	/* bytes allocated */
};

/* Empty buffer, nothing allocated yet. */
void sbuf_init(struct sbuf *sb);
/* Release the storage; the buffer is empty and usable afterwards. */
void sbuf_free(struct sbuf *sb);
/* Make it empty, keep the storage. */
void sbuf_reset(struct sbuf *sb);
/* Make room for at least n more bytes. */
void sbuf_reserve(struct sbuf *sb, size_t n);
/* Append len bytes. */
void sbuf_append(struct sbuf *sb, const void *p, size_t len);
/* Append a C string. */
void sbuf_puts(struct sbuf *sb, const char *s);
/* Append one byte. */
void sbuf_putc(struct sbuf *sb, int c);
/* Append printf-formatted text. */
void sbuf_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Remove the first n bytes (n > len empties it). */
void sbuf_consume(struct sbuf *sb, size_t n);
/* The data as a NUL-terminated string ("" when empty). */
const char *sbuf_cstr(struct sbuf *sb);

#endif
