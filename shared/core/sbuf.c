/*
 * sbuf - growable byte buffer; see sbuf.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/sbuf.h"

void sbuf_init(struct sbuf *sb)
{
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

void sbuf_free(struct sbuf *sb)
{
	free(sb->data);
	sbuf_init(sb);
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	if (sb->data)
		sb->data[0] = '\0';
}

void sbuf_reserve(struct sbuf *sb, size_t n)
{
	size_t want = sb->len + n + 1;
	size_t cap = sb->cap ? sb->cap : 64;

	if (want < n)
		msg_fatal("sbuf: size overflow");
	if (want <= sb->cap)
		return;
	while (cap < want)
		cap = cap * 2 > cap ? cap * 2 : want;
	sb->data = xrealloc(sb->data, cap);
	sb->cap = cap;
}

void sbuf_append(struct sbuf *sb, const void *p, size_t len)
{
	sbuf_reserve(sb, len);
	if (len)
		memcpy(sb->data + sb->len, p, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

void sbuf_puts(struct sbuf *sb, const char *s)
{
	sbuf_append(sb, s, strlen(s));
}

void sbuf_putc(struct sbuf *sb, int c)
{
	char ch = (char)c;

	sbuf_append(sb, &ch, 1);
}

void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sbuf_reserve(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void sbuf_consume(struct sbuf *sb, size_t n)
{
	if (n >= sb->len) {
		sbuf_reset(sb);
		return;
	}
	memmove(sb->data, sb->data + n, sb->len - n);
	sb->len -= n;
	sb->data[sb->len] = '\0';
}

const char *sbuf_cstr(struct sbuf *sb)
{
	return sb->data ? sb->data : "";
}
