/*
 * printable - control bytes and ill-formed UTF-8 out; see printable.h.
 */
#include "config.h"

#include "core/printable.h"

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if the
 * byte at s starts none (RFC 3629 table 3-7 of Unicode: the second byte's
 * range depends on the first, which rules out overlongs, surrogates and
 * code points above U+10FFFF).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (need >= n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	/* C1 controls: C2 80 .. C2 9F. */
	if (c == 0xc2 && s[1] <= 0x9f)
		return 0;
	return need + 1;
}

size_t printable_seq(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	if (len == 0)
		return 0;
	if ((s[0] >= 0x20 && s[0] < 0x7f) || s[0] == '\t')
		return 1;
	return s[0] >= 0x80 ? utf8_len(s, len) : 0;
}

size_t printable(char *str, size_t len)
{
	unsigned char *s = (unsigned char *)str;
	size_t r = 0, w;

	/* Most lines are plain ASCII: read, and write only from the first byte that is not. */
	while (r < len && s[r] >= 0x20 && s[r] < 0x7f)
		r++;
	w = r;
	/* r advances by at least one each step, w never passes r. */
	while (r < len) {
		unsigned char c = s[r];
		size_t n;

		if (c >= 0x20 && c < 0x7f) {
			s[w++] = c;
			r++;
		} else if ((n = printable_seq(str + r, len - r)) > 0) {
			for (size_t i = 0; i < n; i++)
				s[w++] = s[r++];
		} else {
			s[w++] = '?';
			r++;
		}
	}
	return w;
}

int printable_ok(const char *str, size_t len)
{
	size_t r = 0, n;

	while (r < len) {
		if ((n = printable_seq(str + r, len - r)) == 0)
			return 0;
		r += n;
	}
	return 1;
}
