/*
 * printable_test - the sanitiser behind every log line and moatctl's
 * terminal output: controls and ill-formed UTF-8 out, valid UTF-8 kept.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/printable.h"
#include "tap.h"

/* printable() on a copy of the n bytes at in, compared with want. */
static int pr(const char *in, size_t n, const char *want)
{
	char buf[512];
	size_t m;

	memcpy(buf, in, n);
	m = printable(buf, n);
	if (m == strlen(want) && memcmp(buf, want, m) == 0 && printable_ok(buf, m) &&
	    printable_ok(in, n) == (m == n && memcmp(in, want, n) == 0))
		return 1;
	printf("#   got \"%.*s\" (%zu bytes), expected \"%s\"\n", (int)m, buf, m, want);
	return 0;
}

#define PR(lit, want) pr(lit, sizeof(lit) - 1, want)

static void every_byte(void)
{
	char buf[256];
	int clean = 1;
	size_t m;

	for (int i = 0; i < 256; i++)
		buf[i] = (char)i;
	m = printable(buf, sizeof(buf));
	is_int(m, 256, "every byte 0-255: one byte out for each byte in");
	for (size_t i = 0; i < m; i++) {
		int keep = (i >= 0x20 && i < 0x7f) || i == '\t';

		if (buf[i] != (keep ? (char)i : '?'))
			clean = 0;
	}
	ok(clean, "every byte 0-255: ASCII kept, tab kept, every other byte a '?'");
}

int main(void)
{
	every_byte();
	ok(PR("plain text, key=value", "plain text, key=value"), "printable ASCII unchanged");
	ok(PR("a\tb", "a\tb"), "tab kept");
	ok(PR("a\r\nb\n", "a??b?"), "CR and LF become '?': no new line from outside");
	ok(PR("\x1b[2J\x1b[31mred", "?[2J?[31mred"), "ESC of a terminal escape becomes '?'");
	ok(PR("a\0b", "a?b"), "NUL becomes '?' and the rest stays");
	ok(PR("del\x7f", "del?"), "DEL becomes '?'");
	ok(PR("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9f \xe4\xb8\xad",
	      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9f \xe4\xb8\xad"),
	   "valid UTF-8 of 2, 3 and 4 bytes stays readable");
	ok(PR("\xc2\xa0\xc2\xbf", "\xc2\xa0\xc2\xbf"), "U+00A0 and U+00BF kept");
	ok(PR("x\xc2\x9b"
	      "2Jy",
	      "x??2Jy"),
	   "C1 control U+009B (CSI) replaced");
	ok(PR("\xc2\x80\xc2\x9f", "????"), "U+0080 and U+009F replaced");
	ok(PR("\xc0\xaf", "??"), "overlong '/' (C0 AF) replaced");
	ok(PR("\xc1\xbf", "??"), "overlong C1 BF replaced");
	ok(PR("\xe0\x80\xaf", "???"), "3-byte overlong replaced");
	ok(PR("\xf0\x80\x80\xaf", "????"), "4-byte overlong replaced");
	ok(PR("\xe0\xa0\x80", "\xe0\xa0\x80"), "U+0800, the smallest 3-byte, kept");
	ok(PR("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"), "U+10000, the smallest 4-byte, kept");
	ok(PR("\xed\xa0\x80", "???"), "surrogate U+D800 replaced");
	ok(PR("\xed\xbf\xbf", "???"), "surrogate U+DFFF replaced");
	ok(PR("\xed\x9f\xbf", "\xed\x9f\xbf"), "U+D7FF, just below the surrogates, kept");
	ok(PR("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"), "U+10FFFF kept");
	ok(PR("\xf4\x90\x80\x80", "????"), "U+110000 (above U+10FFFF) replaced");
	ok(PR("\xf5\x80\x80\x80", "????"), "F5 lead byte replaced");
	ok(PR("\xff\xfe", "??"), "FF and FE replaced");
	ok(PR("\x80\xbf", "??"), "lone continuation bytes replaced");
	ok(PR("ab\xc3", "ab?"), "2-byte sequence cut at the end replaced");
	ok(PR("ab\xe2\x82", "ab??"), "3-byte sequence cut at the end replaced");
	ok(PR("ab\xf0\x9f\x90", "ab???"), "4-byte sequence cut at the end replaced");
	ok(PR("\xe2\x82z", "??z"), "truncated sequence before ASCII: the ASCII kept");
	ok(PR("\xc3\xc3\xa9", "?\xc3\xa9"), "a lead byte then a valid sequence: the sequence kept");
	ok(PR("", ""), "empty input");
	return done_testing();
}
