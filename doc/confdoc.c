/*
 * confdoc - the settings table of conf.c as documentation, at build time.
 *
 *   confdoc --man      the SETTINGS section of moat.conf(5), in man(7) roff
 *   confdoc --sample   the commented sample moat.conf that "make install" puts
 *                      in place, every setting with its default (as Postfix's
 *                      sample files do)
 *
 * Both come from the one table, so a setting added there is documented
 * without anyone remembering to.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/conf.h"

/* Text for roff: escape backslashes, and keep a leading '.' or '\'' from being a request. */
static void roff_text(FILE *fp, const char *s, size_t len)
{
	int bol = 1;

	for (size_t i = 0; i < len; i++) {
		if (bol && (s[i] == '.' || s[i] == '\''))
			fputs("\\&", fp);
		bol = 0;
		if (s[i] == '\\')
			fputs("\\e", fp);
		else if (s[i] == '-')
			fputs("\\-", fp);
		else
			fputc(s[i], fp);
	}
}

static void roff_str(FILE *fp, const char *s)
{
	roff_text(fp, s, strlen(s));
}

/* The help text, its "\n    " continuations joined into one paragraph. */
static void roff_help(FILE *fp, const char *help)
{
	for (const char *p = help; *p;) {
		size_t n = strcspn(p, "\n");

		roff_text(fp, p, n);
		fputc('\n', fp);
		p += n;
		while (*p == '\n' || *p == ' ')
			p++;
	}
}

/* Who reads a setting, for its type line. */
static const char *readers(unsigned r)
{
	if (r == CONF_CONTROLLER)
		return "moat-controller";
	r &= ~CONF_CONTROLLER;	/* it reads the shared areas as well */
	if (r == (CONF_POLICYD | CONF_MILTER))
		return "both daemons";
	if (r == CONF_POLICYD)
		return "moat-policyd";
	if (r == CONF_MILTER)
		return "moat-contentfilter";
	return "moatctl";
}

static void print_man(void)
{
	struct conf_doc d;

	printf(".SH SETTINGS\n"
	       "Each setting with its type and default.\n"
	       "Settings marked \\(lqapplied on SIGHUP\\(rq take effect when a running daemon\n"
	       "gets SIGHUP (\\fBsystemctl reload\\fP); a change to any other one is logged\n"
	       "and waits for a restart.\n"
	       "Each says which daemon reads it: send SIGHUP to each one that does\n"
	       "(a setting read by both daemons needs both reloaded).\n");
	for (size_t i = 0; conf_doc_get(i, &d) == 0; i++) {
		if (d.section) {
			printf(".SS \"");
			roff_str(stdout, d.section);
			printf("\"\n");
		}
		printf(".TP\n.BR %s \" = ", d.name);
		roff_str(stdout, *d.def ? d.def : "(empty)");
		printf("\"\n");
		roff_help(stdout, d.help);
		printf(".br\n(%s", d.type);
		if (d.choices) {
			printf(": ");
			roff_str(stdout, d.choices);
		} else if (d.is_number) {
			printf(", %lld to %lld%s", d.min, d.max,
			       strcmp(d.type, "time") == 0   ? " seconds"
			       : strcmp(d.type, "size") == 0 ? " bytes"
							     : "");
		}
		printf("; read by %s; %s)\n", readers(d.readers),
		       d.live ? "applied on SIGHUP" : "needs a restart");
	}
}

static void print_sample(void)
{
	struct conf_doc d;

	printf("# moat.conf - settings of moat-policyd, moat-contentfilter and moatctl.\n"
	       "#\n"
	       "# The syntax is Postfix's main.cf: \"name = value\", lines that start with\n"
	       "# white space continue the previous one, $name expands another setting.\n"
	       "# A comment is a line that starts with '#': a '#' after a value is part of\n"
	       "# the value, so put comments on lines of their own. Times take s m h d w,\n"
	       "# sizes k m g.\n"
	       "#\n"
	       "# Every setting is shown commented out with its default: remove the '#'\n"
	       "# and change the value to use another. \"moatctl config -n\" prints what\n"
	       "# you changed, moat.conf(5) explains each setting. Rules, weights and\n"
	       "# thresholds are not here but in the database (moatctl, sqlite3).\n"
	       "#\n"
	       "# After a change: systemctl reload moat-policyd moat-contentfilter\n"
	       "# (SIGHUP); settings marked \"needs a restart\" want systemctl restart.\n");
	for (size_t i = 0; conf_doc_get(i, &d) == 0; i++) {
		if (d.section)
			printf("\n# ==== %s ====\n", d.section);
		printf("\n# %s: ", d.name);
		for (const char *p = d.help; *p; p++) {
			if (*p == '\n') {
				printf("\n#  ");
				p += strspn(p + 1, " ");
				continue;
			}
			putchar(*p);
		}
		printf("\n#   (%s%s%s; read by %s; %s)\n#%s = %s\n", d.type, d.choices ? ": " : "",
		       d.choices ? d.choices : "", readers(d.readers),
		       d.live ? "applied on SIGHUP" : "needs a restart", d.name, d.def);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--man") == 0)
		print_man();
	else if (argc == 2 && strcmp(argv[1], "--sample") == 0)
		print_sample();
	else {
		fprintf(stderr, "usage: confdoc --man | --sample\n");
		return 2;
	}
	return ferror(stdout) ? 1 : 0;
}
