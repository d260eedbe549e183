/*
 * text - ASCII character classes and UTF-8 cutting, for parsers of mail
 * and markup. Locale-free on purpose: <ctype.h> answers by the process's
 * locale and is undefined for negative chars, while RFC 5322, RFC 2045 and
 * the HTML and URL standards define these classes over ASCII bytes.
 */
#ifndef MOAT_TEXT_H
#define MOAT_TEXT_H

#include <stddef.h>

/* A-Z or a-z. */
static inline int text_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 0-9. */
static inline int text_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A-Z, a-z or 0-9. */
static inline int text_is_alnum(int c)
{
	return text_is_alpha(c) || text_is_digit(c);
}

/* c in lower case if it is an ASCII capital, else c. */
static inline int text_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* The value of a hex digit, either case (RFC 2045 says upper; mailers differ), or -1. */
static inline int text_hexval(int c)
{
	if (text_is_digit(c))
		return c - '0';
	c = text_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * How many of p's len bytes to keep so that at most max remain and a
 * UTF-8 character is not cut in two: len when it fits, else max less the
 * (at most three) continuation bytes of the character it would cut.
 */
static inline size_t text_utf8_cut(const char *p, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	for (int k = 0; k < 3 && len > 0 && ((unsigned char)p[len] & 0xc0) == 0x80; k++)
		len--;
	return len;
}

#endif
