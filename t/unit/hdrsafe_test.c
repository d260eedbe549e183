/* hdrsafe_test - hostile text cannot end a header or a policy reply line. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mail/hdrsafe.h"
#include "tap.h"

static const char *value(struct sbuf *sb, const char *s)
{
	sbuf_reset(sb);
	hdrsafe_value(sb, s);
	return sbuf_cstr(sb);
}

static const char *line(struct sbuf *sb, const char *s)
{
	sbuf_reset(sb);
	hdrsafe_line(sb, s);
	return sbuf_cstr(sb);
}

static const char *opt(struct sbuf *sb, const char *s, size_t len)
{
	sbuf_reset(sb);
	hdrsafe_option(sb, s, len);
	return sbuf_cstr(sb);
}

/*
 * Does "name: value" read as exactly one header field (RFC 5322 2.2, 2.2.3,
 * 2.1.1)? Lines end in LF (the milter's and Postfix's convention) and no
 * CR anywhere; each continuation line starts with a blank and holds more;
 * no line over 998 bytes; no control byte but tab, no DEL. Says why not.
 */
static const char *field_bad(const char *name, const char *value)
{
	static char why[100];
	size_t col = strlen(name) + 2;

	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n') {
			if (p == value || (p[1] != ' ' && p[1] != '\t'))
				return "a line break that is not a fold";
			col = 0;
			continue;
		}
		if ((c < 32 && c != '\t') || c == 127) {
			snprintf(why, sizeof(why), "control byte 0x%02x at %zu", c,
			         (size_t)(p - value));
			return why;
		}
		if (++col > 998)
			return "a line over 998 bytes";
	}
	return NULL;
}

/* Hostile values through hdrsafe_value(): every one must stay one field. */
static void hostile_values(struct sbuf *sb)
{
	static char big[20000], all[256], word[5000];
	static const char *const cases[] = {
	    "a\r\nX-Evil: yes",
	    "a\nX-Evil: yes",
	    "a\rX-Evil: yes",
	    "a\n\tX-Evil: folded",
	    "\n\tX-Evil: first",
	    "a\r\n\r\nbody",
	    "a\n\n\tX: y",
	    "a\n \n\tX: y",
	    "a\n\t\r\nX: y",
	    "a\r\n \r\nX: y",
	    "\r",
	    "\n",
	    "\r\n",
	    "\n\t",
	    "a\n\t",
	    "a\n \t \n",
	    "\x7f\x1b[2J\x07",
	};
	const char *why;
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if ((why = field_bad("X-Moat-Policy", value(sb, cases[i]))) != NULL) {
			printf("#   case %zu: %s\n", i, why);
			bad++;
		}
	ok(bad == 0, "CR LF, lone CR, lone LF, folds onto nothing or a forged name: one field");
	ok(strstr(value(sb, "a\r\nX-Evil: yes"), "\nX-Evil") == NULL,
	   "no line of the output starts a header of its own");

	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	why = field_bad("X-Spamd-Result", value(sb, all));
	ok(why == NULL, "every byte value 1-255: one field (%s)", why ? why : "ok");

	/* Every byte again, repeated, with CR LF TAB runs: 20000 bytes. */
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 7 == 0 ? "\r\n\t"[i % 3] : (char)(1 + i % 255);
	why = field_bad("X-Spamd-Result", value(sb, big));
	ok(why == NULL, "20000 hostile bytes: one field (%s)", why ? why : "ok");

	memset(word, 'x', sizeof(word) - 1);
	why = field_bad("Subject", value(sb, word));
	ok(why == NULL, "a 4999-byte word: broken into lines of at most 998 (%s)",
	   why ? why : "ok");
	for (size_t i = 0; i < sizeof(word) - 1; i++)
		word[i] = i % 10 == 9 ? ' ' : 'w';
	why = field_bad("Subject", value(sb, word));
	ok(why == NULL, "5000 bytes of words: folded at blanks (%s)", why ? why : "ok");
	{
		/* Folding only adds line breaks before blanks: unfolded it is the input. */
		const char *v = value(sb, word);
		size_t k = 0, same = 1;

		for (const char *p = v; *p; p++)
			if (*p != '\n' && word[k++] != *p)
				same = 0;
		ok(same && k == sizeof(word) - 1, "...and unfolding gives the text back");
	}
}

#define OPT(sb, lit) opt(sb, lit, sizeof(lit) - 1)
#define R "\xef\xbf\xbd" /* U+FFFD, Rspamd's replacement */

