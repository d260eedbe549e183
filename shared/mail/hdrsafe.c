/*
 * hdrsafe - header values and reply lines that cannot be broken from outside.
 */
#include "config.h"

#include <string.h>

#include "mail/hdrsafe.h"

static int is_ctl(unsigned char c)
{
	return c < 32 || c == 127;
}

/* Does the continuation line at p (just after its "\n") hold anything visible? */
static int fold_has_text(const char *p)
{
	for (; *p && *p != '\n' && *p != '\r'; p++)
		if (*p != ' ' && *p != '\t' && !is_ctl((unsigned char)*p))
			return 1;
	return 0;
}

/*
 * Put a line break into out at offset at (before the blank there), so the
 * blank starts a continuation line: folding, as RFC 5322 2.2.3 allows.
 */
static void fold_at(struct sbuf *out, size_t at)
{
	sbuf_putc(out, '\n');
	memmove(out->data + at + 1, out->data + at, out->len - 1 - at);
	out->data[at] = '\n';
}

void hdrsafe_value(struct sbuf *out, const char *s)
{
	size_t line = out->len; /* where the current line of the value starts */
	size_t blank = 0;       /* the last blank in it after its start, 0 if none */

	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		/*
		 * A fold is "\n" + blank + text; an empty continuation line would
		 * end the header section for some parsers, so it is joined too.
		 */
		if (c == '\n' && p > s && (p[1] == ' ' || p[1] == '\t') && fold_has_text(p + 1)) {
			sbuf_putc(out, '\n');
			line = out->len, blank = 0;
			continue;
		}
		c = is_ctl(c) && c != '\t' ? ' ' : c;
		/*
		 * RFC 5322 2.1.1: no line over 998 bytes. Fold at the last blank;
		 * a run without one is broken where it stands (a word changed is
		 * better than a header the next hop truncates or rejects).
		 */
		if (out->len - line >= HDRSAFE_LINE_MAX) {
			if (blank > line) {
				fold_at(out, blank);
				line = blank + 1;
			} else {
				sbuf_append(out, "\n ", 2);
				line = out->len - 1;
			}
			blank = 0;
		}
		if ((c == ' ' || c == '\t') && out->len > line)
			blank = out->len;
		sbuf_putc(out, c);
	}
}

void hdrsafe_line(struct sbuf *out, const char *s)
{
	for (const char *p = s; *p; p++)
		sbuf_putc(out, is_ctl((unsigned char)*p) ? ' ' : *p);
}

/* Code points Rspamd's u_isprint() test rejects that UTF-8 alone does not. */
static int unprintable(unsigned long cp)
{
	static const unsigned long fmt[][2] = {
	    {0x80, 0x9f},        {0xad, 0xad},       {0x600, 0x605},     {0x61c, 0x61c},
	    {0x6dd, 0x6dd},      {0x70f, 0x70f},     {0x890, 0x891},     {0x8e2, 0x8e2},
	    {0x180e, 0x180e},    {0x200b, 0x200f},   {0x202a, 0x202e},   {0x2060, 0x2064},
	    {0x2066, 0x206f},    {0xd800, 0xdfff},   {0xe000, 0xf8ff},   {0xfdd0, 0xfdef},
	    {0xfeff, 0xfeff},    {0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
	    {0x1bca0, 0x1bca3},  {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
	    {0xf0000, 0x10ffff},
	};

	if ((cp & 0xfffe) == 0xfffe) /* U+FFFE, U+FFFF in every plane */
		return 1;
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++)
		if (cp >= fmt[i][0] && cp <= fmt[i][1])
			return 1;
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence at p (at most n bytes) with its
 * code point in *cp, or -(the length of its maximal ill-formed subpart),
 * as Unicode's "U+FFFD substitution of maximal subparts" counts it.
 */
static int utf8_next(const unsigned char *p, size_t n, unsigned long *cp)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	int need, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return -1;
	*cp = c & (0x3f >> need);
	for (i = 1; i <= need; i++) {
		if ((size_t)i >= n || p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return -i;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	return need + 1;
}

void hdrsafe_option(struct sbuf *out, const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	/* Each step consumes at least one byte: the loop ends after len steps at most. */
	while (i < len) {
		unsigned long cp;
		int n = utf8_next(s + i, len - i, &cp);

		if (n < 0 || is_ctl(s[i]) || (n == 1 && strchr(",;[]()", s[i]) && s[i]) ||
		    (n > 1 && unprintable(cp))) {
			sbuf_append(out, "\xef\xbf\xbd", 3);
			i += (size_t)(n < 0 ? -n : n);
			continue;
		}
		sbuf_append(out, (const char *)s + i, (size_t)n);
		i += (size_t)n;
	}
}
