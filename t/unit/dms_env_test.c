/* dms_env_test - the docker-mailserver mailserver.env parser: what each
 * variable becomes (modules, a weight, moat.conf lines, notes), quotes,
 * CRLF, comments, empty values as DMS's defaults, the later line winning,
 * greylisting from RSPAMD_GREYLISTING or ENABLE_POSTGREY, unknown
 * variables listed; and the errors, with their line: no '=', a bad name,
 * a bad switch, size or score, a NUL, an overlong line, too many errors. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moatctl/dms_env.h"
#include "tap.h"

static struct dms_import imp;

static int parse_s(const char *text)
{
	dms_import_free(&imp);
	return dms_env_parse("env", text, strlen(text), &imp);
}

/* The change for target (and option, "" for any), or NULL. */
static const struct dms_change *find(const char *target, const char *option)
{
	for (size_t i = 0; i < imp.n; i++)
		if (strcmp(imp.v[i].target, target) == 0 &&
		    (*option == '\0' || strcmp(imp.v[i].option, option) == 0))
			return &imp.v[i];
	return NULL;
}

static void test_mapping(void)
{
	const struct dms_change *ch;

	is_int(parse_s("# DMS\r\nENABLE_CLAMAV=1\r\nCLAMAV_MESSAGE_SIZE_LIMIT='100K'\n"
	               "RSPAMD_HFILTER = 0\nRSPAMD_HFILTER_HOSTNAME_UNKNOWN_SCORE=\"15\"\n"
	               "RSPAMD_CHECK_AUTHENTICATED=1\nSPAM_SUBJECT=***SPAM*** \nFOO=bar\n"
	               "ENABLE_OPENDKIM=1\n"),
	       0, "a DMS env file parses (CRLF, quotes, blanks around =)");
	ch = find("clamav", "");
	ok(ch && ch->kind == DMS_MODULE && strcmp(ch->value, "1") == 0 && ch->line == 2,
	   "ENABLE_CLAMAV=1: module clamav on, line 2");
	ch = find("CLAMAV_MESSAGE_SIZE_LIMIT", "");
	ok(ch && ch->kind == DMS_CONF && strcmp(ch->note, "clamav_max_size = 100k") == 0,
	   "CLAMAV_MESSAGE_SIZE_LIMIT='100K': clamav_max_size = 100k");
	ch = find("hfilter", "");
	ok(ch && ch->kind == DMS_MODULE && strcmp(ch->value, "0") == 0 && ch->scope != NULL,
	   "RSPAMD_HFILTER=0: module hfilter off, optional");
	ch = find("HFILTER_HOSTNAME_UNKNOWN", "");
	ok(ch && ch->kind == DMS_WEIGHT && strcmp(ch->value, "15") == 0,
	   "the hfilter score: a weight");
	ch = find("RSPAMD_CHECK_AUTHENTICATED", "scan_local");
	ok(ch && ch->kind == DMS_CONF && strcmp(ch->note, "scan_local = yes") == 0,
	   "RSPAMD_CHECK_AUTHENTICATED=1: scan_local = yes");
	ch = find("RSPAMD_CHECK_AUTHENTICATED", "auth_check_local");
	ok(ch && strcmp(ch->note, "auth_check_local = yes") == 0, "...and auth_check_local = yes");
	ch = find("SPAM_SUBJECT", "");
	ok(ch && ch->kind == DMS_UNMAPPED && strstr(ch->note, "Sieve") != NULL,
	   "SPAM_SUBJECT: a note, Sieve keeps it");
	ch = find("FOO", "");
	ok(ch && ch->kind == DMS_UNMAPPED && strstr(ch->note, "does not read") != NULL,
	   "an unknown variable is listed");
	ch = find("ENABLE_OPENDKIM", "");
	ok(ch && strstr(ch->note, "set ENABLE_OPENDKIM=0") && !strstr(ch->note, "done"),
	   "ENABLE_OPENDKIM=1: set it to 0");
	for (size_t i = 1; i < imp.n; i++)
		if (imp.v[i].line < imp.v[i - 1].line)
			ok(0, "changes in file order");

	is_int(parse_s("ENABLE_CLAMAV=1\nENABLE_CLAMAV=0\nCLAMAV_MESSAGE_SIZE_LIMIT=\n"), 0,
	       "the same variable twice");
	ch = find("clamav", "");
	ok(ch && strcmp(ch->value, "0") == 0 && ch->line == 2, "...the later line wins");
	ch = find("CLAMAV_MESSAGE_SIZE_LIMIT", "");
	ok(ch && strcmp(ch->note, "clamav_max_size = 25m") == 0, "an empty value is DMS's default");

	is_int(parse_s("RSPAMD_GREYLISTING=0\nENABLE_POSTGREY=0\n"), 0, "no greylisting");
	ch = find("greylist", "");
	ok(ch && strcmp(ch->value, "0") == 0, "...module greylist off");
	is_int(parse_s("RSPAMD_GREYLISTING=1\n"), 0, "Rspamd's greylisting");
	ch = find("RSPAMD_GREYLISTING", "greylist_mode");
	ok(ch && strcmp(ch->note, "greylist_mode = suspicious") == 0,
	   "...greylist_mode = suspicious");
	is_int(parse_s("ENABLE_POSTGREY=1\nRSPAMD_GREYLISTING=1\n"), 0, "postgrey");
	ch = find("greylist", "");
	ok(ch && strcmp(ch->value, "1") == 0, "...module greylist on");
	ch = find("ENABLE_POSTGREY", "greylist_mode");
	ok(ch && strcmp(ch->note, "greylist_mode = all") == 0, "...greylist_mode = all");
}