static void options(struct sbuf *sb)
{
	is_str(OPT(sb, "multipart/alternative"), "multipart/alternative", "an option unchanged");
	is_str(OPT(sb, "no SPF record"), "no SPF record", "spaces stay, as Rspamd keeps them");
	is_str(OPT(sb, "0:+"), "0:+", "':' and '+' stay");
	is_str(OPT(sb, "a,b@example.net"), "a" R "b@example.net",
	       "a ',' inside one option cannot read as two options");
	is_str(OPT(sb, "a;b"), "a" R "b", "a ';' cannot end the symbol (Rspamd folds after it)");
	is_str(OPT(sb, "a(b)[c]"), "a" R "b" R R "c" R, "brackets and parentheses replaced");
	is_str(OPT(sb, "x]; FAKE(-99.00)[y"), "x" R R " FAKE" R "-99.00" R R "y",
	       "an option cannot forge a symbol");
	is_str(OPT(sb, "a\r\nX-Injected: yes"), "a" R R "X-Injected: yes",
	       "CR LF cannot end the header");
	is_str(OPT(sb, "a\tb\x01"
	               "c\x7f"),
	       "a" R "b" R "c" R, "TAB, other C0 and DEL replaced");
	is_str(OPT(sb, "a\0b"), "a" R "b", "a NUL inside the counted length is replaced");
	is_str(OPT(sb, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	       "printable UTF-8 (2, 3, 4 bytes) stays");
	is_str(OPT(sb, "\xc2\x85"), R, "a C1 control (NEL) replaced");
	is_str(OPT(sb, "a\x80"
	               "b"),
	       "a" R "b", "a lone continuation byte replaced");
	is_str(OPT(sb, "\xc0\xaf"), R R, "an overlong '/' is two ill-formed bytes");
	is_str(OPT(sb, "\xed\xa0\x80"), R R R, "a UTF-16 surrogate is not UTF-8");
	is_str(OPT(sb, "\xf4\x90\x80\x80"), R R R R, "above U+10FFFF replaced");
	is_str(OPT(sb, "a\xe2\x82"), "a" R, "a truncated sequence at the end: one U+FFFD");
	is_str(OPT(sb, "\xe2\x82x"), R "x", "a truncated sequence before ASCII: one U+FFFD");
	is_str(OPT(sb, "\xff\xfe"), R R, "bytes never in UTF-8 replaced");
	is_str(OPT(sb, "paypal\xe2\x80\xaemoc.evil"), "paypal" R "moc.evil",
	       "a bidi override (Cf) replaced, as u_isprint() rejects it");
	is_str(OPT(sb, "a\xe2\x80\x8b"
	               "b"),
	       "a" R "b", "a zero width space (Cf) replaced");
	is_str(OPT(sb, "\xef\xbf\xbe\xee\x80\x80"), R R, "noncharacter and private use replaced");
	is_str(OPT(sb, "\xef\xbf\xbd"), R, "U+FFFD itself stays one U+FFFD");
	is_str(opt(sb, "abc", 0), "", "zero length: nothing");
	{
		char big[3000];
		int clean = 1;

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (char)(i * 7 + 1);
		opt(sb, big, sizeof(big));
		for (size_t i = 0; i < sb->len; i++)
			if (strchr(",;[]()\r\n\t", sb->data[i]) || (unsigned char)sb->data[i] < 32)
				clean = 0;
		ok(clean, "every byte value: nothing that ends an option, a symbol or a line");
	}
}

int main(void)
{
	struct sbuf sb;

	sbuf_init(&sb);
	is_str(value(&sb, "plain value"), "plain value", "plain text unchanged");
	is_str(value(&sb, "default: False [1.00 / 11.00];\n\tA(1.00)[x]"),
	       "default: False [1.00 / 11.00];\n\tA(1.00)[x]", "a LF + TAB fold is kept");
	is_str(value(&sb, "[SPAM] hi\r\nX-Injected: yes"), "[SPAM] hi  X-Injected: yes",
	       "CR LF + a header name: joined into the value");
	is_str(value(&sb, "a\nX-Injected: yes"), "a X-Injected: yes", "a bare LF: joined");
	is_str(value(&sb, "a\rX-Injected: yes"), "a X-Injected: yes", "a bare CR: joined");
	is_str(value(&sb, "a\n \nX-Injected: yes"), "a   X-Injected: yes",
	       "a fold onto an empty line (which ends the header section) is joined");
	is_str(value(&sb, "a\n\t\r\nX: y"), "a \t  X: y", "a fold onto only blanks and CR: joined");
	is_str(value(&sb, "\n\tstarts with a fold"), " \tstarts with a fold",
	       "a value cannot start with a line break");
	is_str(value(&sb, "bell\a esc\x1b del\x7f tab\t"), "bell  esc  del  tab\t",
	       "other control bytes become spaces, TAB stays");
	is_str(value(&sb, "caf\xc3\xa9"), "caf\xc3\xa9", "UTF-8 is left alone");
	ok(strchr(value(&sb, "x\r\n\r\nbody"), '\n') == NULL,
	   "CR LF CR LF (end of headers) removed");

	is_str(line(&sb, "DEFER_IF_PERMIT 4.7.1 for example.com"),
	       "DEFER_IF_PERMIT 4.7.1 for example.com", "a reply line unchanged");
	is_str(line(&sb, "DEFER_IF_PERMIT 4.7.1 for a\r\naction=DUNNO"),
	       "DEFER_IF_PERMIT 4.7.1 for a  action=DUNNO",
	       "a reply line cannot carry a second attribute");
	is_str(line(&sb, "x\n\ty"), "x  y", "folds are not kept in a line");
	options(&sb);
	hostile_values(&sb);
	sbuf_free(&sb);
	return done_testing();
}
