/*
 * hdrsafe - header values and reply lines that cannot be broken from outside.
 */
#include "config.h"

#include "hdrsafe.h"

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

void hdrsafe_value(struct sbuf *out, const char *s)
{
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		/*
		 * A fold is "\n" + blank + text; an empty continuation line would
		 * end the header section for some parsers, so it is joined too.
		 */
		if (c == '\n' && p > s && (p[1] == ' ' || p[1] == '\t') && fold_has_text(p + 1))
			sbuf_putc(out, '\n');
		else
			sbuf_putc(out, is_ctl(c) && c != '\t' ? ' ' : c);
	}
}

void hdrsafe_line(struct sbuf *out, const char *s)
{
	for (const char *p = s; *p; p++)
		sbuf_putc(out, is_ctl((unsigned char)*p) ? ' ' : *p);
}
