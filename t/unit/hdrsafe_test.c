/* hdrsafe_test - hostile text cannot end a header or a policy reply line. */
#include "config.h"

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
	sbuf_free(&sb);
	return done_testing();
}