static void bad(const char *text, size_t len, const char *want, const char *what)
{
	dms_import_free(&imp);
	is_int(dms_env_parse("env", text, len, &imp), -1, "%s: an error", what);
	like_str(sbuf_cstr(&imp.errors), want, "%s: says so", what);
}

/* A string literal with its length (it may hold a NUL). */
#define LIT(s) s, sizeof(s) - 1

static void test_errors(void)
{
	char *big, *many;

	bad(LIT("A=1\nno equals\n"), "env, line 2: no '='", "no '='");
	bad(LIT("1A=1\n"), "env, line 1: bad variable name", "name starting with a digit");
	bad(LIT("A-B=1\n"), "env, line 1: bad variable name", "name with a dash");
	bad(LIT("ENABLE_CLAMAV=yes\n"), "env, line 1: ENABLE_CLAMAV: 0 or 1, not \"yes\"",
	    "a switch");
	bad(LIT("X=1\nCLAMAV_MESSAGE_SIZE_LIMIT=5T\n"), "line 2: CLAMAV_MESSAGE_SIZE_LIMIT: a size",
	    "a size with a bad unit");
	bad(LIT("CLAMAV_MESSAGE_SIZE_LIMIT=99999999999999\n"), "a size from 1K to 4G",
	    "a size too big");
	bad(LIT("CLAMAV_MESSAGE_SIZE_LIMIT=5G\n"), "a size from 1K to 4G", "5G: over 4G");
	bad(LIT("RSPAMD_HFILTER_HOSTNAME_UNKNOWN_SCORE=nan\n"), "a number, not \"nan\"",
	    "score nan");
	bad(LIT("A=1\nB=x\0y\n"), "env, line 2: NUL byte", "a NUL byte");
	bad(LIT("A=\033[1m\n"), "env, line 1: control byte 0x1b", "an escape byte");
	big = malloc(DMS_LINE_MAX + 16);
	memset(big, 'A', DMS_LINE_MAX + 10);
	big[DMS_LINE_MAX + 10] = '\n';
	bad(big, DMS_LINE_MAX + 11, "env, line 1: line longer than", "an overlong line");
	free(big);
	many = malloc(100 * 6 + 1);
	for (int i = 0; i < 100; i++)
		memcpy(many + 6 * i, "junk!\n", 6);
	bad(many, 600, "too many errors; stopped reading", "a file of nonsense");
	ok(imp.nerrors <= DMS_ERRORS_MAX + 1, "...stops at DMS_ERRORS_MAX");
	free(many);
}

int main(void)
{
	test_mapping();
	test_errors();
	dms_import_free(&imp);
	return done_testing();
}
