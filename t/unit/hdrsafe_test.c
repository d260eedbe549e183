/* hdrsafe_test - hostile text cannot end a header or a policy reply line. */
#include "config.h"

#include <string.h>

#include "hdrsafe.h"
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
	sbuf_free(&sb);
	return done_testing();
}
